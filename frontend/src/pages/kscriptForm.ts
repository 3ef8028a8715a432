/** The create / edit-details dialog of a KScript method: title, return type, parameters. */
import { ApiError, type Id } from "../api";
import { formDialog } from "../dialog";
import { button, h, inputField, selectField, uniqueId, withBusy } from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { PARAM_TYPES, type Definition, type Param, type ReturnType } from "../kscriptApi";
import { isParamName, methodName } from "../kscriptLogic";
import { methodRenameNote } from "../renameWarnings";

const RETURN_TYPES: { value: ReturnType; label: string }[] = [
  { value: "objects", label: "Objects (records, lists, any JSON)" },
  { value: "number", label: "Number" },
];

export interface DefinitionDialogOptions {
  title: string;
  submitLabel: string;
  initial?: Definition;
  /** An existing method: warn under the title when a new title renames what clients call. */
  method?: { appId: Id; id: Id };
  /** Saves; an ApiError's field messages are shown beside the fields. */
  submit: (definition: Definition) => Promise<void>;
}

/** Resolves true when saved, false when cancelled. */
export function definitionDialog(options: DefinitionDialogOptions): Promise<boolean> {
  let done = false;
  const initial = options.initial ?? { title: "", return_type: "objects", params: [] };

  const title = inputField({
    label: "Title",
    name: "title",
    value: initial.title,
    testid: "kscript-title",
    autocomplete: "off",
    placeholder: "e.g. Get user by name",
  });
  const preview = h("code", { testid: "kscript-name-preview" });
  const previewLine = h("p", { class: "hint" }, "Clients call it as ", preview);
  title.wrap.insertBefore(previewLine, title.wrap.querySelector(".field-error"));
  const paintPreview = (): void => {
    preview.textContent = methodName(title.input.value) || "…";
  };
  title.input.addEventListener("input", paintPreview);
  paintPreview();
  if (options.method)
    title.wrap.insertBefore(
      methodRenameNote(options.method.appId, options.method.id, title.input),
      title.wrap.querySelector(".field-error"),
    );

  const returnType = selectField({
    label: "Returns",
    name: "return_type",
    options: RETURN_TYPES,
    value: initial.return_type,
    testid: "kscript-return-type",
  });

  interface Row {
    el: HTMLElement;
    name: HTMLInputElement;
    type: HTMLSelectElement;
    error: HTMLElement;
  }
  const rows: Row[] = [];
  const list = h("div", { class: "ks-param-rows", testid: "kscript-params" });
  const empty = h("p", { class: "hint" }, "No input parameters.");
  const paramsError = h("p", {
    class: "field-error",
    hidden: true,
    testid: "kscript-params-error",
  });

  const relabel = (): void => {
    rows.forEach((row, i) => {
      row.name.setAttribute("aria-label", `Parameter ${i + 1} name`);
      row.type.setAttribute("aria-label", `Parameter ${i + 1} type`);
    });
    empty.hidden = rows.length > 0;
  };
  const addRow = (param: Param = { name: "", type: "string" }): Row => {
    const errorId = uniqueId("param-err");
    const name = h("input", {
      class: "input mono",
      value: param.name,
      placeholder: "name",
      autocomplete: "off",
      spellcheck: "false",
      testid: "kscript-param-name",
      "aria-describedby": errorId,
    });
    const type = h(
      "select",
      { class: "input select", testid: "kscript-param-type" },
      PARAM_TYPES.map((t) =>
        h("option", { value: t.value, selected: t.value === param.type }, t.label),
      ),
    );
    const remove = button(icon("close", 14), {
      variant: "ghost",
      size: "sm",
      testid: "kscript-param-remove",
      "aria-label": "Remove parameter",
    });
    const error = h("p", { class: "field-error", id: errorId, hidden: true });
    const el = h("div", { class: "ks-param-row" }, name, type, remove, error);
    const row: Row = { el, name, type, error };
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      el.remove();
      relabel();
    });
    rows.push(row);
    list.appendChild(el);
    relabel();
    return row;
  };
  initial.params.forEach((p) => addRow(p));
  const add = button([icon("plus", 14), "Add parameter"], {
    size: "sm",
    testid: "kscript-add-param",
  });
  add.addEventListener("click", () => addRow().name.focus());

  const params = h(
    "fieldset",
    { class: "field ks-params" },
    h("legend", { class: "label" }, "Input parameters"),
    empty,
    list,
    paramsError,
    h("div", null, add),
  );

  const setParamsError = (message: string): void => {
    paramsError.textContent = message;
    paramsError.hidden = message === "";
  };
  const rowError = (row: Row, message: string): void => {
    row.error.textContent = message;
    row.error.hidden = false;
    row.name.setAttribute("aria-invalid", "true");
  };

  const { dialog, submit, showError, hideError } = formDialog({
    title: options.title,
    testid: "kscript-dialog",
    formClass: "dialog-form",
    fields: [title.wrap, returnType.wrap, params],
    submitLabel: options.submitLabel,
    submitTestid: "kscript-form-submit",
    cancelTestid: "dialog-cancel",
    errorTestid: "kscript-form-error",
    initialFocus: () => title.input,
    onSubmit: () => {
      clearErrors();
      const value = title.input.value.trim();
      let ok = true;
      if (!value) {
        title.setError("Give the method a title.");
        ok = false;
      } else if (!/^[A-Za-z_]/.test(methodName(value))) {
        title.setError("Start the title with a letter.");
        ok = false;
      }
      const seen = new Set<string>();
      for (const row of rows) {
        const name = row.name.value.trim();
        if (!isParamName(name)) {
          rowError(row, "Use letters, digits and _, starting with a letter.");
          ok = false;
        } else if (seen.has(name)) {
          rowError(row, "Another parameter has this name.");
          ok = false;
        }
        seen.add(name);
      }
      if (!ok) return;
      const definition: Definition = {
        title: value,
        return_type: returnType.input.value as ReturnType,
        params: rows.map((row) => ({
          name: row.name.value.trim(),
          type: row.type.value as Param["type"],
        })),
      };
      void withBusy(submit, () => options.submit(definition)).then(
        () => {
          done = true;
          dialog.close();
        },
        (err: unknown) => {
          if (err instanceof ApiError && Object.keys(err.fields).length) {
            title.setError(err.fieldMessage("title"));
            returnType.setError(err.fieldMessage("return_type"));
            setParamsError(err.fieldMessage("params"));
            const other = err.otherFieldMessages(["title", "return_type", "params"]);
            if (other) showError(other);
          } else {
            showError(errorText(err));
          }
        },
      );
    },
  });
  dialog.panel.classList.add("ks-dialog-form");
  const clearErrors = (): void => {
    title.setError("");
    returnType.setError("");
    setParamsError("");
    hideError();
    for (const row of rows) {
      row.error.hidden = true;
      row.name.removeAttribute("aria-invalid");
    }
  };
  return dialog.closed.then(() => done);
}
