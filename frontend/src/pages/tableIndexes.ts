/**
 * The Indexes card of the table designer: the table's indexes (single or composite,
 * columns in order), adding one and deleting one.
 */
import { ApiError, type App } from "../api";
import { confirmDialog } from "../dialog";
import { badge, button, cardSection, h, withBusy } from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { tablesApi, type Table, type TableIndex } from "../tablesApi";
import { automaticIndexNote } from "../tableValues";
import { toast } from "../toast";

export interface DesignerContext {
  app: App;
  table: Table;
  /** Fetches the table again and redraws the page. */
  reload: () => Promise<void>;
}

function columnsCell(index: TableIndex): HTMLElement {
  return h(
    "td",
    null,
    index.fields.map((f, i) => [
      i ? h("span", { class: "muted" }, " + ") : null,
      h("code", null, f),
    ]),
  );
}

/** An index the database made with a Belongs To field: shown, never deleted here. */
function automaticRow(table: Table, index: TableIndex): HTMLElement {
  const note = automaticIndexNote(table, index);
  return h(
    "tr",
    { testid: "index-row", "data-automatic": "true", title: note },
    columnsCell(index),
    h(
      "td",
      null,
      h("span", { class: "mono muted small" }, index.name),
      h("span", { class: "muted small index-note", testid: "index-note" }, ` · ${note}`),
    ),
    h("td", { class: "col-actions" }, badge("automatic", "neutral", "index-automatic")),
  );
}

export function indexesSection({ app, table, reload }: DesignerContext): HTMLElement {
  const rows = table.indexes.map((index) => {
    const indexId = index.id;
    if (index.automatic || indexId === null) return automaticRow(table, index);
    const del = button(icon("trash", 14), {
      size: "sm",
      variant: "ghost",
      class: "btn-icon",
      "aria-label": `Delete index on ${index.fields.join(", ")}`,
      title: "Delete index",
      testid: "delete-index",
    });
    del.addEventListener("click", () => {
      void confirmDialog({
        title: "Delete this index?",
        message: h(
          "p",
          null,
          "Queries sorting or filtering by ",
          h("code", null, index.fields.join(", ")),
          " may become slower. The data is not touched.",
        ),
        confirmLabel: "Delete index",
        confirmTestid: "delete-index-confirm",
        danger: true,
        action: async () => {
          await tablesApi.removeIndex(app.id, table.id, indexId);
          toast("Index deleted.", "success", 2500);
          await reload();
        },
      });
    });
    return h(
      "tr",
      { testid: "index-row" },
      columnsCell(index),
      h(
        "td",
        { class: "mono muted small" },
        index.name,
        index.unique ? [" ", badge("unique", "accent", "index-unique")] : null,
      ),
      h("td", { class: "col-actions" }, del),
    );
  });
  const list = rows.length
    ? dataTable({
        testid: "indexes-table",
        columns: ["Columns (in order)", "Index name", ACTIONS_COLUMN],
        rows,
      })
    : null;
  return cardSection(
    {
      title: "Indexes",
      description: rows.length
        ? "Indexes make sorting and filtering by their columns fast on big tables."
        : "No indexes. Add one for the fields you sort or filter big tables by; a composite index serves its first columns too.",
      testid: "indexes",
      id: "sec-indexes",
    },
    list,
    addIndexForm({ app, table, reload }),
  );
}

function addIndexForm({ app, table, reload }: DesignerContext): HTMLElement {
  const choices = [
    table.id_field,
    ...table.fields.filter((f) => f.type !== "data").map((f) => f.name),
    "timeCreated",
    "timeUpdated",
  ];
  const columns = h("div", { class: "index-columns" });
  const error = h("p", {
    class: "field-error",
    hidden: true,
    testid: "new-index-error",
  });
  const selects: HTMLSelectElement[] = [];
  const addColumn = (): void => {
    const n = selects.length + 1;
    const select = h(
      "select",
      {
        class: "input select",
        "aria-label": `Index column ${n}`,
        testid: "new-index-column",
      },
      n > 1 ? h("option", { value: "" }, "— none —") : null,
      choices.map((c) => h("option", { value: c }, c)),
    );
    if (n === 1) select.value = table.fields[0]?.name ?? table.id_field;
    selects.push(select);
    columns.append(n > 1 ? h("span", { class: "muted index-plus" }, "+") : "", select);
    more.hidden = selects.length >= 5;
  };
  const more = button([icon("plus", 14), "Column"], {
    size: "sm",
    variant: "ghost",
    testid: "new-index-more",
  });
  more.addEventListener("click", () => {
    addColumn();
    selects[selects.length - 1]?.focus();
  });
  addColumn();
  const add = button("Add index", {
    type: "submit",
    testid: "new-index-submit",
  });
  // A unique index also refuses a second record with the same values.
  const unique = h("input", { type: "checkbox", testid: "new-index-unique" });
  const uniqueLabel = h("label", { class: "check-label" }, unique, "Unique");
  const form = h(
    "form",
    { class: "add-index", novalidate: true, "aria-label": "Add an index" },
    h(
      "div",
      { class: "add-index-row" },
      columns,
      more,
      h("span", { class: "spacer" }),
      uniqueLabel,
      add,
    ),
    error,
  );
  form.addEventListener("submit", (event: Event) => {
    event.preventDefault();
    error.hidden = true;
    const fields = selects.map((s) => s.value).filter(Boolean);
    if (new Set(fields).size !== fields.length) {
      error.textContent = "Use each column once.";
      error.hidden = false;
      return;
    }
    void withBusy(add, () =>
      tablesApi.addIndex(app.id, table.id, fields, unique.checked),
    ).then(
      async () => {
        const kind = unique.checked ? "Unique index" : "Index";
        toast(`${kind} on ${fields.join(", ")} added.`, "success", 2500);
        await reload();
      },
      (err: unknown) => {
        error.textContent =
          err instanceof ApiError && err.fields.fields
            ? err.fieldMessage("fields")
            : errorText(err);
        error.hidden = false;
      },
    );
  });
  return h(
    "div",
    { class: "add-field-wrap" },
    h("h3", { class: "subhead" }, "Add an index"),
    form,
  );
}
