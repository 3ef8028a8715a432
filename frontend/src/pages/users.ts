/** /apps/<id>/users: the users the SDKs associated (`associateUser(id, attributes)`), with
 * their attributes and when they were last seen. */
import "./events.css";
import type { PageContext } from "../context";
import { button, cardSection, h, inputField, pageHead } from "../dom";
import { eventsApi, type AppUserRow } from "../eventsApi";
import { errorText, formatDate, formatRelative } from "../format";
import { dataTable } from "../tableMarkup";
import { withBody } from "./events";
import { sectionCrumbs } from "./apps";

function attributeList(attributes: Record<string, unknown>): HTMLElement {
  const keys = Object.keys(attributes);
  if (!keys.length) return h("span", { class: "muted" }, "—");
  return h(
    "dl",
    { class: "users-attrs" },
    keys.map((key) => [
      h("dt", null, key),
      h(
        "dd",
        { class: "mono" },
        typeof attributes[key] === "string"
          ? String(attributes[key])
          : JSON.stringify(attributes[key]),
      ),
    ]),
  );
}

function userRow(user: AppUserRow): HTMLElement {
  return h(
    "tr",
    { testid: "user-row", "data-identifier": user.identifier },
    h("td", null, h("code", null, user.identifier)),
    h("td", null, attributeList(user.attributes)),
    h("td", { title: formatDate(user.last_seen_at) }, formatRelative(user.last_seen_at)),
    h("td", null, formatDate(user.first_seen_at)),
  );
}

export async function usersPage(ctx: PageContext): Promise<void> {
  const appId = ctx.params.id ?? "";
  void sectionCrumbs(ctx, String(appId), "Users");
  const search = inputField({
    label: "Search",
    name: "search",
    testid: "users-search",
    placeholder: "User identifier",
  });
  const body = h("tbody");
  const status = h("p", { class: "muted small", role: "status" });
  const more = button("More users", { testid: "users-more", hidden: true });
  let offset = 0;
  const load = async (append: boolean): Promise<void> => {
    if (!append) offset = 0;
    status.textContent = "Loading…";
    try {
      const page = await eventsApi.users(appId, search.input.value.trim(), offset);
      if (ctx.signal.aborted) return;
      if (!append) body.replaceChildren();
      body.append(...page.users.map(userRow));
      offset += page.users.length;
      more.hidden = !page.more;
      status.textContent = body.children.length
        ? ""
        : "No users yet: they appear when an app associates one.";
    } catch (err: unknown) {
      status.textContent = errorText(err);
    }
  };
  const form = h(
    "form",
    { class: "events-filter" },
    search.wrap,
    button("Search", { type: "submit", variant: "primary" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void load(false);
  });
  more.addEventListener("click", () => void load(true));
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page" },
      pageHead({
        title: "Users",
        titleTestid: "users-title",
        lead: "The users your app's installs were associated with (the SDKs' associateUser), with their attributes. Scripts read them with K.users.getAttributes(userId).",
      }),
      cardSection(
        {
          title: "Users",
          testid: "users-list",
          id: "users-list-title",
          description: "Most recently seen first.",
        },
        form,
        withBody(
          dataTable({
            testid: "users-table",
            caption: "Users",
            columns: ["User", "Attributes", "Last seen", "First seen"],
            rows: [],
          }),
          body,
        ),
        status,
        more,
      ),
    ),
  );
  await load(false);
}
