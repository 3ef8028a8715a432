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
 *   app definition [definition-card]: link "Download definition" [definition-download];
 *     owners: file input "Definition file (.json)" [definition-file], checkbox "Also
 *     remove what the file lacks" [definition-drop], button "Import definition"
 *     [definition-import]; outcome in [definition-result]: changes [definition-change],
 *     [definition-nothing], or errors [definition-error]
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
 * KScript list (/apps/<id>/kscripts); sidebar link [nav-app-kscripts]
 *   KScript switched off: only the message [kscript-disabled]
 *   button "New method" [new-kscript], button "Deploy" [deploy]; empty state [kscript-empty]
 *   methods table [kscript-table], rows [kscript-row] (data-name = method name) with link
 *   [kscript-open], live badge [kscript-live] (data-state="live|changed|not-deployed"),
 *   buttons "Edit details of <title>" [kscript-edit], "Delete <title>" [kscript-delete]
 *   -> dialog [kscript-delete-dialog], "Delete method" [kscript-delete-confirm]
 *   live deployment line [live-deployment]; deployments table [deployments-table], rows
 *   [deployment-row] (data-number)
 *   method dialog [kscript-dialog]: "Title" [kscript-title] (error [kscript-title-error]),
 *   name preview [kscript-name-preview], "Returns" [kscript-return-type] (error
 *   [kscript-return-type-error]), button "Add parameter" [kscript-add-param], each
 *   parameter "Parameter <n> name" [kscript-param-name] and "Parameter <n> type"
 *   [kscript-param-type], "Remove parameter" [kscript-param-remove]; errors
 *   [kscript-params-error], [kscript-form-error]; submit [kscript-form-submit]
 *
 * KScript IDE (/apps/<id>/kscripts/<method id>)
 *   [kscript-ide]; back link [kscript-back]; title [kscript-editor-title], name
 *   [kscript-editor-name], params summary [kscript-editor-params]; live badge
 *   [kscript-live] (data-state as above); buttons "Details" [kscript-details] (opens the
 *   method dialog), "Deploy" [deploy]
 *   Monaco host [kscript-editor] with data-error-lines="2 5" (lines of Kiln's error
 *   markers: save syntax errors and Run It! errors). Type with keyboard.insert_text
 *   after ControlOrMeta+A (Monaco auto-closes brackets and quotes).
 *   save status [save-status] (data-state="saved|dirty|saving|invalid|conflict|retry"),
 *   with [resolve-conflict] / [retry-save] buttons when not saved
 *   tabs [tab-run] "Run It!", [tab-history] "History"
 *   Run It!: one input per parameter [run-param-<name>], button "Run It!" [run] (also
 *   Ctrl/Cmd+Enter), output [run-output]: [run-status] (data-state="ok|error"),
 *   [run-result] (pretty JSON), logs [run-logs] with [run-log] lines, error box
 *   [run-error] with place [run-error-where] ("Line 2, column 8") and [run-error-goto]
 *   While a run goes on: "Stop" [run-stop] (also Esc outside the editor) in place of
 *   [run]; [run-status] data-state="running" with the time taken [run-elapsed]; the
 *   lines so far as [run-log]; [run-live-note] when live lines and Stop are unavailable.
 *   A stopped run: [run-status] data-state="stopped", [run-error] "Stopped by <user>".
 *   History: [history-panel], rows [revision-row] (data-revision) with buttons
 *   [revision-view], [revision-compare], [revision-restore]; view dialog
 *   [revision-dialog] ([view-restore], [view-close]); diff dialog [revision-diff]
 *   ([diff-close])
 *   overwrite warning [conflict-dialog]: text [conflict-message], buttons
 *   [conflict-compare], [conflict-load-theirs], [conflict-overwrite], [conflict-later];
 *   compare dialog [conflict-diff] (labels [diff-original-label] / [diff-modified-label]),
 *   buttons [diff-close], [diff-load-theirs], [diff-overwrite]
 *   text left unsaved on an earlier visit: dialog [stash-dialog] with [stash-compare],
 *   [stash-discard], [stash-restore]
 *
 * Tables list (/apps/<id>/tables); sidebar link [nav-app-tables]
 *   table [tables-table], rows [table-row] (data-table) with link [table-link], alias
 *   <code> [table-row-alias] + copy [table-row-alias-copy], count [table-row-count],
 *   [browse-table] "Browse data", "Delete table <name>" [delete-table]; empty
 *   state [tables-empty]. "New table" [new-table] (use .first: the empty state has
 *   one too) -> dialog [new-table-dialog]: "Table name" [new-table-name] (error
 *   [new-table-name-error]), [new-table-submit]; opens the new table's designer.
 *   Deleting: dialog [delete-table-dialog], [delete-table-confirm]; when other
 *   tables belong to it the dialog lists them in [delete-table-children].
 *
 * Table pages (/apps/<id>/tables/<t> and .../<t>/data): title [table-title], alias
 *   [table-alias] + [table-alias-copy], count [table-count], tabs [tab-structure]
 *   [tab-data].
 * Designer (/apps/<id>/tables/<t>)
 *   fields table [fields-table]: rows [system-field-row] and [field-row] (data-field),
 *   type cell [field-type], Belongs To details [field-relation]; "Edit field <name>"
 *   [edit-field] -> dialog [edit-field-dialog]: "Field name" [edit-field-name],
 *   "Type" [edit-field-type] (errors [edit-field-name-error] [edit-field-type-error]),
 *   [edit-field-submit]; "Delete field <name>" [delete-field] -> [delete-field-confirm]
 *   add a field: "New field name" [new-field-name], "Type" [new-field-type] (values as
 *   the API's: string, text, integer, float, boolean, datetime, data, belongs_to),
 *   for Belongs To "Belongs to table" [new-field-target] and "When the parent is
 *   deleted" [new-field-on-delete]; [new-field-submit]; errors beside each field
 *   ([new-field-name-error] ...), others in [new-field-error]
 *   relations: [belongs-to-item], [has-many-item]
 *   indexes: rows [index-row] with [delete-index] -> [delete-index-confirm]; the
 *   automatic index of a Belongs To field: [index-row][data-automatic=true] with
 *   [index-note] and badge [index-automatic], no delete button; add:
 *   selects "Index column N" [new-index-column], [new-index-more] adds a column,
 *   [new-index-submit], error [new-index-error]
 *   "Rename" [rename-table] -> [rename-table-name], [rename-table-submit];
 *   [browse-data]; danger zone [table-danger-zone] with [delete-table]
 * Data browser (/apps/<id>/tables/<t>/data[?filter_field=&filter_op=&filter_value=])
 *   [add-record], [import-csv], [export-csv] (a download link)
 *   filter: "Filter field" [filter-field], "Filter operator" [filter-op] (API op
 *   values: eq, contains, lt, is_null...), "Filter value" [filter-value],
 *   [filter-apply], [filter-clear], error [filter-error]; count [grid-count]
 *   grid [records-grid] in [grid-scroll] (aria-busy while loading): header buttons
 *   [sort] (data-field; the th has aria-sort), rows [record-row] (data-record-id),
 *   cells td[data-field] (a Belongs To cell: link with ".id-chip" "#id" and the
 *   parent's label [parent-label], filled by one `in` request a page); per row
 *   [edit-record], [delete-record] ->
 *   [delete-record-dialog], [delete-record-confirm]; empty [grid-empty], error
 *   [grid-error]; paging [page-first] [page-prev] [page-next], "Rows per page"
 *   [page-size], text [grid-range] ("Rows 51–100 · page 2")
 *   record dialog [record-dialog]: each field's editor is labelled with the field
 *   name, [field-<name>] (switch for Boolean, datetime-local for DateTime, file input
 *   for Data with [field-<name>-download], a "Choose…" button for Belongs To), errors
 *   [field-<name>-error], others [record-error]; [record-meta], [record-save],
 *   [record-cancel], [record-delete]
 *   record picker [record-picker]: [record-picker-field], [record-picker-search],
 *   rows [record-picker-row] (data-record-id), [record-picker-choose]
 *   CSV import [csv-dialog]: file input [csv-file]; preview [csv-summary],
 *   [csv-preview-table] rows [csv-preview-row] (a failing cell shows the file's text
 *   in [csv-bad-value]), errors [csv-preview-errors] with
 *   [csv-error] items; [csv-again], [csv-cancel], [csv-import] (disabled while the
 *   file has errors); progress [csv-progress] [csv-progress-text] (more than 1,000
 *   rows run in a Celery worker; [csv-hide] closes while it goes on); result
 *   [csv-done] or [csv-import-errors]; [csv-close] *
 * Schedules (/apps/<id>/schedules); sidebar link [nav-app-schedules]
 *   [new-schedule]; empty state [schedules-empty]; banner [scheduling-off]; table
 *   [schedules-table], rows [schedule-row] (data-name) with [schedule-open],
 *   [schedule-description], [schedule-next] ("Off" when switched off), [schedule-last]
 *   (data-status), [schedule-spark], [schedule-switch], [schedule-run-now], [schedule-edit]
 *   editor [schedule-dialog]: [schedule-name], [schedule-method], [schedule-kind]
 *   (minute|hour|cron), [schedule-cron], [schedule-timezone], [schedule-param-<name>],
 *   [schedule-enabled]; the reading [schedule-reading] and [schedule-next-runs] >
 *   [schedule-next-run]; [schedule-form-submit]; field errors [schedule-<field>-error]
 * One schedule (/apps/<id>/schedules/<schedule id>)
 *   [schedule-title], [schedule-description], [schedule-next-runs] > [schedule-next-run],
 *   [run-now], [schedule-edit], [schedule-delete] -> [schedule-delete-confirm];
 *   history [runs-table] rows [run-row] (data-status, data-run-id) with [run-toggle],
 *   which opens [run-detail]: [run-error] / [run-error-where], [run-result], [run-logs]
 *   > [run-log]; [runs-empty], [runs-more]
 * Platform schedules (/platform/schedules, staff): [nav-platform-schedules], per app
 *   [platform-scheduling-app] with switch "Scheduling enabled for <app>"
 *   [scheduling-switch] and rows [platform-schedule-row]
 * Events (/apps/<id>/events): [events-title], chart [events-chart] or
 *   [events-chart-empty], [events-legend]; filter [events-type] [events-since]
 *   [events-until] [events-apply]; [events-table] rows [event-row] (data-type); [events-more]
 * Logs (/apps/<id>/logs); sidebar link [nav-app-logs]: [logs-title]; filter [logs-method]
 *   [logs-kind] [logs-status] [logs-since] [logs-until] [logs-q] [logs-apply] (kept in the
 *   URL); [logs-table] rows [log-row] (data-kind, data-status, data-method) with
 *   [log-toggle], then [log-details-row] > [log-facts] and the run view (run-error,
 *   run-log); [logs-status-line]; [logs-more]; a page that cannot load: [logs-error]
 * Users (/apps/<id>/users): [users-search], [users-table] rows [user-row]
 *   (data-identifier); [users-more]
 * Automations (/apps/<id>/automations): [new-automation], [automations-empty],
 *   [automations-table] rows [automation-row] (data-name) with [automation-fired],
 *   [automation-show-runs], [automation-edit], [automation-delete] ->
 *   [automation-delete-confirm]; editor [automation-dialog]: [automation-name],
 *   [automation-enabled], [automation-from], [automation-until], [automation-weekday-<1-7>],
 *   [automation-timezone], [automation-late], [automation-late-minutes], per [rule]
 *   [rule-event-type], [audience-add] / [audience-attribute] [audience-op]
 *   [audience-value] [audience-remove], [rule-method], [rule-remove]; [rule-add],
 *   [automation-submit], [automation-error]; runs [automation-runs-table] rows
 *   [automation-run-row] (data-status) open [run-detail]
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
