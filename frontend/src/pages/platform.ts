/**
 * /platform (staff only): every app with its switches (suspending asks first), and every
 * user: create, edit, disable or enable.
 */
import {
  api,
  ApiError,
  type PlatformApp,
  type PlatformUser,
  type UpdatePlatformAppRequest,
  type UpdatePlatformUserRequest,
  type User,
} from "../api";
import type { PageContext } from "../context";
import { confirmDialog, formDialog, showFieldErrors } from "../dialog";
import {
  badge,
  button,
  cardSection,
  checkboxField,
  emptyState,
  errorAlert,
  h,
  inputField,
  loadingStatus,
  pageHead,
  withBusy,
} from "../dom";
import { formatDate } from "../format";
import { icon } from "../icons";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { toast, toastError } from "../toast";

type Flag = keyof Required<UpdatePlatformAppRequest>;

const FLAG_TEXT: Record<
  Flag,
  { label: string; on: string; off: string; testid: string }
> = {
  kscript_enabled: {
    label: "KScript enabled",
    on: "KScript enabled",
    off: "KScript disabled",
    testid: "kscript-switch",
  },
  suspended: {
    label: "Suspended",
    on: "suspended",
    off: "reactivated",
    testid: "suspend-switch",
  },
};

function flagSwitch(
  initial: PlatformApp,
  flag: Flag,
  onSaved: (app: PlatformApp) => void,
): HTMLElement {
  let app = initial;
  const text = FLAG_TEXT[flag];
  const id = `${text.testid}-${String(app.id)}`;
  const input = h("input", {
    id,
    type: "checkbox",
    role: "switch",
    class: "switch",
    checked: app[flag],
    testid: text.testid,
    "data-app-id": String(app.id),
  });
  const status = h("span", { class: "switch-status", "aria-live": "polite" });
  const wrap = h(
    "div",
    { class: "switch-cell", "data-state": "idle" },
    input,
    h("label", { for: id, class: "sr-only" }, `${text.label} for ${app.name}`),
    status,
  );
  /** Saves the switch; a failure puts it back and is thrown to the caller. */
  const save = async (value: boolean): Promise<void> => {
    input.disabled = true;
    wrap.dataset.state = "saving";
    status.textContent = "Saving…";
    const body: UpdatePlatformAppRequest = { [flag]: value };
    let updated: PlatformApp;
    try {
      updated = await api.updatePlatformApp(app.id, body);
    } catch (err) {
      input.disabled = false;
      input.checked = !value;
      wrap.dataset.state = "error";
      status.textContent = "Failed";
      throw err;
    }
    input.disabled = false;
    input.checked = updated[flag];
    wrap.dataset.state = "saved";
    status.textContent = "Saved";
    window.setTimeout(() => {
      if (wrap.dataset.state === "saved") status.textContent = "";
    }, 2500);
    const verb = updated[flag] ? text.on : text.off;
    toast(
      flag === "suspended" ? `${updated.name} ${verb}.` : `${verb} for ${updated.name}.`,
      "success",
    );
    app = updated;
    onSaved(updated);
  };
  input.addEventListener("change", () => {
    const value = input.checked;
    if (flag === "suspended" && value) {
      // Suspending stops a live app's clients at once: the switch stays off until the
      // dialog is confirmed, and a refusal is shown inside the dialog.
      input.checked = false;
      void confirmDialog({
        title: `Suspend ${app.name}?`,
        message: h(
          "div",
          { class: "stack" },
          h(
            "p",
            null,
            "While suspended, every client call to ",
            h("strong", null, app.name),
            " is answered with code 16 (account suspended), Run It! is refused, and its schedules and automations do not run.",
          ),
          h(
            "p",
            null,
            "Its data, methods and keys are kept; turning the switch off again reactivates it.",
          ),
        ),
        confirmLabel: "Suspend app",
        danger: true,
        testid: "suspend-dialog",
        confirmTestid: "suspend-confirm",
        action: () => save(true),
      });
      return;
    }
    save(value).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.network))
        toastError(err, `Could not update ${app.name}`);
    });
  });
  return wrap;
}

function appsTable(apps: PlatformApp[]): HTMLElement {
  if (apps.length === 0) {
    return h("p", { class: "muted empty-inline" }, "No apps have been created yet.");
  }
  const rows = [...apps]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((app) => {
      const nameCell = h(
        "td",
        null,
        h("div", { class: "cell-title" }, app.name),
        h(
          "div",
          { class: "mono muted small truncate platform-key", title: app.api_key },
          app.api_key,
        ),
      );
      const stateCell = h("td", null);
      const paintState = (a: PlatformApp): void => {
        stateCell.replaceChildren(
          a.suspended ? badge("Suspended", "danger") : badge("Active", "success"),
        );
      };
      paintState(app);
      return h(
        "tr",
        { testid: "platform-app-row", "data-app-id": String(app.id) },
        nameCell,
        h(
          "td",
          null,
          app.owners.length ? app.owners.join(", ") : h("span", { class: "muted" }, "—"),
        ),
        h("td", { class: "nowrap" }, formatDate(app.created_at)),
        stateCell,
        h("td", null, flagSwitch(app, "kscript_enabled", paintState)),
        h("td", null, flagSwitch(app, "suspended", paintState)),
      );
    });
  return dataTable({
    testid: "platform-apps-table",
    caption: "All apps",
    columns: ["App", "Owners", "Created", "Status", "KScript", "Suspended"],
    rows,
  });
}

interface UserRowActions {
  me: User;
  onChanged: (user: PlatformUser) => void;
}

function userRow(user: PlatformUser, actions: UserRowActions): HTMLElement {
  const isMe = String(user.id) === String(actions.me.id);
  const edit = button("Edit", {
    size: "sm",
    variant: "ghost",
    testid: "edit-user",
    "aria-label": `Edit ${user.username}`,
  });
  edit.addEventListener("click", () => openEditUserDialog(user, isMe, actions.onChanged));
  let toggle: HTMLElement | null = null;
  if (!isMe) {
    const disable = user.is_active;
    const btn = button(disable ? "Disable" : "Enable", {
      size: "sm",
      variant: "ghost",
      testid: disable ? "disable-user" : "enable-user",
      "aria-label": `${disable ? "Disable" : "Enable"} ${user.username}`,
    });
    btn.addEventListener("click", () => {
      void confirmDialog({
        title: disable ? `Disable ${user.username}?` : `Enable ${user.username}?`,
        message: disable
          ? `${user.username} is signed out everywhere at once and cannot sign in until enabled again. Their apps, memberships and password are kept.`
          : `${user.username} can sign in again with their current password.`,
        confirmLabel: disable ? "Disable user" : "Enable user",
        danger: disable,
        testid: "user-active-dialog",
        confirmTestid: "user-active-confirm",
        action: async () => {
          const updated = await api.updatePlatformUser(user.id, { is_active: !disable });
          toast(
            `${updated.username} ${updated.is_active ? "enabled" : "disabled"}.`,
            "success",
          );
          actions.onChanged(updated);
        },
      });
    });
    toggle = btn;
  }
  return h(
    "tr",
    {
      testid: "platform-user-row",
      "data-username": user.username,
      "data-active": String(user.is_active),
    },
    h(
      "td",
      null,
      h("span", { class: "cell-title" }, user.username),
      isMe ? h("span", { class: "muted" }, " (you)") : null,
    ),
    h("td", null, user.email || h("span", { class: "muted" }, "—")),
    // Role and status share a column so the table fits 1024 px with its buttons.
    h(
      "td",
      null,
      h(
        "span",
        { class: "row-buttons" },
        user.is_staff ? badge("Staff", "accent") : badge("User", "neutral"),
        user.is_active ? null : badge("Disabled", "danger", "user-status"),
      ),
    ),
    h("td", { class: "nowrap" }, formatDate(user.date_joined)),
    h("td", { class: "col-actions" }, h("div", { class: "row-buttons" }, edit, toggle)),
  );
}

function openEditUserDialog(
  user: PlatformUser,
  isMe: boolean,
  onSaved: (user: PlatformUser) => void,
): void {
  const username = inputField({
    label: "Username",
    name: "username",
    testid: "edit-user-username",
    autocomplete: "off",
    value: user.username,
    hint: "Used to sign in; renaming keeps the password, apps and memberships.",
  });
  const email = inputField({
    label: "Email",
    name: "email",
    type: "email",
    testid: "edit-user-email",
    autocomplete: "off",
    value: user.email,
  });
  const staff = checkboxField({
    label: "Platform administrator (staff)",
    name: "is_staff",
    testid: "edit-user-staff",
    checked: user.is_staff,
    hint: isMe
      ? "You cannot remove your own administrator rights."
      : "Can see every app and user, and manage them here.",
  });
  staff.input.disabled = isMe;
  const fields = { username, email, is_staff: staff };
  const { dialog, submit, showError, hideError } = formDialog({
    title: `Edit ${user.username}`,
    testid: "edit-user-dialog",
    formClass: "stack",
    fields: [username.wrap, email.wrap, staff.wrap],
    submitLabel: "Save changes",
    submitTestid: "edit-user-submit",
    cancelTestid: "edit-user-cancel",
    onSubmit: () => {
      for (const f of Object.values(fields)) f.setError("");
      hideError();
      const body: UpdatePlatformUserRequest = {
        username: username.input.value.trim(),
        email: email.input.value.trim(),
      };
      if (!isMe) body.is_staff = staff.input.checked;
      if (!body.username) {
        username.setError("Enter a username.");
        username.input.focus();
        return;
      }
      void withBusy(submit, () => api.updatePlatformUser(user.id, body)).then(
        (updated) => {
          dialog.close();
          toast(`Saved ${updated.username}.`, "success");
          onSaved(updated);
        },
        (err: unknown) => showFieldErrors(err, fields, showError),
      );
    },
  });
}

function openNewUserDialog(onCreated: (user: PlatformUser) => void): void {
  const username = inputField({
    label: "Username",
    name: "username",
    testid: "new-user-username",
    autocomplete: "off",
  });
  const email = inputField({
    label: "Email",
    name: "email",
    type: "email",
    testid: "new-user-email",
    autocomplete: "off",
  });
  const password = inputField({
    label: "Password",
    name: "password",
    type: "password",
    testid: "new-user-password",
    autocomplete: "new-password",
  });
  const staff = checkboxField({
    label: "Platform administrator (staff)",
    name: "is_staff",
    testid: "new-user-staff",
    hint: "Can see every app and user, and manage them here.",
  });
  const fields = { username, email, password, is_staff: staff };
  const { dialog, submit, showError, hideError } = formDialog({
    title: "New user",
    testid: "new-user-dialog",
    formClass: "stack",
    fields: [username.wrap, email.wrap, password.wrap, staff.wrap],
    submitLabel: "Create user",
    submitTestid: "new-user-submit",
    cancelTestid: "new-user-cancel",
    onSubmit: () => {
      for (const f of Object.values(fields)) f.setError("");
      hideError();
      const body = {
        username: username.input.value.trim(),
        email: email.input.value.trim(),
        password: password.input.value,
        is_staff: staff.input.checked,
      };
      if (!body.username) {
        username.setError("Enter a username.");
        username.input.focus();
        return;
      }
      void withBusy(submit, () => api.createPlatformUser(body)).then(
        (user) => {
          dialog.close();
          toast(`Created user ${user.username}.`, "success");
          onCreated(user);
        },
        (err: unknown) => showFieldErrors(err, fields, showError),
      );
    },
  });
}

/** What a platform page shows a user who is not a platform administrator. */
export function platformOnly(): HTMLElement {
  return emptyState({
    testid: "platform-forbidden",
    heading: "h1",
    title: "Platform administrators only",
    lead: "Ask a platform administrator for access.",
    actions: h("a", { href: "/apps", class: "btn btn-secondary" }, "Back to apps"),
  });
}

export async function platformPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Platform");
  ctx.setCrumbs([{ label: "Platform" }]);
  if (!ctx.user.is_staff) {
    ctx.main.replaceChildren(platformOnly());
    return;
  }

  const appsBody = loadingStatus("Loading apps…");
  const usersBody = loadingStatus("Loading users…");
  const newUser = button([icon("plus", 14), "New user"], {
    variant: "primary",
    size: "sm",
    testid: "new-user",
  });

  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page" },
      pageHead({
        title: "Platform",
        lead: "Every app and user on this Kiln server. Switches apply immediately.",
      }),
      cardSection(
        { title: "Apps", testid: "platform-apps", id: "platform-apps-title" },
        appsBody,
      ),
      cardSection(
        {
          title: "Users",
          testid: "platform-users",
          id: "platform-users-title",
          actions: newUser,
        },
        usersBody,
      ),
    ),
  );

  let users: PlatformUser[] = [];
  const upsert = (user: PlatformUser): void => {
    users = [...users.filter((u) => String(u.id) !== String(user.id)), user];
    paintUsers();
  };
  const paintUsers = (): void => {
    const sorted = [...users].sort((a, b) => a.username.localeCompare(b.username));
    const actions: UserRowActions = { me: ctx.user, onChanged: upsert };
    usersBody.replaceChildren(
      dataTable({
        testid: "platform-users-table",
        caption: "All users",
        columns: ["Username", "Email", "Role", "Joined", ACTIONS_COLUMN],
        rows: sorted.map((u) => userRow(u, actions)),
      }),
    );
    usersBody.className = "";
    usersBody.removeAttribute("role");
  };
  newUser.addEventListener("click", () => openNewUserDialog(upsert));

  const [appsResult, usersResult] = await Promise.allSettled([
    api.platformApps(),
    api.platformUsers(),
  ]);
  if (ctx.signal.aborted) return;

  appsBody.replaceWith(
    appsResult.status === "fulfilled"
      ? appsTable(appsResult.value)
      : errorAlert(appsResult.reason),
  );
  if (usersResult.status === "fulfilled") {
    users = usersResult.value;
    paintUsers();
  } else {
    usersBody.replaceWith(errorAlert(usersResult.reason));
  }
}
