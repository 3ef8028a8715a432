/** The signed-in user's own password change (topbar "Password"): current one required. */
import { api } from "./api";
import { formDialog, showFieldErrors } from "./dialog";
import { inputField, withBusy } from "./dom";
import { toast } from "./toast";

export function openPasswordDialog(): void {
  const current = inputField({
    label: "Current password",
    name: "current_password",
    type: "password",
    testid: "current-password",
    autocomplete: "current-password",
  });
  const next = inputField({
    label: "New password",
    name: "new_password",
    type: "password",
    testid: "new-password",
    autocomplete: "new-password",
    hint: "At least 8 characters, not a common password.",
  });
  const repeat = inputField({
    label: "New password again",
    name: "repeat_password",
    type: "password",
    testid: "repeat-password",
    autocomplete: "new-password",
  });
  const fields = { current_password: current, new_password: next };
  const { dialog, submit, showError, hideError } = formDialog({
    title: "Change your password",
    description:
      "Your other sessions (other browsers and devices) are signed out; this one stays.",
    testid: "password-dialog",
    formClass: "stack",
    fields: [current.wrap, next.wrap, repeat.wrap],
    submitLabel: "Change password",
    submitTestid: "password-submit",
    cancelTestid: "password-cancel",
    onSubmit: () => {
      for (const f of [current, next, repeat]) f.setError("");
      hideError();
      if (!current.input.value) {
        current.setError("Enter your current password.");
        current.input.focus();
        return;
      }
      if (!next.input.value) {
        next.setError("Enter a new password.");
        next.input.focus();
        return;
      }
      // Typed blind twice, so a typo cannot lock the user out.
      if (next.input.value !== repeat.input.value) {
        repeat.setError("The two new passwords differ.");
        repeat.input.focus();
        return;
      }
      const body = {
        current_password: current.input.value,
        new_password: next.input.value,
      };
      void withBusy(submit, () => api.changePassword(body)).then(
        () => {
          dialog.close();
          toast("Password changed.", "success");
        },
        (err: unknown) => showFieldErrors(err, fields, showError),
      );
    },
  });
}
