/**
 * /apps/<id>/tables/<table>: the table designer — fields (add, rename, retype, delete),
 * Belongs To links both ways, system fields, indexes, renaming and deleting the table.
 */
import { ApiError } from "../api";
import type { PageContext } from "../context";
import { confirmDialog, formDialog } from "../dialog";
import {
  badge,
  button,
  cardSection,
  h,
  inputField,
  selectField,
  withBusy,
  type Child,
} from "../dom";
import { forgetParentTables } from "../editors";
import { errorText } from "../format";
import { icon } from "../icons";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import {
  tablesApi,
  type FieldType,
  type HasMany,
  type OnDelete,
  type TableField,
} from "../tablesApi";
import { FIELD_TYPES, ON_DELETE, onDeleteLabel, typeLabel } from "../tableValues";
import { toast, toastError } from "../toast";
import {
  deleteTableFlow,
  pageTableId,
  setTableCrumbs,
  startTablesAreaPage,
  tableDataPath,
  tableHeader,
  tableNameDialog,
  tablePath,
  tablesPath,
} from "./tables";
import { indexesSection } from "./tableIndexes";
import { tableUsageNote } from "../renameWarnings";
import { apiMethodImpactNote } from "../apiMethodImpact";

/** What deleting a parent record does to the children of one relation. */
function hasManyEffect(parent: string, rel: HasMany): string {
  const child = `${rel.table.name}.${rel.field}`;
  if (rel.on_delete === "cascade")
    return `Deleting a ${parent} record deletes its ${rel.table.name}`;
  if (rel.on_delete === "set_empty")
    return `Deleting a ${parent} record empties ${child}`;
  return `A ${parent} record with ${rel.table.name} cannot be deleted`;
}

function typeCell(type: FieldType): HTMLElement {
  return h("span", { class: `type-chip type-${type}` }, typeLabel(type));
}

export async function tableDesignerPage(ctx: PageContext): Promise<void> {
  const app = await startTablesAreaPage(ctx, "Table", "Loading table…");
  const tableId = pageTableId(ctx);
  let [table, tables] = await Promise.all([
    tablesApi.get(app.id, tableId, ctx.signal),
    tablesApi.list(app.id, ctx.signal),
  ]);
  if (ctx.signal.aborted) return;

  const reload = async (): Promise<void> => {
    forgetParentTables();
    [table, tables] = await Promise.all([
      tablesApi.get(app.id, tableId),
      tablesApi.list(app.id),
    ]);
    if (!ctx.signal.aborted) render();
  };

  const render = (): void => {
    ctx.setTitle(`${table.name} · ${app.name}`);
    setTableCrumbs(ctx, app, table);
    const rename = button([icon("edit", 14), "Rename"], { testid: "rename-table" });
    rename.addEventListener("click", () =>
      tableNameDialog({
        title: `Rename ${table.name}`,
        submitLabel: "Rename table",
        value: table.name,
        testid: "rename-table",
        description: h(
          "div",
          null,
          "The alias and the ID field follow the new name.",
          tableUsageNote(app.id, table.id, table.alias),
          apiMethodImpactNote(app.id, table.name, null, "rename").el,
        ),
        submit: async (name) => {
          if (name === table.name) return;
          table = await tablesApi.rename(app.id, table.id, name);
          toast(`Renamed to ${table.name}.`, "success", 2500);
          await reload();
        },
      }),
    );
    const browse = h(
      "a",
      {
        href: tableDataPath(app.id, table.id),
        class: "btn btn-primary",
        testid: "browse-data",
      },
      icon("table", 14),
      "Browse data",
    );

    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page page-wide" },
        tableHeader(app, table, "structure", [rename, browse]),
        fieldsSection(),
        relationsSection(),
        indexesSection({ app, table, reload }),
        dangerSection(),
      ),
    );
  };

  // --- fields ----------------------------------------------------------------------
  function fieldsSection(): HTMLElement {
    const systemRows = table.system_fields.map((f, i) =>
      h(
        "tr",
        { class: "row-system", testid: "system-field-row", "data-field": f.name },
        h("td", null, h("span", { class: "mono field-name" }, f.name)),
        h("td", null, typeCell(f.type)),
        h(
          "td",
          { class: "muted" },
          i === 0
            ? "ID of each record, set by the database"
            : f.name === "timeCreated"
              ? "When the record was created"
              : "When the record last changed",
        ),
        h("td", { class: "col-actions" }, badge("system")),
      ),
    );
    const rows = table.fields.map((field) => fieldRow(field));
    const list = dataTable({
      testid: "fields-table",
      caption: `Fields of ${table.name}`,
      columns: ["Field", "Type", "Details", ACTIONS_COLUMN],
      rows: [systemRows, rows],
      tableClass: "fields-table",
    });
    return cardSection(
      {
        title: "Fields",
        description: table.fields.length
          ? null
          : "Only the system fields so far. Add the fields your records need below.",
        testid: "fields",
        id: "sec-fields",
      },
      list,
      addFieldForm(),
    );
  }

  function fieldRow(field: TableField): HTMLElement {
    const edit = button(icon("edit", 14), {
      size: "sm",
      variant: "ghost",
      class: "btn-icon",
      "aria-label": `Edit field ${field.name}`,
      title: "Rename or change type",
      testid: "edit-field",
    });
    edit.addEventListener("click", () => editFieldDialog(field));
    const del = button(icon("trash", 14), {
      size: "sm",
      variant: "ghost",
      class: "btn-icon",
      "aria-label": `Delete field ${field.name}`,
      title: "Delete field",
      testid: "delete-field",
    });
    del.addEventListener("click", () => {
      const indexes = table.indexes.filter((i) => i.fields.includes(field.name));
      void confirmDialog({
        title: `Delete field ${field.name}?`,
        message: h(
          "div",
          null,
          h(
            "p",
            null,
            "Its values in every record of ",
            h("strong", null, table.name),
            " are deleted for good",
            indexes.length
              ? `, and ${indexes.length} index${indexes.length === 1 ? "" : "es"} using it go too`
              : "",
            ".",
          ),
          apiMethodImpactNote(app.id, table.name, field.name, "delete").el,
        ),
        confirmLabel: "Delete field",
        confirmTestid: "delete-field-confirm",
        testid: "delete-field-dialog",
        danger: true,
        action: async () => {
          await tablesApi.removeField(app.id, table.id, field.id);
          toast(`Deleted field ${field.name}.`, "success", 2500);
          await reload();
        },
      });
    });
    let details: Child = h(
      "span",
      { class: "muted" },
      FIELD_TYPES.find((t) => t.value === field.type)?.hint ?? "",
    );
    if (field.type === "belongs_to") {
      details = h(
        "span",
        { class: "relation", testid: "field-relation" },
        "→ ",
        field.target
          ? h("a", { href: tablePath(app.id, field.target.id) }, field.target.name)
          : "?",
        h("span", { class: "muted" }, " · on delete: "),
        h(
          "span",
          { class: `on-delete on-delete-${field.on_delete ?? ""}` },
          onDeleteLabel(field.on_delete).toLowerCase(),
        ),
      );
    }
    return h(
      "tr",
      { testid: "field-row", "data-field": field.name },
      h("td", null, h("span", { class: "mono field-name" }, field.name)),
      h("td", { testid: "field-type" }, typeCell(field.type)),
      h("td", null, details),
      h("td", { class: "col-actions" }, edit, del),
    );
  }

  function addFieldForm(): HTMLElement {
    const name = inputField({
      label: "New field name",
      name: "name",
      testid: "new-field-name",
      autocomplete: "off",
      placeholder: "e.g. title",
    });
    name.input.classList.add("mono");
    const type = selectField({
      label: "Type",
      name: "type",
      options: FIELD_TYPES.map((t) => ({ value: t.value, label: t.label })),
      value: "string",
      testid: "new-field-type",
    });
    const target = selectField({
      label: "Belongs to table",
      name: "target",
      options: tables.map((t) => ({ value: String(t.id), label: t.name })),
      value: String(tables.find((t) => t.id !== table.id)?.id ?? table.id),
      testid: "new-field-target",
    });
    const onDelete = selectField({
      label: "When the parent is deleted",
      name: "on_delete",
      options: ON_DELETE.map((o) => ({ value: o.value, label: `${o.label}` })),
      value: "cascade",
      testid: "new-field-on-delete",
    });
    const typeHint = h("p", { class: "hint" });
    type.wrap.insertBefore(typeHint, type.wrap.querySelector(".field-error"));
    const onDeleteHint = h("p", { class: "hint" });
    onDelete.wrap.insertBefore(onDeleteHint, onDelete.wrap.querySelector(".field-error"));
    const relation = h("div", { class: "relation-fields" }, target.wrap, onDelete.wrap);
    const paint = (): void => {
      const isLink = type.input.value === "belongs_to";
      relation.hidden = !isLink;
      typeHint.textContent =
        FIELD_TYPES.find((t) => t.value === type.input.value)?.hint ?? "";
      onDeleteHint.textContent =
        ON_DELETE.find((o) => o.value === onDelete.input.value)?.hint ?? "";
    };
    type.input.addEventListener("change", paint);
    onDelete.input.addEventListener("change", paint);
    paint();
    const add = button([icon("plus", 14), "Add field"], {
      variant: "primary",
      type: "submit",
      testid: "new-field-submit",
    });
    const error = h("p", {
      class: "form-error",
      role: "alert",
      hidden: true,
      testid: "new-field-error",
    });
    const form = h(
      "form",
      { class: "add-field", novalidate: true, "aria-label": "Add a field" },
      h("div", { class: "add-field-row" }, name.wrap, type.wrap, add),
      relation,
      error,
    );
    form.addEventListener("submit", (event: Event) => {
      event.preventDefault();
      for (const f of [name, type, target, onDelete]) f.setError("");
      error.hidden = true;
      const value = name.input.value.trim();
      if (!value) {
        name.setError("Give the field a name, like title.");
        name.input.focus();
        return;
      }
      const fieldType = type.input.value as FieldType;
      const body =
        fieldType === "belongs_to"
          ? {
              name: value,
              type: fieldType,
              target: Number(target.input.value),
              on_delete: onDelete.input.value as OnDelete,
            }
          : { name: value, type: fieldType };
      void withBusy(add, () => tablesApi.addField(app.id, table.id, body)).then(
        async (created) => {
          toast(`Added ${created.name} (${typeLabel(created.type)}).`, "success", 2500);
          await reload();
          document
            .querySelector<HTMLInputElement>('[data-testid="new-field-name"]')
            ?.focus();
        },
        (err: unknown) => {
          if (err instanceof ApiError && Object.keys(err.fields).length) {
            name.setError(err.fieldMessage("name"));
            type.setError(err.fieldMessage("type"));
            target.setError(err.fieldMessage("target"));
            onDelete.setError(err.fieldMessage("on_delete"));
            const known = ["name", "type", "target", "on_delete"];
            const rest = Object.keys(err.fields).filter((k) => !known.includes(k));
            if (rest.length) {
              error.textContent = err.message;
              error.hidden = false;
            }
            if (err.fields.name) name.input.focus();
          } else if (!(err instanceof ApiError && err.network)) {
            error.textContent = errorText(err);
            error.hidden = false;
          }
        },
      );
    });
    return h(
      "div",
      { class: "add-field-wrap" },
      h("h3", { class: "subhead" }, "Add a field"),
      form,
    );
  }

  function editFieldDialog(field: TableField): void {
    const name = inputField({
      label: "Field name",
      name: "name",
      value: field.name,
      testid: "edit-field-name",
      autocomplete: "off",
    });
    name.input.classList.add("mono");
    // API methods naming the field stop matching once it is renamed: said as the name changes.
    const impact = apiMethodImpactNote(app.id, table.name, field.name, "rename", {
      active: false,
      quiet: true,
    });
    name.wrap.append(impact.el);
    name.input.addEventListener("input", () =>
      impact.setActive(name.input.value.trim() !== field.name),
    );
    const isLink = field.type === "belongs_to";
    const type = selectField({
      label: "Type",
      name: "type",
      options: FIELD_TYPES.filter((t) => (t.value === "belongs_to") === isLink).map(
        (t) => ({ value: t.value, label: t.label }),
      ),
      value: field.type,
      testid: "edit-field-type",
    });
    type.input.disabled = isLink;
    const warn = h(
      "p",
      { class: "hint" },
      isLink
        ? "A Belongs To field cannot change type; add a new field instead."
        : "Changing the type converts every value. If one does not convert, nothing changes.",
    );
    type.wrap.insertBefore(warn, type.wrap.querySelector(".field-error"));
    // A type change that alters values is applied only once the user has seen how many.
    let confirmedType: string | null = null;
    const effectNote = h("div", {
      class: "form-warning",
      role: "alert",
      testid: "type-change-effect",
      hidden: true,
    });
    type.wrap.append(effectNote);
    type.input.addEventListener("change", () => {
      confirmedType = null;
      effectNote.hidden = true;
      submit.textContent = "Save field";
    });
    // API methods the new type no longer fits (a text operator on a number...), said at once.
    const retypeImpact = h("div");
    type.wrap.append(retypeImpact);
    type.input.addEventListener("change", () => {
      const next = type.input.value;
      retypeImpact.replaceChildren(
        next === field.type
          ? ""
          : apiMethodImpactNote(
              app.id,
              table.name,
              field.name,
              { type: next, label: typeLabel(next as FieldType) },
              { quiet: true },
            ).el,
      );
    });
    // What deleting a parent does to this field's records can change after creation.
    const onDelete = isLink
      ? selectField({
          label: "When the parent is deleted",
          name: "on_delete",
          options: ON_DELETE.map((o) => ({ value: o.value, label: o.label })),
          value: field.on_delete ?? "cascade",
          testid: "edit-field-on-delete",
        })
      : null;
    const { dialog, submit, showError, hideError } = formDialog({
      title: `Edit field ${field.name}`,
      testid: "edit-field-dialog",
      formClass: "dialog-form",
      fields: onDelete ? [name.wrap, type.wrap, onDelete.wrap] : [name.wrap, type.wrap],
      submitLabel: "Save field",
      submitTestid: "edit-field-submit",
      onSubmit: () => {
        name.setError("");
        type.setError("");
        hideError();
        onDelete?.setError("");
        const body: { name?: string; type?: FieldType; on_delete?: OnDelete } = {};
        const newName = name.input.value.trim();
        if (!newName) {
          name.setError("The name cannot be empty.");
          return;
        }
        if (newName !== field.name) body.name = newName;
        if (type.input.value !== field.type) body.type = type.input.value as FieldType;
        if (onDelete && onDelete.input.value !== field.on_delete) {
          body.on_delete = onDelete.input.value as OnDelete;
        }
        if (!body.name && !body.type && !body.on_delete) {
          dialog.close();
          return;
        }
        const save = async (): Promise<TableField | null> => {
          if (body.type && confirmedType !== body.type) {
            const effect = await tablesApi.typeChangeEffect(
              app.id,
              table.id,
              field.id,
              body.type,
            );
            if (effect.changed > 0) {
              confirmedType = body.type;
              const n = effect.changed;
              effectNote.replaceChildren(
                h(
                  "p",
                  null,
                  h(
                    "strong",
                    null,
                    `${n.toLocaleString("en")} value${n === 1 ? "" : "s"}`,
                  ),
                  ` of ${field.name} will change as ${typeLabel(body.type)}:`,
                ),
                h(
                  "ul",
                  null,
                  effect.examples.map((e) =>
                    h("li", { class: "mono" }, `#${e.id}: ${e.from} → ${e.to}`),
                  ),
                ),
                h("p", null, "Save again to change them."),
              );
              effectNote.hidden = false;
              submit.textContent = `Change ${n.toLocaleString("en")} value${n === 1 ? "" : "s"}`;
              return null;
            }
          }
          return tablesApi.updateField(app.id, table.id, field.id, body, true);
        };
        void withBusy(submit, save).then(
          async (updated) => {
            if (updated === null) return;
            dialog.close();
            toast(`Saved ${updated.name} (${typeLabel(updated.type)}).`, "success", 2500);
            await reload();
          },
          (err: unknown) => {
            if (
              err instanceof ApiError &&
              (err.fields.name || err.fields.type || err.fields.on_delete)
            ) {
              name.setError(err.fieldMessage("name"));
              type.setError(err.fieldMessage("type"));
              onDelete?.setError(err.fieldMessage("on_delete"));
            } else {
              showError(errorText(err));
            }
          },
        );
      },
    });
  }

  // --- relations ---------------------------------------------------------------------
  function relationsSection(): HTMLElement {
    const links = table.fields.filter((f) => f.type === "belongs_to");
    const items: HTMLElement[] = [
      ...links.map((f) =>
        h(
          "li",
          { class: "relation-item", testid: "belongs-to-item" },
          h("span", { class: "rel-kind" }, "belongs to"),
          h(
            "span",
            null,
            h("code", null, `${table.name}.${f.name}`),
            " → ",
            f.target
              ? h("a", { href: tablePath(app.id, f.target.id) }, f.target.name)
              : "?",
          ),
          h(
            "span",
            { class: "muted small" },
            ON_DELETE.find((o) => o.value === f.on_delete)?.hint ?? "",
          ),
        ),
      ),
      ...table.has_many.map((rel) =>
        h(
          "li",
          { class: "relation-item", testid: "has-many-item" },
          h("span", { class: "rel-kind rel-many" }, "has many"),
          h(
            "span",
            null,
            h("a", { href: tablePath(app.id, rel.table.id) }, rel.table.name),
            " via ",
            h("code", null, `${rel.table.name}.${rel.field}`),
          ),
          h("span", { class: "muted small" }, hasManyEffect(table.name, rel)),
        ),
      ),
    ];
    return cardSection(
      {
        title: "Relations",
        description: items.length
          ? null
          : h(
              "span",
              null,
              "No links yet. A Belongs To field links this table to another; a Belongs To field in another table that points here appears as ",
              h("em", null, "has many"),
              ".",
            ),
        testid: "relations",
        id: "sec-relations",
      },
      items.length ? h("ul", { class: "relation-items" }, items) : null,
    );
  }

  // --- danger zone -----------------------------------------------------------------------
  function dangerSection(): HTMLElement {
    const del = button([icon("trash", 14), "Delete table"], {
      variant: "danger",
      testid: "delete-table",
    });
    del.addEventListener("click", () => {
      void deleteTableFlow(app, table, () => ctx.navigate(tablesPath(app.id))).catch(
        (err: unknown) => toastError(err, "Could not delete the table"),
      );
    });
    return h(
      "section",
      { class: "card section danger-zone", testid: "table-danger-zone" },
      h(
        "div",
        { class: "danger-row" },
        h(
          "div",
          { class: "section-head" },
          h("h2", { class: "section-title" }, "Delete this table"),
          h(
            "p",
            { class: "muted" },
            `Deletes ${table.name} and all its records. This cannot be undone.`,
          ),
        ),
        del,
      ),
    );
  }

  render();
}
