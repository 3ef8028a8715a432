/** /platform (staff only): every app with its switches, and every user. */
import {
  api,
  ApiError,
  type PlatformApp,
  type PlatformUser,
  type UpdatePlatformAppRequest,
} from "../api";
import type { PageContext } from "../context";
import { formDialog } from "../dialog";
import {
  badge,
  button,
  cardSection,
  checkboxField,
  h,
  inputField,
  loadingStatus,
  pageHead,
  withBusy,
} from "../dom";
import { errorText, formatDate } from "../format";
import { icon } from "../icons";
import { dataTable } from "../tableMarkup";
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
  app: PlatformApp,
  flag: Flag,
  onSaved: (app: PlatformApp) => void,
): HTMLElement {
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
  input.addEventListener("change", () => {
    const value = input.checked;
    input.disabled = true;
    wrap.dataset.state = "saving";
    status.textContent = "Saving…";
    const body: UpdatePlatformAppRequest = { [flag]: value };
    api.updatePlatformApp(app.id, body).then(
      (updated) => {
        input.disabled = false;
        input.checked = updated[flag];
        wrap.dataset.state = "saved";
        status.textContent = "Saved";
        window.setTimeout(() => {
          if (wrap.dataset.state === "saved") status.textContent = "";
        }, 2500);
        const verb = updated[flag] ? text.on : text.off;
        toast(
          flag === "suspended"
            ? `${updated.name} ${verb}.`
            : `${verb} for ${updated.name}.`,
          "success",
        );
        onSaved(updated);
      },
      (err: unknown) => {
        input.disabled = false;
        input.checked = !value;
        wrap.dataset.state = "error";
        status.textContent = "Failed";
        if (!(err instanceof ApiError && err.network))
          toastError(err, `Could not update ${app.name}`);
      },
    );
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
        h("div", { class: "mono muted small truncate" }, app.api_key),
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
        h("td", null, formatDate(app.created_at)),
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

function userRow(user: PlatformUser): HTMLElement {
  return h(
    "tr",
    { testid: "platform-user-row", "data-username": user.username },
    h("td", null, h("span", { class: "cell-title" }, user.username)),
    h("td", null, user.email || h("span", { class: "muted" }, "—")),
    h("td", null, user.is_staff ? badge("Staff", "accent") : badge("User", "neutral")),
    h("td", null, formatDate(user.date_joined)),
  );
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
        (err: unknown) => {
          if (err instanceof ApiError && !err.network) {
            let shown = false;
            for (const [name, field] of Object.entries(fields)) {
              const msg = err.fieldMessage(name);
              field.setError(msg);
              if (msg && !shown) {
                field.input.focus();
                shown = true;
              }
            }
            const other = Object.keys(err.fields).some((k) => !(k in fields));
            if (!shown || other) {
              showError(
                err.fields.non_field_errors
                  ? err.fieldMessage("non_field_errors")
                  : err.detail,
              );
            }
          }
        },
      );
    },
  });
}

export async function platformPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Platform");
  ctx.setCrumbs([{ label: "Platform" }]);
  if (!ctx.user.is_staff) {
    ctx.main.replaceChildren(
      h(
        "div",
        { class: "empty", testid: "platform-forbidden" },
        h("h1", { class: "empty-title" }, "Platform administrators only"),
        h("p", { class: "muted" }, "Ask a platform administrator for access."),
        h("a", { href: "/apps", class: "btn btn-secondary" }, "Back to apps"),
      ),
    );
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
  const paintUsers = (): void => {
    const sorted = [...users].sort((a, b) => a.username.localeCompare(b.username));
    usersBody.replaceChildren(
      dataTable({
        testid: "platform-users-table",
        caption: "All users",
        columns: ["Username", "Email", "Role", "Joined"],
        rows: sorted.map(userRow),
      }),
    );
    usersBody.className = "";
    usersBody.removeAttribute("role");
  };
  newUser.addEventListener("click", () =>
    openNewUserDialog((user) => {
      users = [...users.filter((u) => String(u.id) !== String(user.id)), user];
      paintUsers();
    }),
  );

  const [appsResult, usersResult] = await Promise.allSettled([
    api.platformApps(),
    api.platformUsers(),
  ]);
  if (ctx.signal.aborted) return;
  const failed = (reason: unknown): HTMLElement =>
    h("p", { class: "form-error", role: "alert" }, errorText(reason));

  appsBody.replaceWith(
    appsResult.status === "fulfilled"
      ? appsTable(appsResult.value)
      : failed(appsResult.reason),
  );
  if (usersResult.status === "fulfilled") {
    users = usersResult.value;
    paintUsers();
  } else {
    usersBody.replaceWith(failed(usersResult.reason));
  }
}
