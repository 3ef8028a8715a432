/**
 * Monaco for the KScript IDE: the editor features, the JavaScript language with its
 * TypeScript worker, and nothing else (no other languages). Imported lazily by the IDE
 * page only, so the rest of the console does not download it. The workers are bundled
 * by Vite (`?worker`) and served from /static/ like everything else.
 */
import "monaco-editor/features/register.all";
import "monaco-editor/languages/definitions/javascript/register";
import * as monaco from "monaco-editor/editor/editor.api";
import {
  javascriptDefaults,
  ScriptTarget,
} from "monaco-editor/languages/features/typescript/register";
import EditorWorker from "monaco-editor/editor/editor.worker?worker";
import TsWorker from "monaco-editor/languages/features/typescript/ts.worker?worker";
import { loadPrefs, monacoTheme, resolveTheme, type ThemePref } from "./idePrefs";

globalThis.MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    return label === "typescript" || label === "javascript"
      ? new TsWorker()
      : new EditorWorker();
  },
};

javascriptDefaults.setCompilerOptions({
  target: ScriptTarget.ES2020,
  allowNonTsExtensions: true,
  allowJs: true,
  // KScript runs in a bare V8: no DOM, so no `window` or `document` in completion.
  lib: ["es2020"],
});
javascriptDefaults.setDiagnosticsOptions({
  noSemanticValidation: true,
  noSyntaxValidation: false,
  // A script is the body of a function, so a top-level `return` is fine (TS1108).
  diagnosticCodesToIgnore: [1108],
});
javascriptDefaults.setEagerModelSync(true);

let typingsLib: monaco.IDisposable | null = null;
let typingsSource = "";

/** Declares the K API (the server's .d.ts) for completion; replaces earlier typings. */
export function setKTypings(dts: string): void {
  if (dts === typingsSource) return;
  typingsLib?.dispose();
  typingsSource = dts;
  typingsLib = javascriptDefaults.addExtraLib(dts, "file:///kiln/k-api.d.ts");
}

const systemDark = (): boolean =>
  window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;

let themePref: ThemePref = loadPrefs().theme;

/** Monaco's theme for the IDE's theme choice (remembered in this browser). */
export function theme(): string {
  return monacoTheme(resolveTheme(themePref, systemDark()));
}

/** Switches every editor on the page to `pref` ("system" follows the OS as it changes). */
export function applyTheme(pref: ThemePref): "light" | "dark" {
  themePref = pref;
  monaco.editor.setTheme(theme());
  return resolveTheme(pref, systemDark());
}

window
  .matchMedia?.("(prefers-color-scheme: dark)")
  .addEventListener?.("change", () => monaco.editor.setTheme(theme()));

export const EDITOR_OPTIONS: monaco.editor.IStandaloneEditorConstructionOptions = {
  automaticLayout: true,
  fontSize: 13,
  lineHeight: 20,
  minimap: { enabled: false },
  scrollBeyondLastLine: false,
  tabSize: 2,
  renderLineHighlight: "all",
  fixedOverflowWidgets: true,
  padding: { top: 10, bottom: 10 },
};

export { monaco };
