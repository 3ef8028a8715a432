/**
 * Per-type value editors of the record dialog (String, Text, Integer, Float, Boolean,
 * DateTime, Data, Belongs To) and the record picker a Belongs To field opens.
 */
import type { Id } from "./api";
import { openDialog } from "./dialog";
import { append, button, clear, errorAlert, h, uniqueId, type Child } from "./dom";
import { icon } from "./icons";
import {
  type Table,
  type TableField,
  type TableRecord,
  type RecordValue,
  tablesApi,
} from "./tablesApi";
import {
  base64Size,
  base64ToBytes,
  bytesToBase64,
  type Converted,
  formatBytes,
  formatCell,
  formatEpoch,
  KeysetPager,
  labelFields,
  localInputToEpoch,
  localZone,
  recordLabel,
  toApiValue,
  toEditorValue,
  typeLabel,
} from "./tableValues";
import { ApiError } from "./api";

export interface Editor {
  name: string;
  wrap: HTMLElement;
  /** The value to send, or the message to show beside the field. */
  read(): Converted;
  /** True when the value differs from the one the editor started with. */
  changed(): boolean;
  setError(message: string): void;
  focus(): void;
}

export interface EditorOptions {
  appId: Id;
  field: Pick<TableField, "name" | "type" | "target">;
  value: RecordValue;
}

function shell(
  field: EditorOptions["field"],
  control: Child,
  controlId: string,
  hint?: HTMLElement,
): { wrap: HTMLElement; error: HTMLElement } {
  const error = h("p", {
    class: "field-error",
    hidden: true,
    id: `${controlId}-error`,
    testid: `field-${field.name}-error`,
  });
  const wrap = h(
    "div",
    { class: "field editor", "data-field": field.name, "data-type": field.type },
    h(
      "div",
      { class: "editor-label" },
      h("label", { for: controlId, class: "label" }, field.name),
      h("span", { class: "type-chip" }, typeLabel(field.type)),
    ),
    control,
    hint ?? null,
    error,
  );
  return { wrap, error };
}

function errorSetter(
  error: HTMLElement,
  controls: () => HTMLElement[],
): (message: string) => void {
  return (message) => {
    error.textContent = message;
    error.hidden = message === "";
    for (const control of controls()) {
      if (message) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", error.id);
      } else {
        control.removeAttribute("aria-invalid");
        control.removeAttribute("aria-describedby");
      }
    }
  };
}

/** The editor that fits the field's type. */
export function fieldEditor(options: EditorOptions): Editor {
  switch (options.field.type) {
    case "boolean":
      return booleanEditor(options);
    case "datetime":
      return dateTimeEditor(options);
    case "data":
      return dataEditor(options);
    case "belongs_to":
      return belongsToEditor(options);
    default:
      return textEditor(options);
  }
}

function textEditor({ field, value }: EditorOptions): Editor {
  const id = uniqueId("ed");
  const initial = toEditorValue(field.type, value);
  const common = {
    id,
    name: field.name,
    class: "input",
    testid: `field-${field.name}`,
    spellcheck: "false",
    autocomplete: "off",
  };
  let control: HTMLInputElement | HTMLTextAreaElement;
  if (field.type === "text") {
    control = h("textarea", { ...common, class: "input textarea", rows: 4 });
    control.value = typeof initial === "string" ? initial : "";
  } else {
    const numeric = field.type === "integer" || field.type === "float";
    control = h("input", {
      ...common,
      type: "text",
      inputmode: numeric ? (field.type === "integer" ? "numeric" : "decimal") : undefined,
      class: numeric ? "input input-number mono" : "input",
      maxlength: field.type === "string" ? 255 : undefined,
      placeholder: numeric ? "empty" : undefined,
      value: typeof initial === "string" ? initial : "",
    });
  }
  const { wrap, error } = shell(field, control, id);
  const setError = errorSetter(error, () => [control]);
  control.addEventListener("input", () => setError(""));
  return {
    name: field.name,
    wrap,
    read: () => toApiValue(field.type, control.value),
    changed: () => control.value !== (typeof initial === "string" ? initial : ""),
    setError,
    focus: () => control.focus(),
  };
}

function booleanEditor({ field, value }: EditorOptions): Editor {
  const id = uniqueId("ed");
  const initial = value === null ? null : Boolean(value);
  const control = h("input", {
    id,
    type: "checkbox",
    role: "switch",
    class: "switch",
    name: field.name,
    checked: initial === true,
    testid: `field-${field.name}`,
  });
  const state = h("span", { class: "switch-text mono" });
  let touched = false;
  const paint = (): void => {
    state.textContent = !touched && initial === null ? "empty" : String(control.checked);
  };
  control.addEventListener("change", () => {
    touched = true;
    paint();
  });
  paint();
  const { wrap, error } = shell(
    field,
    h("div", { class: "switch-row" }, control, state),
    id,
  );
  return {
    name: field.name,
    wrap,
    read: () => ({
      ok: true,
      value: !touched && initial === null ? null : control.checked,
    }),
    changed: () => touched && control.checked !== initial,
    setError: errorSetter(error, () => [control]),
    focus: () => control.focus(),
  };
}

function dateTimeEditor({ field, value }: EditorOptions): Editor {
  const id = uniqueId("ed");
  const initial = toEditorValue("datetime", value);
  const initialText = typeof initial === "string" ? initial : "";
  const control = h("input", {
    id,
    type: "datetime-local",
    step: 1,
    class: "input input-datetime",
    name: field.name,
    value: initialText,
    testid: `field-${field.name}`,
  });
  const hint = h("p", { class: "hint" });
  const paintHint = (): void => {
    const seconds = localInputToEpoch(control.value);
    hint.textContent =
      seconds === null
        ? `Empty · times are in your time zone (${localZone()})`
        : `${formatEpoch(seconds)} ${localZone()} · ${seconds} s since 1970 (UTC)`;
  };
  const now = button("Now", { size: "sm", variant: "ghost" });
  const clearBtn = button("Clear", { size: "sm", variant: "ghost" });
  const { wrap, error } = shell(
    field,
    h("div", { class: "editor-row" }, control, now, clearBtn),
    id,
    hint,
  );
  const setError = errorSetter(error, () => [control]);
  let touched = false;
  const set = (text: string): void => {
    touched = true;
    control.value = text;
    setError("");
    paintHint();
  };
  now.addEventListener("click", () => {
    const date = new Date();
    date.setMilliseconds(0);
    set(toEditorValue("datetime", Math.floor(date.getTime() / 1000)) as string);
  });
  clearBtn.addEventListener("click", () => set(""));
  control.addEventListener("input", () => {
    touched = true;
    setError("");
    paintHint();
  });
  paintHint();
  // A value the picker cannot show (before year 1, after 9999) stays until replaced.
  const untouchable = (): boolean => !touched && initialText === "" && value !== null;
  return {
    name: field.name,
    wrap,
    read: () =>
      untouchable() ? { ok: true, value } : toApiValue("datetime", control.value),
    // Compared as moments: the input drops ":00" seconds from what it was given.
    changed: () =>
      !untouchable() &&
      localInputToEpoch(control.value) !== localInputToEpoch(initialText),
    setError,
    focus: () => control.focus(),
  };
}

function dataEditor({ field, value }: EditorOptions): Editor {
  const id = uniqueId("ed");
  let current: string | null = typeof value === "string" ? value : null;
  let changed = false;
  const file = h("input", {
    id,
    type: "file",
    class: "sr-only",
    name: field.name,
    testid: `field-${field.name}`,
  });
  const pick = h(
    "label",
    { for: id, class: "btn btn-secondary btn-sm file-btn" },
    icon("upload", 14),
    "Upload file",
  );
  const summary = h("span", { class: "data-summary" });
  const download = h(
    "a",
    {
      class: "btn btn-ghost btn-sm",
      "data-external": "",
      download: `${field.name}.bin`,
      testid: `field-${field.name}-download`,
    },
    icon("download", 14),
    "Download",
  );
  const remove = button("Remove", { size: "sm", variant: "ghost" });
  let url = "";
  const paint = (): void => {
    if (url) URL.revokeObjectURL(url);
    url = "";
    if (current === null) {
      summary.textContent = "Empty";
      summary.classList.add("muted");
      download.hidden = true;
      remove.hidden = true;
      return;
    }
    summary.classList.remove("muted");
    summary.textContent = formatBytes(base64Size(current));
    try {
      url = URL.createObjectURL(new Blob([base64ToBytes(current).slice().buffer]));
      download.href = url;
      download.hidden = false;
    } catch {
      download.hidden = true;
    }
    remove.hidden = false;
  };
  const { wrap, error } = shell(
    field,
    h("div", { class: "editor-row" }, summary, file, pick, download, remove),
    id,
  );
  const setError = errorSetter(error, () => [file]);
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    setError("");
    void chosen.arrayBuffer().then(
      (buffer) => {
        current = bytesToBase64(new Uint8Array(buffer));
        changed = true;
        download.setAttribute("download", chosen.name);
        paint();
        summary.textContent = `${chosen.name} · ${formatBytes(chosen.size)}`;
      },
      () => setError("The file could not be read."),
    );
  });
  remove.addEventListener("click", () => {
    current = null;
    changed = true;
    file.value = "";
    paint();
  });
  paint();
  return {
    name: field.name,
    wrap,
    read: () => toApiValue("data", current),
    changed: () => changed,
    setError,
    focus: () => file.focus(),
  };
}

const parentCache = new Map<string, Promise<Table>>();

/** The parent table of a Belongs To field, fetched once per page load. */
export function parentTable(appId: Id, tableId: number): Promise<Table> {
  const key = `${String(appId)}:${tableId}`;
  let found = parentCache.get(key);
  if (!found) {
    found = tablesApi.get(appId, tableId);
    found.catch(() => parentCache.delete(key));
    parentCache.set(key, found);
  }
  return found;
}

/** Forget cached parent tables (after the structure of a table changed). */
export function forgetParentTables(): void {
  parentCache.clear();
}

function belongsToEditor({ appId, field, value }: EditorOptions): Editor {
  const id = uniqueId("ed");
  const target = field.target;
  const initial = value === null ? null : Number(value);
  let current: number | null = initial;
  const display = h("span", { class: "link-value", id: `${id}-value` });
  const choose = button([icon("search", 14), "Choose…"], {
    id,
    size: "sm",
    testid: `field-${field.name}`,
    "aria-describedby": `${id}-value`,
  });
  const clearBtn = button("Clear", { size: "sm", variant: "ghost" });
  const paint = (label = ""): void => {
    if (current === null) {
      display.replaceChildren(h("span", { class: "muted" }, "No record linked"));
    } else {
      clear(display);
      append(
        display,
        h("span", { class: "mono id-chip" }, `#${current}`),
        label ? h("span", { class: "link-label" }, label) : null,
      );
    }
    clearBtn.hidden = current === null;
  };
  paint();
  if (current !== null && target) {
    const shown = current;
    void Promise.all([
      parentTable(appId, target.id),
      tablesApi.record(appId, target.id, shown),
    ]).then(
      ([parent, record]) => {
        if (current === shown) paint(recordLabel(parent, record));
      },
      () => {
        if (current === shown) paint("(missing)");
      },
    );
  }
  const { wrap, error } = shell(
    field,
    h("div", { class: "editor-row" }, display, choose, clearBtn),
    id,
    target
      ? h("p", { class: "hint" }, `A record of ${target.name}`)
      : h("p", { class: "hint" }, "The linked table is gone"),
  );
  const setError = errorSetter(error, () => [choose]);
  choose.disabled = !target;
  choose.addEventListener("click", () => {
    if (!target) return;
    void pickRecord(appId, target.id, current).then((picked) => {
      if (!picked) return;
      current = picked.id;
      setError("");
      paint(picked.label);
    });
  });
  clearBtn.addEventListener("click", () => {
    current = null;
    paint();
  });
  return {
    name: field.name,
    wrap,
    read: () => ({ ok: true, value: current }),
    changed: () => current !== initial,
    setError,
    focus: () => choose.focus(),
  };
}

/**
 * A dialog to find a record of `tableId`: browse its pages, or search its text fields
 * (or the ID). Resolves to the chosen record's ID and label, or null when cancelled.
 */
export function pickRecord(
  appId: Id,
  tableId: number,
  selected: number | null,
): Promise<{ id: number; label: string } | null> {
  let result: { id: number; label: string } | null = null;
  const body = h("div", { class: "picker" }, h("div", { class: "loading" }, "Loading…"));
  const dialog = openDialog({
    title: "Choose a record",
    body,
    testid: "record-picker",
  });
  dialog.panel.classList.add("dialog-wide");

  void parentTable(appId, tableId).then(
    (table) => {
      const titleEl = dialog.panel.querySelector(".dialog-title");
      if (titleEl) titleEl.textContent = `Choose a record of ${table.name}`;
      const searchable = labelFields(table);
      const fieldSelect = h(
        "select",
        {
          class: "input select",
          "aria-label": "Search in",
          testid: "record-picker-field",
        },
        searchable.map((name) => h("option", { value: name }, name)),
        h("option", { value: table.id_field }, `${table.id_field} (ID)`),
      );
      const search = h("input", {
        class: "input",
        type: "search",
        placeholder: "Search…",
        "aria-label": "Search records",
        autocomplete: "off",
        testid: "record-picker-search",
      });
      const list = h("div", { class: "picker-list", testid: "record-picker-list" });
      const status = h("span", { class: "muted small" });
      const prev = button("Previous", { size: "sm" });
      const next = button("Next", { size: "sm" });
      const pager = new KeysetPager();
      const shown = [
        ...labelFields(table).slice(0, 2),
        ...table.fields
          .filter((f) => f.type !== "string" && f.type !== "text" && f.type !== "data")
          .map((f) => f.name)
          .slice(0, 1),
      ];
      let seq = 0;

      const load = async (): Promise<void> => {
        const mine = ++seq;
        const term = search.value.trim();
        const byId = fieldSelect.value === table.id_field;
        if (byId && term !== "" && !/^\d+$/.test(term)) {
          list.replaceChildren(h("p", { class: "picker-empty" }, "An ID is a number."));
          status.textContent = "";
          prev.disabled = next.disabled = true;
          return;
        }
        status.textContent = "Loading…";
        try {
          const page = await tablesApi.records(appId, tableId, {
            limit: 8,
            after: pager.token,
            ...(term
              ? {
                  filter_field: fieldSelect.value,
                  filter_op: byId ? "eq" : "contains",
                  filter_value: term,
                }
              : {}),
          });
          if (mine !== seq) return;
          pager.learn(page.next);
          prev.disabled = !pager.hasPrevious;
          next.disabled = !pager.hasNext;
          status.textContent = `Page ${pager.page} · ${page.count_exact ? "" : "about "}${page.count.toLocaleString("en")} found`;
          if (page.records.length === 0) {
            list.replaceChildren(
              h(
                "p",
                { class: "picker-empty" },
                term
                  ? `No record matches “${term}”.`
                  : `${table.name} has no records yet.`,
              ),
            );
            return;
          }
          list.replaceChildren(
            ...page.records.map((record) => {
              const recordId = Number(record[table.id_field]);
              const label = recordLabel(table, record);
              const choose = button("Choose", {
                size: "sm",
                variant: recordId === selected ? "primary" : "secondary",
                testid: "record-picker-choose",
                "aria-label": `Choose ${table.id_field} ${recordId}${label ? ` (${label})` : ""}`,
              });
              choose.addEventListener("click", () => {
                result = { id: recordId, label };
                dialog.close();
              });
              return h(
                "div",
                {
                  class: recordId === selected ? "picker-row selected" : "picker-row",
                  testid: "record-picker-row",
                  "data-record-id": recordId,
                },
                h("span", { class: "mono id-chip" }, `#${recordId}`),
                h(
                  "span",
                  { class: "picker-cells" },
                  shown.map((name) => {
                    const field = table.fields.find((f) => f.name === name);
                    const text = field
                      ? formatCell(field.type, record[name] ?? null)
                      : "";
                    return h(
                      "span",
                      { class: "picker-cell" },
                      h("span", { class: "picker-key" }, name),
                      text || h("span", { class: "muted" }, "—"),
                    );
                  }),
                ),
                choose,
              );
            }),
          );
        } catch (error) {
          if (mine !== seq) return;
          list.replaceChildren(
            h(
              "p",
              { class: "form-error", role: "alert" },
              error instanceof ApiError ? error.message : String(error),
            ),
          );
          status.textContent = "";
        }
      };

      let timer = 0;
      search.addEventListener("input", () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => {
          pager.reset();
          void load();
        }, 250);
      });
      fieldSelect.addEventListener("change", () => {
        pager.reset();
        void load();
      });
      prev.addEventListener("click", () => {
        if (pager.back()) void load();
      });
      next.addEventListener("click", () => {
        if (pager.forward()) void load();
      });

      body.replaceChildren(
        h("div", { class: "picker-search" }, fieldSelect, search),
        list,
        h(
          "div",
          { class: "picker-foot" },
          status,
          h("span", { class: "spacer" }),
          prev,
          next,
        ),
      );
      search.focus();
      void load();
    },
    (error: unknown) => {
      body.replaceChildren(errorAlert(error));
    },
  );
  return dialog.closed.then(() => result);
}

/** Read every editor; on a problem, show it beside the field and return null. */
export function collectValues(
  editors: Editor[],
  onlyChanged: boolean,
): TableRecord | null {
  const values: TableRecord = {};
  let ok = true;
  for (const editor of editors) {
    editor.setError("");
    if (onlyChanged && !editor.changed()) continue;
    const read = editor.read();
    if (read.ok) values[editor.name] = read.value;
    else {
      if (ok) editor.focus();
      ok = false;
      editor.setError(read.error);
    }
  }
  return ok ? values : null;
}
