/**
 * The record dialog of the data browser (add / edit with one editor per field, errors
 * from the API beside their field) and the delete confirmation, which says what
 * happens to records of other tables that belong to the one deleted.
 */
import { ApiError, type App } from "../api";
import { confirmDialog, openDialog } from "../dialog";
import { button, h, withBusy } from "../dom";
import { errorText } from "../format";
import { collectValues, fieldEditor, type Editor } from "../editors";
import { icon } from "../icons";
import {
  tablesApi,
  type OnDelete,
  type RecordDependent,
  type Table,
  type TableRecord,
} from "../tablesApi";
import { formatEpoch, onDeleteLabel } from "../tableValues";
import { toast } from "../toast";

export interface RecordContext {
  app: App;
  table: Table;
  /** Runs after a record was added, changed or deleted. */
  onChange: () => void;
}

export function recordDialog(
  { app, table, onChange }: RecordContext,
  record: TableRecord | null,
): void {
  const editing = record !== null;
  const recordId = editing ? record[table.id_field] : null;
  const editors: Editor[] = table.fields.map((field) =>
    fieldEditor({
      appId: app.id,
      field,
      // A new record's switch starts off (false) rather than empty.
      value: record
        ? (record[field.name] ?? null)
        : field.type === "boolean"
          ? false
          : null,
    }),
  );
  const error = h("p", {
    class: "form-error",
    role: "alert",
    hidden: true,
    testid: "record-error",
  });
  const save = button(editing ? "Save changes" : "Add record", {
    variant: "primary",
    type: "submit",
    testid: "record-save",
  });
  const cancel = button("Cancel", { testid: "record-cancel" });
  const del = editing
    ? button([icon("trash", 14), "Delete"], {
        variant: "danger",
        testid: "record-delete",
      })
    : null;
  const meta = editing
    ? h(
        "dl",
        { class: "record-meta", testid: "record-meta" },
        [
          [table.id_field, String(recordId)],
          ["timeCreated", formatEpoch(record.timeCreated as number | null)],
          ["timeUpdated", formatEpoch(record.timeUpdated as number | null)],
        ].map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))),
      )
    : null;
  const form = h(
    "form",
    { class: "dialog-form record-form", novalidate: true },
    meta,
    editors.length
      ? h(
          "div",
          { class: "editors" },
          editors.map((e) => e.wrap),
        )
      : h(
          "p",
          { class: "muted" },
          "This table has no fields of its own yet; the record gets only its ID and times.",
        ),
    error,
    h(
      "div",
      { class: "dialog-footer" },
      del,
      h("span", { class: "spacer" }),
      cancel,
      save,
    ),
  );
  const dialog = openDialog({
    title: editing
      ? `Edit ${table.name} #${String(recordId)}`
      : `New ${table.name} record`,
    body: form,
    testid: "record-dialog",
  });
  dialog.panel.classList.add("dialog-wide");
  cancel.addEventListener("click", () => dialog.close());
  del?.addEventListener("click", () => {
    if (record)
      void deleteRecord({ app, table, onChange }, record).then(
        (done) => done && dialog.close(),
      );
  });
  form.addEventListener("submit", (event: Event) => {
    event.preventDefault();
    error.hidden = true;
    const values = collectValues(editors, editing);
    if (!values) return;
    if (editing && Object.keys(values).length === 0) {
      dialog.close();
      return;
    }
    void withBusy(save, () =>
      editing
        ? tablesApi.update(app.id, table.id, recordId as number, values)
        : tablesApi.insert(app.id, table.id, values),
    ).then(
      (saved) => {
        dialog.close();
        toast(
          editing
            ? `Saved ${table.name} #${String(saved[table.id_field])}.`
            : `Added ${table.name} #${String(saved[table.id_field])}.`,
          "success",
          2500,
        );
        onChange();
      },
      (err: unknown) => {
        let shown = false;
        if (err instanceof ApiError) {
          for (const editor of editors) {
            const message = err.fieldMessage(editor.name);
            if (message) {
              if (!shown) editor.focus();
              editor.setError(message);
              shown = true;
            }
          }
          const others = err.otherFieldMessages(editors.map((e) => e.name));
          if (others || !shown) {
            error.textContent = others && !err.detail ? others : err.message;
            error.hidden = false;
          }
        } else {
          error.textContent = errorText(err);
          error.hidden = false;
        }
      },
    );
  });
}

/** One line of the delete dialog: what deleting takes or unlinks through one relation. */
function effectText(
  tableName: string,
  field: string,
  onDelete: OnDelete,
  n: number | undefined,
): string {
  const what =
    n === undefined
      ? `${tableName} linked by ${field}`
      : `${n.toLocaleString("en")} record${n === 1 ? "" : "s"} in ${tableName} linked by ${field}`;
  if (n === 0) return `no record in ${tableName} is linked by ${field}`;
  if (onDelete === "cascade") return `${what} ${n === 1 ? "is" : "are"} deleted too`;
  if (onDelete === "set_empty") return `${what} ${n === 1 ? "loses" : "lose"} the link`;
  return `it cannot be deleted while ${what} exist (${onDeleteLabel(onDelete).toLowerCase()})`;
}

/** What the records a cascade deletes take with them in turn (only relations that act). */
function cascadeList(dependents: RecordDependent[]): HTMLElement | null {
  const acting = dependents.filter((d) => d.count > 0);
  if (!acting.length) return null;
  return h(
    "ul",
    { class: "relation-list nested" },
    acting.map((d) =>
      h(
        "li",
        { testid: "delete-effect-deeper" },
        `…and ${effectText(d.table.name, d.field, d.on_delete, d.count).replace(/^it cannot be deleted/, "nothing can be deleted")}`,
        d.cascades?.length ? cascadeList(d.cascades) : null,
      ),
    ),
  );
}

export async function deleteRecord(
  { app, table, onChange }: RecordContext,
  record: TableRecord,
): Promise<boolean> {
  const id = record[table.id_field] as number;
  // How many records each relation takes or unlinks, and what those take in turn;
  // without the counts (the request failed) the dialog still says what each relation does.
  const found = new Map<string, RecordDependent>();
  if (table.has_many.length) {
    try {
      for (const d of await tablesApi.recordDependents(app.id, table.id, id)) {
        found.set(`${d.table.id}:${d.field}`, d);
      }
    } catch {
      found.clear();
    }
  }
  const effects = table.has_many.map((rel) => {
    const d = found.get(`${rel.table.id}:${rel.field}`);
    return h(
      "li",
      { testid: "delete-effect" },
      effectText(rel.table.name, rel.field, rel.on_delete, d?.count),
      d?.cascades?.length ? cascadeList(d.cascades) : null,
    );
  });
  return confirmDialog({
    title: `Delete ${table.name} #${id}?`,
    message: h(
      "div",
      null,
      h("p", null, "The record is deleted for good."),
      effects.length ? h("ul", { class: "relation-list" }, effects) : null,
    ),
    confirmLabel: "Delete record",
    confirmTestid: "delete-record-confirm",
    testid: "delete-record-dialog",
    danger: true,
    action: async () => {
      await tablesApi.removeRecord(app.id, table.id, id);
      toast(`Deleted ${table.name} #${id}.`, "success", 2500);
      onChange();
    },
  });
}
