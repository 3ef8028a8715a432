/** Read-only code and diff dialogs of the KScript IDE (Monaco inside a wide dialog). */
import { openDialog, type DialogHandle } from "../dialog";
import { h, type Child } from "../dom";
import type * as MonacoModule from "../monaco";

export type Monaco = typeof MonacoModule;

let seq = 0;

function wideDialog(
  title: string,
  description: Child,
  testid: string,
  footer: Child,
): { dialog: DialogHandle; host: HTMLElement } {
  const host = h("div", { class: "ks-dialog-editor", testid: `${testid}-editor` });
  const dialog = openDialog({ title, description, body: host, footer, testid });
  dialog.panel.classList.add("ks-dialog-wide");
  return { dialog, host };
}

/** A read-only editor showing `code`. */
export function codeDialog(
  m: Monaco,
  options: {
    title: string;
    description?: Child;
    code: string;
    testid: string;
    footer?: Child;
  },
): DialogHandle {
  const { dialog, host } = wideDialog(
    options.title,
    options.description,
    options.testid,
    options.footer,
  );
  seq += 1;
  const model = m.monaco.editor.createModel(
    options.code,
    "javascript",
    m.monaco.Uri.parse(`inmemory://kiln/view-${seq}.js`),
  );
  const editor = m.monaco.editor.create(host, {
    ...m.EDITOR_OPTIONS,
    model,
    readOnly: true,
    theme: m.theme(),
  });
  void dialog.closed.then(() => {
    editor.dispose();
    model.dispose();
  });
  return dialog;
}

/** Side by side: `original` (left) against `modified` (right), both read-only. */
export function diffDialog(
  m: Monaco,
  options: {
    title: string;
    description?: Child;
    original: string;
    modified: string;
    originalLabel: string;
    modifiedLabel: string;
    testid: string;
    footer?: Child;
    /** "javascript" (default) or "plaintext" (an API method's JSON). */
    language?: string;
  },
): DialogHandle {
  const labels = h(
    "div",
    { class: "ks-diff-labels" },
    h("span", { testid: "diff-original-label" }, options.originalLabel),
    h("span", { testid: "diff-modified-label" }, options.modifiedLabel),
  );
  const { dialog, host } = wideDialog(
    options.title,
    h("div", null, options.description, labels),
    options.testid,
    options.footer,
  );
  seq += 1;
  const language = options.language ?? "javascript";
  const original = m.monaco.editor.createModel(
    options.original,
    language,
    m.monaco.Uri.parse(`inmemory://kiln/original-${seq}.js`),
  );
  const modified = m.monaco.editor.createModel(
    options.modified,
    language,
    m.monaco.Uri.parse(`inmemory://kiln/modified-${seq}.js`),
  );
  const diff = m.monaco.editor.createDiffEditor(host, {
    automaticLayout: true,
    fontSize: 13,
    readOnly: true,
    originalEditable: false,
    renderSideBySide: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    theme: m.theme(),
  });
  diff.setModel({ original, modified });
  void dialog.closed.then(() => {
    diff.dispose();
    original.dispose();
    modified.dispose();
  });
  return dialog;
}
