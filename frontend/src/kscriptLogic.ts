/** Pure parts of the KScript IDE: names, error locations, parameter values, save failures. */
import { ApiError } from "./api";
import { RevisionConflict, type ParamType, type Revision } from "./kscriptApi";
import { errorText, formatDateTime } from "./format";

/**
 * The name clients call, as the server derives it from the title (apimethods/naming.py):
 * split on anything but letters, digits and _, lower the first letter of the first
 * word, capitalise the first letter of the others, keep the rest as typed.
 */
export function methodName(title: string): string {
  const parts = title
    .trim()
    .split(/[^A-Za-z0-9_]+/)
    .filter(Boolean);
  const [first, ...rest] = parts;
  if (first === undefined) return "";
  return (
    first.charAt(0).toLowerCase() +
    first.slice(1) +
    rest.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("")
  );
}

/** Parameter names the server accepts. */
export function isParamName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(name);
}

export interface CodeLocation {
  line: number;
  column: number;
  message: string;
}

/** "Line 2, column 9: Unexpected token" (the server's syntax error) -> its parts. */
export function parseCodeError(text: string): CodeLocation | null {
  const match = /^Line (\d+), column (\d+): ([\s\S]*)$/.exec(text.trim());
  if (!match) return null;
  return { line: Number(match[1]), column: Number(match[2]), message: match[3] ?? "" };
}

export type ParamValue = string | number | boolean | null;

/**
 * A Run It! input as the value to send. Empty means "not passed" (null); anything that
 * would not survive the server's coercion is refused here with a readable message.
 * Integers go as strings so values beyond 2^53 keep every digit.
 */
export function convertParamValue(
  type: ParamType,
  raw: string | boolean,
): { value: ParamValue } | { error: string } {
  if (type === "boolean") {
    if (typeof raw === "boolean") return { value: raw };
    const text = raw.trim().toLowerCase();
    if (text === "") return { value: null };
    if (["1", "true", "yes"].includes(text)) return { value: true };
    if (["0", "false", "no"].includes(text)) return { value: false };
    return { error: "Enter true or false." };
  }
  const text = String(raw);
  if (type === "string" || type === "text") return { value: text === "" ? null : text };
  const trimmed = text.trim();
  if (trimmed === "") return { value: null };
  switch (type) {
    case "integer":
      return /^[+-]?\d{1,19}$/.test(trimmed)
        ? { value: trimmed }
        : { error: "Enter a whole number." };
    case "float": {
      const number = Number(trimmed);
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) &&
        Number.isFinite(number)
        ? { value: number }
        : { error: "Enter a number." };
    }
    case "datetime": {
      // <input type="datetime-local"> gives local wall time; send epoch seconds.
      if (/^[+-]?\d+(\.\d+)?$/.test(trimmed)) return { value: Number(trimmed) };
      const date = new Date(trimmed);
      return Number.isNaN(date.getTime())
        ? { error: "Enter a date and time." }
        : { value: date.getTime() / 1000 };
    }
    case "data": {
      const compact = trimmed.replace(/\s+/g, "");
      return /^[A-Za-z0-9+/_-]*={0,2}$/.test(compact) && compact.length % 4 !== 1
        ? { value: compact }
        : { error: "Enter base64-encoded data." };
    }
  }
}

/** Converts every input; `errors` names the parameters that did not convert. */
export function convertParams(
  params: readonly { name: string; type: ParamType }[],
  raw: Record<string, string | boolean>,
): { values: Record<string, ParamValue>; errors: Record<string, string> } {
  const values: Record<string, ParamValue> = {};
  const errors: Record<string, string> = {};
  for (const param of params) {
    const result = convertParamValue(param.type, raw[param.name] ?? "");
    if ("error" in result) errors[param.name] = result.error;
    else if (result.value !== null) values[param.name] = result.value;
  }
  return { values, errors };
}

/** What a failed save means for the editor. */
export type SaveFailure<R = Revision> =
  /** Someone saved a newer revision: ask the person what to do; stop autosaving. */
  | { kind: "conflict"; theirs: R; message: string }
  /** The server refused the content (syntax error, bad title): fix and save again. */
  | { kind: "invalid"; message: string; location: CodeLocation | null }
  /** Network or server trouble: keep the text and try again later. */
  | { kind: "retry"; message: string };

export function classifySaveError(error: unknown): SaveFailure {
  if (error instanceof RevisionConflict) {
    return { kind: "conflict", theirs: error.theirs, message: error.message };
  }
  if (error instanceof ApiError && error.status === 400) {
    const code = error.fieldMessage("code");
    const location = code ? parseCodeError(code) : null;
    const message = location
      ? `Line ${location.line}, column ${location.column}: ${location.message}`
      : error.message;
    return { kind: "invalid", message, location };
  }
  if (error instanceof ApiError) return { kind: "retry", message: error.message };
  return {
    kind: "retry",
    message: errorText(error),
  };
}

/** "10:42" for today, "Nov 3, 10:42" this year: the console's shared format, short. */
export function formatSavedAt(iso: string, now: Date = new Date()): string {
  return formatDateTime(iso, { short: true, now });
}

/** Whether the live deployment runs what the latest revision holds. */
export function deployState(
  latest: number,
  deployed: number | null,
): "not-deployed" | "live" | "changed" {
  if (deployed === null) return "not-deployed";
  return deployed === latest ? "live" : "changed";
}

/** A side of a comparison in the history: a revision number, or the editor's text. */
export type CompareSide = number | "current";

/**
 * What the history's Compare starts with: the revision before the one the text is
 * based on against the editor's text — or, with nothing unsaved, the two newest.
 */
export function defaultComparison(
  revisions: readonly number[],
  base: number,
  dirty: boolean,
): { from: CompareSide; to: CompareSide } {
  const sorted = [...revisions].sort((a, b) => b - a);
  if (dirty) return { from: base, to: "current" };
  const older = sorted.find((n) => n < base);
  return { from: older ?? base, to: base };
}

/** "Revision 3" or "Your text", as the comparison's labels say. */
export function sideLabel(side: CompareSide, dirty: boolean, base: number): string {
  if (side !== "current") return `Revision ${side}`;
  return dirty ? "Your text (not a revision yet)" : `Your text (revision ${base})`;
}
