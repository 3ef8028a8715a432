import type { PageContext } from "../context";
import { emptyState, h } from "../dom";

export function notFoundPage(ctx: PageContext): void {
  ctx.setTitle("Not found");
  ctx.setCrumbs([{ label: "Not found" }]);
  ctx.main.replaceChildren(
    emptyState({
      testid: "not-found",
      heading: "h1",
      focusTitle: true,
      title: "Page not found",
      lead: "This page does not exist, or you do not have access to it.",
      actions: h("a", { href: "/apps", class: "btn btn-secondary" }, "Back to apps"),
    }),
  );
}
