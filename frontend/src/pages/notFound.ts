import type { PageContext } from "../context";
import { h } from "../dom";

export function notFoundPage(ctx: PageContext): void {
  ctx.setTitle("Not found");
  ctx.setCrumbs([{ label: "Not found" }]);
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "empty", testid: "not-found" },
      h("h1", { class: "empty-title", tabindex: "-1" }, "Page not found"),
      h(
        "p",
        { class: "muted" },
        "This page does not exist, or you do not have access to it.",
      ),
      h("a", { href: "/apps", class: "btn btn-secondary" }, "Back to apps"),
    ),
  );
}
