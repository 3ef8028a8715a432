/** The sign-in page: a centered card outside the console shell. */
import { api, ApiError, type User } from "../api";
import { h, inputField } from "../dom";
import { icon } from "../icons";

export function renderLogin(
  root: HTMLElement,
  options: { onSignedIn: (user: User) => void },
): void {
  const username = inputField({
    label: "Username",
    name: "username",
    testid: "login-username",
    autocomplete: "username",
    required: true,
  });
  const password = inputField({
    label: "Password",
    name: "password",
    type: "password",
    testid: "login-password",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", {
    class: "form-error",
    role: "alert",
    hidden: true,
    testid: "login-error",
  });
  const submit = h(
    "button",
    { type: "submit", class: "btn btn-primary btn-block", testid: "login-submit" },
    "Sign in",
  );
  const form = h(
    "form",
    { class: "stack", novalidate: true, "aria-labelledby": "login-title" },
    username.wrap,
    password.wrap,
    error,
    submit,
  );

  const showError = (message: string): void => {
    error.textContent = message;
    error.hidden = message === "";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    showError("");
    username.setError("");
    password.setError("");
    const body = {
      username: username.input.value.trim(),
      password: password.input.value,
    };
    if (!body.username || !body.password) {
      if (!body.username) username.setError("Enter your username.");
      if (!body.password) password.setError("Enter your password.");
      (body.username ? password.input : username.input).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    api.login(body).then(
      (user) => options.onSignedIn(user),
      (err: unknown) => {
        submit.disabled = false;
        submit.textContent = "Sign in";
        if (err instanceof ApiError) {
          username.setError(err.fieldMessage("username"));
          password.setError(err.fieldMessage("password"));
          const perField = Boolean(err.fields.username ?? err.fields.password);
          showError(perField ? err.fieldMessage("non_field_errors") : err.detail);
        } else {
          showError(String(err));
        }
        password.input.select();
        password.input.focus();
      },
    );
  });

  root.replaceChildren(
    h(
      "div",
      { class: "auth-page" },
      h(
        "div",
        { class: "auth-card card", testid: "login-card" },
        h(
          "div",
          { class: "auth-brand" },
          h("span", { class: "brand-mark brand-mark-lg" }, icon("flame", 22)),
          h("h1", { id: "login-title", class: "auth-title" }, "Sign in to Kiln"),
          h("p", { class: "muted" }, "Your self-hosted backend console."),
        ),
        form,
      ),
    ),
  );
  username.input.focus();
}
