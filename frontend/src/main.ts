/**
 * Kiln console entry point. Django renders one HTML shell for every console URL with
 * `<div id="app"></div>`, the tags from dist/.vite/manifest.json ("src/main.ts") and
 * the `csrftoken` cookie; everything else happens here.
 *
 * Stable hooks for browser tests. Every input has a <label>, so `get_by_label` works
 * with the label text in quotes below; `data-testid` values are in brackets.
 *
 * Sign-in page (/login)
 *   "Username" [login-username]   "Password" [login-password]
 *   button "Sign in" [login-submit]   error message (role=alert) [login-error]
 *
 * Shell (every signed-in page)
 *   "Current app" select [app-switcher]   nav links [nav-apps] "All apps",
 *   [nav-platform] "Platform" (staff only), [nav-app-settings] "Settings" (inside an app)
 *   signed-in user name [current-user]   button "Sign out" [sign-out]
 *   toasts: container [toasts], each [toast] with data-tone="success|error|info"
 *
 * Apps list (/apps)
 *   button "New app" [new-app]; each app [app-card] (data-app-id) with link [app-link]
 *   and badges [app-role] [app-mode] [app-suspended] [app-kscript]; empty state [apps-empty]
 *   dialog [new-app-dialog]: "App name" [new-app-name] (field error [new-app-name-error]),
 *   button "Create app" [new-app-submit], "Cancel" [new-app-cancel].
 *   After creating, the console opens the new app's settings page.
 *
 * App settings (/apps/<id>/settings)
 *   title [app-title]; API key <code> [api-key], button "Copy API key" [copy-api-key]
 *   secret <code> [secret-key] (masked until revealed; data-masked="true|false")
 *   button "Reveal secret" / "Hide secret" [reveal-secret] (aria-pressed)
 *   button "Copy secret key" [copy-secret-key]
 *   button "Rotate secret" [rotate-secret] (owners) -> dialog [rotate-secret-dialog],
 *     button "Rotate now" [rotate-secret-confirm], "Cancel" [dialog-cancel]
 *   curl example <pre> [curl-example], button "Copy curl command" [copy-curl]
 *   rename (owners): "App name" [rename-input], button "Save name" [rename-submit]
 *   members table [members-table], rows [member-row] (data-username); owners get a
 *     select "Role for <username>" [member-role] and button "Remove <username>"
 *     [member-remove] -> "Remove member" [member-remove-confirm]; developers see the
 *     role as a badge [member-role]
 *   add member (owners): "Username" [member-username], "Role" [member-new-role]
 *     (use exact=True: "Role" is also inside "Role for <username>"),
 *     button "Add member" [member-add], error [member-add-error]
 *   danger zone [danger-zone]: button "Delete app" [delete-app] -> dialog
 *     [delete-app-dialog]: "To confirm, type “<name>”" [delete-app-confirm-input]
 *     (the button stays disabled until it matches), button "Delete this app"
 *     [delete-app-confirm]
 *   errors inside any confirm dialog: [dialog-error]
 *
 * Platform (/platform, staff only)
 *   apps table [platform-apps-table], rows [platform-app-row] (data-app-id);
 *   switches (checkbox, role=switch) "KScript enabled for <app>" [kscript-switch] and
 *   "Suspended for <app>" [suspend-switch]; their cell carries
 *   data-state="saving|saved|error".
 *   users table [platform-users-table], rows [platform-user-row] (data-username);
 *   button "New user" [new-user] -> dialog [new-user-dialog]: "Username"
 *   [new-user-username], "Email" [new-user-email], "Password" [new-user-password],
 *   "Platform administrator (staff)" [new-user-staff], "Create user" [new-user-submit].
 *
 * Dialogs: role=dialog, Esc closes, Tab stays inside, focus returns on close.
 */
import "./styles.css";
import { Console } from "./app";

const root = document.getElementById("app");
if (root) {
  void new Console(root).start();
} else {
  console.error('Kiln console: no <div id="app"> in the page.');
}
