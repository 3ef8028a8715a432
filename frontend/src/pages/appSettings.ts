/** /apps/<id>/settings: keys, curl example, rename, members, app definition, delete. */
import { api, ApiError, type AppDetail, type Member, type Role } from "../api";
import { copyWithToast } from "../clipboard";
import type { PageContext } from "../context";
import { confirmDialog } from "../dialog";
import {
  button,
  cardSection,
  h,
  inputField,
  loadingStatus,
  pageHead,
  selectField,
  withBusy,
  type Child,
} from "../dom";
import { curlExample, errorText, maskSecret } from "../format";
import { icon } from "../icons";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { toast, toastError } from "../toast";
import { appBadges, appHome } from "./apps";
import { definitionCard } from "./appDefinition";

const ROLE_OPTIONS: { value: Role; label: string }[] = [
  { value: "developer", label: "Developer" },
  { value: "owner", label: "Owner" },
];

function card(
  title: string,
  description: Child,
  testid: string,
  ...body: Child[]
): HTMLElement {
  return cardSection({ title, description, testid, id: `card-${testid}` }, ...body);
}

function sameId(a: unknown, b: unknown): boolean {
  return String(a) === String(b);
}

export async function appSettingsPage(ctx: PageContext): Promise<void> {
  const id = ctx.params.id ?? "";
  ctx.setTitle("App settings");
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: "…" },
    { label: "Settings" },
  ]);
  ctx.main.replaceChildren(loadingStatus("Loading app…"));

  let app: AppDetail = await api.getApp(id);
  if (ctx.signal.aborted) return;
  let revealed = false;

  const render = (): void => {
    const isOwner = app.role === "owner";
    ctx.setTitle(`${app.name} · Settings`);
    ctx.setCrumbs([
      { label: "Apps", href: "/apps" },
      { label: app.name, href: appHome(app) },
      { label: "Settings" },
    ]);

    // --- credentials -------------------------------------------------------
    const secretEl = h("code", { class: "secret mono", testid: "secret-key" });
    const revealBtn = button("", { size: "sm", testid: "reveal-secret" });
    const curlEl = h("code", null);
    const paintSecret = (): void => {
      secretEl.textContent = revealed ? app.secret_key : maskSecret(app.secret_key);
      secretEl.dataset.masked = String(!revealed);
      secretEl.setAttribute(
        "aria-label",
        revealed ? "Secret key" : "Secret key (hidden)",
      );
      revealBtn.replaceChildren(
        icon(revealed ? "eyeOff" : "eye", 14),
        revealed ? "Hide secret" : "Reveal secret",
      );
      revealBtn.setAttribute("aria-pressed", String(revealed));
      curlEl.textContent = curlExample({
        origin: window.location.origin,
        apiKey: app.api_key,
        secretKey: revealed ? app.secret_key : "YOUR_SECRET_KEY",
      });
    };
    revealBtn.addEventListener("click", () => {
      revealed = !revealed;
      paintSecret();
    });

    const copyApiKey = button([icon("copy", 14), "Copy API key"], {
      size: "sm",
      testid: "copy-api-key",
    });
    copyApiKey.addEventListener(
      "click",
      () => void copyWithToast(app.api_key, "API key"),
    );
    const copySecret = button([icon("copy", 14), "Copy secret key"], {
      size: "sm",
      testid: "copy-secret-key",
    });
    copySecret.addEventListener(
      "click",
      () => void copyWithToast(app.secret_key, "Secret key"),
    );

    let rotate: HTMLButtonElement | null = null;
    if (isOwner) {
      const rotateBtn = button([icon("refresh", 14), "Rotate secret"], {
        size: "sm",
        variant: "danger",
        testid: "rotate-secret",
      });
      rotateBtn.addEventListener("click", () => {
        void confirmDialog({
          title: "Rotate the secret key?",
          message: h(
            "p",
            null,
            "A new secret key is generated and ",
            h("strong", null, "the old secret stops working at once"),
            ". Every client and server that uses it must be updated.",
          ),
          confirmLabel: "Rotate now",
          confirmTestid: "rotate-secret-confirm",
          testid: "rotate-secret-dialog",
          danger: true,
          action: async () => {
            const updated = await api.rotateSecret(app.id);
            app = { ...app, ...updated };
            paintSecret();
            toast("Secret key rotated. The old secret no longer works.", "success");
          },
        });
      });
      rotate = rotateBtn;
    }

    const credentials = card(
      "API credentials",
      "Clients identify the app with the API key and prove it with the secret key.",
      "credentials",
      h(
        "div",
        { class: "kv" },
        h("div", { class: "kv-label", id: "api-key-label" }, "API key"),
        h(
          "div",
          { class: "kv-value" },
          h(
            "code",
            { class: "mono key", testid: "api-key", "aria-labelledby": "api-key-label" },
            app.api_key,
          ),
          h("div", { class: "kv-actions" }, copyApiKey),
        ),
        h("div", { class: "kv-label" }, "Secret key"),
        h(
          "div",
          { class: "kv-value" },
          secretEl,
          h("div", { class: "kv-actions" }, revealBtn, copySecret, rotate),
        ),
      ),
    );

    const copyCurl = button([icon("copy", 14), "Copy curl command"], {
      size: "sm",
      testid: "copy-curl",
    });
    copyCurl.addEventListener("click", () => {
      const full = curlExample({
        origin: window.location.origin,
        apiKey: app.api_key,
        secretKey: app.secret_key,
      });
      void copyWithToast(full, "Curl command");
    });
    const quickstart = card(
      "Call your API",
      h(
        "span",
        null,
        "API methods are called with HTTP Basic auth: the API key as user name, the secret key as password. ",
        "Replace ",
        h("code", null, "yourMethod"),
        " with one of your methods and put its parameters in ",
        h("code", null, "params"),
        ". The copied command includes the real secret.",
      ),
      "quickstart",
      h(
        "div",
        { class: "code-block" },
        h("div", { class: "code-actions" }, copyCurl),
        h("pre", { testid: "curl-example" }, curlEl),
      ),
    );
    paintSecret();

    // --- general ---------------------------------------------------------------
    let general: HTMLElement;
    if (isOwner) {
      const name = inputField({
        label: "App name",
        name: "name",
        value: app.name,
        testid: "rename-input",
        autocomplete: "off",
      });
      const save = button("Save name", {
        variant: "primary",
        type: "submit",
        testid: "rename-submit",
      });
      const form = h("form", { class: "inline-form", novalidate: true }, name.wrap, save);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        name.setError("");
        const value = name.input.value.trim();
        if (!value) {
          name.setError("The name cannot be empty.");
          return;
        }
        if (value === app.name) {
          toast("The name is unchanged.", "info", 2000);
          return;
        }
        void withBusy(save, () => api.updateApp(app.id, { name: value })).then(
          (updated) => {
            app = { ...app, ...updated };
            ctx.apps.upsert(updated);
            toast("App renamed.", "success");
            render();
          },
          (err: unknown) => {
            if (err instanceof ApiError && err.fields.name)
              name.setError(err.fieldMessage("name"));
            else if (!(err instanceof ApiError && err.network))
              name.setError(errorText(err));
          },
        );
      });
      general = card("General", "Renaming does not change the keys.", "general", form);
    } else {
      general = card(
        "General",
        "Only owners can rename the app.",
        "general",
        h(
          "div",
          { class: "kv" },
          h("div", { class: "kv-label" }, "App name"),
          h("div", { class: "kv-value" }, app.name),
        ),
      );
    }

    // --- members -----------------------------------------------------------------
    const members = card(
      "Members",
      isOwner
        ? "Owners manage keys, members and deletion. Developers build with the app."
        : "Only owners can add, change or remove members.",
      "members",
      membersTable(),
      isOwner ? addMemberForm() : null,
    );

    function membersTable(): HTMLElement {
      const rows = [...app.members]
        .sort((a, b) => a.username.localeCompare(b.username))
        .map((member) => memberRow(member));
      return dataTable({
        testid: "members-table",
        caption: "Members of this app",
        columns: ["User", "Role", isOwner && ACTIONS_COLUMN],
        rows,
      });
    }

    function memberRow(member: Member): HTMLElement {
      const isMe = sameId(member.user_id, ctx.user.id);
      const who = h(
        "td",
        null,
        h(
          "span",
          { class: "avatar avatar-sm", "aria-hidden": "true" },
          member.username.slice(0, 1).toUpperCase(),
        ),
        h("span", { class: "member-name" }, member.username),
        isMe ? h("span", { class: "muted" }, " (you)") : null,
      );
      if (!isOwner) {
        return h(
          "tr",
          { testid: "member-row", "data-username": member.username },
          who,
          h(
            "td",
            null,
            h(
              "span",
              { class: "badge badge-neutral", testid: "member-role" },
              roleLabel(member.role),
            ),
          ),
        );
      }
      const selectId = `role-${String(member.user_id)}`;
      const select = h(
        "select",
        { id: selectId, class: "input select select-sm", testid: "member-role" },
        ROLE_OPTIONS.map((o) =>
          h("option", { value: o.value, selected: o.value === member.role }, o.label),
        ),
      );
      select.addEventListener("change", () => {
        const role = select.value as Role;
        select.disabled = true;
        api.updateMember(app.id, member.user_id, { role }).then(
          (updated) => {
            app = {
              ...app,
              members: app.members.map((m) =>
                sameId(m.user_id, member.user_id) ? { ...m, ...updated, role } : m,
              ),
              role: isMe ? role : app.role,
            };
            toast(
              `${member.username} is now ${roleLabel(role).toLowerCase()}.`,
              "success",
            );
            render();
          },
          (err: unknown) => {
            select.disabled = false;
            select.value = member.role;
            if (!(err instanceof ApiError && err.network))
              toastError(err, "Could not change the role");
          },
        );
      });
      const remove = button("Remove", {
        size: "sm",
        variant: "ghost",
        testid: "member-remove",
        "aria-label": `Remove ${member.username}`,
      });
      remove.addEventListener("click", () => {
        void confirmDialog({
          title: `Remove ${member.username}?`,
          message: isMe
            ? "You will lose access to this app."
            : `${member.username} will lose access to this app and its keys.`,
          confirmLabel: "Remove member",
          confirmTestid: "member-remove-confirm",
          danger: true,
          action: async () => {
            await api.removeMember(app.id, member.user_id);
            toast(`Removed ${member.username}.`, "success");
            if (isMe) {
              ctx.apps.remove(app.id);
              ctx.navigate("/apps");
              return;
            }
            app = {
              ...app,
              members: app.members.filter((m) => !sameId(m.user_id, member.user_id)),
            };
            render();
          },
        });
      });
      return h(
        "tr",
        { testid: "member-row", "data-username": member.username },
        who,
        h(
          "td",
          null,
          h("label", { for: selectId, class: "sr-only" }, `Role for ${member.username}`),
          select,
        ),
        h("td", { class: "col-actions" }, remove),
      );
    }

    function addMemberForm(): HTMLElement {
      const username = inputField({
        label: "Username",
        name: "username",
        testid: "member-username",
        autocomplete: "off",
      });
      const role = selectField({
        label: "Role",
        name: "role",
        options: ROLE_OPTIONS,
        value: "developer",
        testid: "member-new-role",
      });
      const add = button([icon("plus", 14), "Add member"], {
        variant: "secondary",
        type: "submit",
        testid: "member-add",
      });
      const error = h("p", {
        class: "form-error",
        role: "alert",
        hidden: true,
        testid: "member-add-error",
      });
      const form = h(
        "form",
        {
          class: "inline-form add-member",
          novalidate: true,
          "aria-label": "Add a member",
        },
        username.wrap,
        role.wrap,
        add,
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        username.setError("");
        role.setError("");
        error.hidden = true;
        const value = username.input.value.trim();
        if (!value) {
          username.setError("Enter the username of an existing user.");
          username.input.focus();
          return;
        }
        void withBusy(add, () =>
          api.addMember(app.id, { username: value, role: role.input.value as Role }),
        ).then(
          (member) => {
            app = {
              ...app,
              members: [
                ...app.members.filter((m) => !sameId(m.user_id, member.user_id)),
                member,
              ],
            };
            toast(
              `Added ${member.username} as ${roleLabel(member.role).toLowerCase()}.`,
              "success",
            );
            render();
            document
              .querySelector<HTMLInputElement>('[data-testid="member-username"]')
              ?.focus();
          },
          (err: unknown) => {
            if (err instanceof ApiError && (err.fields.username || err.fields.role)) {
              username.setError(err.fieldMessage("username"));
              role.setError(err.fieldMessage("role"));
            } else if (!(err instanceof ApiError && err.network)) {
              error.textContent = errorText(err);
              error.hidden = false;
            }
          },
        );
      });
      return h("div", { class: "add-member-wrap" }, form, error);
    }

    // --- danger zone ---------------------------------------------------------------
    let danger: HTMLElement | null = null;
    if (isOwner) {
      const del = button("Delete app", { variant: "danger", testid: "delete-app" });
      del.addEventListener("click", () => {
        void confirmDialog({
          title: "Delete this app?",
          message: h(
            "p",
            null,
            "This permanently deletes ",
            h("strong", null, app.name),
            ", its data, methods and scripts. Clients using its keys stop working. This cannot be undone.",
          ),
          confirmLabel: "Delete this app",
          confirmTestid: "delete-app-confirm",
          testid: "delete-app-dialog",
          danger: true,
          requireText: app.name,
          requireLabel: `To confirm, type “${app.name}”`,
          requireTestid: "delete-app-confirm-input",
          action: async () => {
            await api.deleteApp(app.id);
            ctx.apps.remove(app.id);
            toast(`Deleted “${app.name}”.`, "success");
            ctx.navigate("/apps");
          },
        });
      });
      danger = h(
        "section",
        {
          class: "card section danger-zone",
          "aria-labelledby": "danger-title",
          testid: "danger-zone",
        },
        h(
          "div",
          { class: "danger-row" },
          h(
            "div",
            null,
            h("h2", { class: "section-title", id: "danger-title" }, "Delete app"),
            h(
              "p",
              { class: "muted" },
              "Permanently delete this app and everything in it.",
            ),
          ),
          del,
        ),
      );
    }

    const banner = app.suspended
      ? h(
          "div",
          { class: "banner banner-danger", role: "status", testid: "suspended-banner" },
          "This app is suspended by the platform administrator. Its API does not answer requests.",
        )
      : null;

    const scrollY = window.scrollY;
    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page" },
        pageHead({
          title: app.name,
          titleTestid: "app-title",
          lead: h("div", { class: "badges" }, appBadges(app)),
        }),
        banner,
        credentials,
        quickstart,
        general,
        members,
        definitionCard(app),
        danger,
      ),
    );
    window.scrollTo(0, scrollY);
    ctx.refreshNav();
  };

  render();
}

function roleLabel(role: Role): string {
  return role === "owner" ? "Owner" : "Developer";
}
