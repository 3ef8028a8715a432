/**
 * Pure helpers of the table pages (no DOM): field type names, values between editors
 * and the API, epoch seconds <-> local date-time, cell text, counts, sorting and the
 * keyset-token bookkeeping of the data browser's pages.
 */
import type { FieldType, FilterOp, OnDelete, RecordValue } from "./tablesApi";

export const FIELD_TYPES: readonly { value: FieldType; label: string; hint: string }[] = [
  { value: "string", label: "String", hint: "Short text, up to 255 characters" },
  { value: "text", label: "Text", hint: "Long text of any length" },
  { value: "integer", label: "Integer", hint: "Whole numbers (64-bit)" },
  { value: "float", label: "Float", hint: "Numbers with decimals" },
  { value: "boolean", label: "Boolean", hint: "true or false" },
  { value: "datetime", label: "DateTime", hint: "A moment, stored as epoch seconds" },
  { value: "data", label: "Data", hint: "Binary data (a file), base64 on the wire" },
  { value: "belongs_to", label: "Belongs To", hint: "A link to a record of a table" },
];

export const ON_DELETE: readonly { value: OnDelete; label: string; hint: string }[] = [
  {
    value: "cascade",
    label: "Cascade",
    hint: "Deleting the parent deletes these records",
  },
  {
    value: "set_empty",
    label: "Set empty",
    hint: "Deleting the parent empties the link",
  },
  {
    value: "prevent",
    label: "Prevent",
    hint: "The parent cannot be deleted while these records exist",
  },
];

export function typeLabel(type: string): string {
  return FIELD_TYPES.find((t) => t.value === type)?.label ?? type;
}

export function onDeleteLabel(value: string | null): string {
  return ON_DELETE.find((o) => o.value === value)?.label ?? "";
}

// ---------------------------------------------------------------- date and time

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, "0");

/**
 * Epoch seconds as the value of an `<input type="datetime-local" step="1">`, in the
 * browser's time zone. Years outside 1–9999 cannot be shown there: "".
 */
export function epochToLocalInput(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  const date = new Date(seconds * 1000);
  const year = date.getFullYear();
  if (Number.isNaN(year) || year < 1 || year > 9999) return "";
  return (
    `${pad(year, 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** The inverse of `epochToLocalInput`; null when the text is not a date-time. */
export function localInputToEpoch(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(
    text.trim(),
  );
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m
    .slice(1)
    .map((part) => Number(part ?? "0"));
  if (
    year === undefined ||
    month === undefined ||
    day === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined
  )
    return null;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59)
    return null;
  const date = new Date(2000, 0, 1, 0, 0, 0, 0);
  // TRICKY: the Date constructor maps years 0-99 to 1900-1999; setFullYear does not.
  date.setFullYear(year, month - 1, day);
  date.setHours(hour, minute, second, 0);
  if (date.getDate() !== day) return null; // 31 February and friends
  return Math.floor(date.getTime() / 1000);
}

const dateTimeFormat = new Intl.DateTimeFormat("en", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** Epoch seconds as readable local time: "Nov 22, 2026, 07:09:03". */
export function formatEpoch(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return `${seconds} s`;
  return dateTimeFormat.format(date);
}

/** Epoch seconds as compact local time for grid cells: "2026-11-22 07:09:03". */
export function formatEpochShort(seconds: number | null): string {
  const text = epochToLocalInput(seconds);
  return text ? text.replace("T", " ") : formatEpoch(seconds);
}

/** The browser's time zone, for labels ("Europe/Paris"). */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
}

// ---------------------------------------------------------------- data

/** Bytes held by a base64 string. */
export function base64Size(b64: string): number {
  const clean = b64.replace(/\s/g, "");
  if (!clean) return 0;
  const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.floor((clean.length * 3) / 4) - padding;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? "" : "s"}`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export function base64ToBytes(b64: string): Uint8Array {
  const binary = atob(b64.replace(/\s/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// ---------------------------------------------------------------- editor values

/** What an editor holds: text for inputs, a boolean for the switch. */
export type EditorValue = string | boolean | null;

export type Converted = { ok: true; value: RecordValue } | { ok: false; error: string };

/** An API value as an editor value. */
export function toEditorValue(type: FieldType, value: RecordValue): EditorValue {
  if (type === "boolean") return value === null ? null : Boolean(value);
  if (value === null) return type === "data" || type === "belongs_to" ? null : "";
  if (type === "datetime") return epochToLocalInput(Number(value));
  return String(value);
}

/** An editor value as what the API expects, or the message to show beside the field. */
export function toApiValue(type: FieldType, value: EditorValue): Converted {
  if (type === "boolean") {
    return { ok: true, value: value === null ? null : Boolean(value) };
  }
  if (value === null || typeof value === "boolean") return { ok: true, value: null };
  if (type === "string" || type === "text") {
    if (type === "string" && value.length > 255)
      return {
        ok: false,
        error: `Keep it to 255 characters or fewer (this is ${value.length}); use a Text field for more.`,
      };
    return { ok: true, value };
  }
  if (type === "data") return { ok: true, value: value === "" ? null : value };
  const text = value.trim();
  if (text === "") return { ok: true, value: null };
  if (type === "integer" || type === "belongs_to") {
    if (!/^[+-]?\d+$/.test(text)) return { ok: false, error: "Enter a whole number." };
    const number = Number(text);
    // Beyond 2^53 a JS number loses digits; the API reads digits in a string exactly.
    return { ok: true, value: Number.isSafeInteger(number) ? number : text };
  }
  if (type === "float") {
    const number = Number(text);
    if (!Number.isFinite(number) || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text))
      return { ok: false, error: "Enter a number, like 3.14." };
    return { ok: true, value: number };
  }
  // datetime
  const seconds = localInputToEpoch(text);
  if (seconds === null) return { ok: false, error: "Pick a date and a time." };
  return { ok: true, value: seconds };
}

// ---------------------------------------------------------------- grid cells

/** Text for a grid cell; "" for an empty value (the grid shows it dimmed). */
export function formatCell(type: FieldType, value: RecordValue): string {
  if (value === null || value === undefined) return "";
  switch (type) {
    case "boolean":
      return value ? "true" : "false";
    case "datetime":
      return formatEpochShort(Number(value));
    case "data":
      return formatBytes(base64Size(String(value)));
    case "belongs_to":
      return `#${String(value)}`;
    case "text":
    case "string": {
      const text = String(value);
      const line = text.split("\n", 1)[0] ?? "";
      return line.length > 120 || line.length < text.length
        ? `${line.slice(0, 120)}…`
        : line;
    }
    default:
      return String(value);
  }
}

/** "1,523 records", "about 1,000,000 records" or "10,000+ records". */
export function countLabel(count: number, exact: boolean, filtered: boolean): string {
  const n = count.toLocaleString("en");
  const noun = count === 1 && exact ? "record" : "records";
  if (exact) return `${n} ${noun}`;
  return filtered ? `${n}+ ${noun}` : `about ${n} ${noun}`;
}

// ---------------------------------------------------------------- sorting and filters

export interface SortState {
  field: string;
  direction: "asc" | "desc";
}

/** Clicking a header: the same column flips direction, another one sorts ascending. */
export function nextSort(current: SortState, clicked: string): SortState {
  if (current.field === clicked)
    return { field: clicked, direction: current.direction === "asc" ? "desc" : "asc" };
  return { field: clicked, direction: "asc" };
}

export const FILTER_OPS: readonly { value: FilterOp; label: string }[] = [
  { value: "eq", label: "equals" },
  { value: "ne", label: "does not equal" },
  { value: "in", label: "is one of" },
  { value: "contains", label: "contains" },
  { value: "starts", label: "starts with" },
  { value: "lt", label: "is less than" },
  { value: "lte", label: "is at most" },
  { value: "gt", label: "is greater than" },
  { value: "gte", label: "is at least" },
  { value: "is_null", label: "is empty" },
  { value: "not_null", label: "is not empty" },
];

/** The operators that make sense for a field type. */
export function filterOpsFor(type: FieldType): FilterOp[] {
  switch (type) {
    case "string":
    case "text":
      return ["contains", "eq", "ne", "in", "starts", "lt", "gt", "is_null", "not_null"];
    case "boolean":
      return ["eq", "ne", "is_null", "not_null"];
    case "data":
      return ["is_null", "not_null"];
    case "datetime":
      return ["eq", "ne", "lt", "lte", "gt", "gte", "is_null", "not_null"];
    default:
      return ["eq", "ne", "in", "lt", "lte", "gt", "gte", "is_null", "not_null"];
  }
}

export function opNeedsValue(op: FilterOp): boolean {
  return op !== "is_null" && op !== "not_null";
}

/**
 * The values typed for an "is one of" filter as the API's one CSV line: spaces around a
 * value are dropped (`a, b` means `a` and `b`), a value in double quotes is kept as it is
 * and may hold commas (`"Smith, J", Lee`).
 */
export function valueListForApi(raw: string): Converted {
  const values: string[] = [];
  let i = 0;
  for (;;) {
    while (raw[i] === " " || raw[i] === "\t") i++;
    let value = "";
    if (raw[i] === '"') {
      i++;
      for (;;) {
        if (i >= raw.length) return { ok: false, error: "Close the quote you opened." };
        if (raw[i] === '"' && raw[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (raw[i] === '"') {
          i++;
          break;
        } else value += raw[i++];
      }
      while (raw[i] === " " || raw[i] === "\t") i++;
      if (i < raw.length && raw[i] !== ",")
        return { ok: false, error: "Put a comma after a quoted value." };
    } else {
      const end = raw.indexOf(",", i);
      value = raw.slice(i, end < 0 ? raw.length : end).trim();
      i = end < 0 ? raw.length : end;
    }
    if (value === "")
      return { ok: false, error: "Give the values separated by commas, none empty." };
    values.push(value);
    if (i >= raw.length) break;
    i++; // the comma
  }
  const cells = values.map((v) =>
    /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v,
  );
  return { ok: true, value: cells.join(",") };
}

/** A filter input as the API's CSV-style value; DateTime pickers become epoch seconds. */
export function filterValueForApi(
  type: FieldType,
  raw: string,
  op: FilterOp = "eq",
): Converted {
  if (op === "in") return valueListForApi(raw);
  if (type === "datetime") {
    if (/^[+-]?\d+$/.test(raw.trim())) return { ok: true, value: raw.trim() };
    const seconds = localInputToEpoch(raw);
    if (seconds === null) return { ok: false, error: "Pick a date and a time." };
    return { ok: true, value: String(seconds) };
  }
  if (type === "boolean") return { ok: true, value: raw === "true" ? "true" : "false" };
  return { ok: true, value: raw };
}

// ---------------------------------------------------------------- paging

/**
 * Keyset paging: page 1 is fetched without a token, page n+1 with the `next` token
 * that page n answered. Tokens of pages already seen are kept, so "previous" (and
 * "next" again) cost one request each at any depth.
 */
export class KeysetPager {
  private tokens: (string | null)[] = [null];
  private index = 0;

  /** The `after` token that fetches the current page (null for the first). */
  get token(): string | null {
    return this.tokens[this.index] ?? null;
  }

  /** 1-based number of the current page. */
  get page(): number {
    return this.index + 1;
  }

  get hasPrevious(): boolean {
    return this.index > 0;
  }

  /** Records the current page's `next` token; null on the last page. */
  learn(next: string | null): void {
    const known = this.tokens[this.index + 1];
    if (known !== undefined && known !== next) {
      // The data changed under us: later tokens no longer follow from this page.
      this.tokens = this.tokens.slice(0, this.index + 1);
    }
    if (next !== null) this.tokens[this.index + 1] = next;
  }

  get hasNext(): boolean {
    return this.tokens[this.index + 1] !== undefined;
  }

  /** Moves to the next page; false when no token is known for it. */
  forward(): boolean {
    if (!this.hasNext) return false;
    this.index += 1;
    return true;
  }

  back(): boolean {
    if (!this.hasPrevious) return false;
    this.index -= 1;
    return true;
  }

  /** Back to page 1, forgetting every token (sort, filter or page size changed). */
  reset(): void {
    this.tokens = [null];
    this.index = 0;
  }

  /** 1-based numbers of the first and last rows shown, for "Rows 51–100". */
  rowRange(pageSize: number, rowsOnPage: number): { from: number; to: number } {
    const from = rowsOnPage === 0 ? 0 : this.index * pageSize + 1;
    return { from, to: rowsOnPage === 0 ? 0 : this.index * pageSize + rowsOnPage };
  }
}

// ---------------------------------------------------------------- records

interface LabelledTable {
  id_field: string;
  fields: { name: string; type: FieldType }[];
}

/** The fields that describe a record to a person: its String fields, then Text. */
export function labelFields(table: LabelledTable): string[] {
  const strings = table.fields.filter((f) => f.type === "string").map((f) => f.name);
  const texts = table.fields.filter((f) => f.type === "text").map((f) => f.name);
  return [...strings, ...texts];
}

/** "Beach" for a photo titled so; "" when the record has no text to show. */
export function recordLabel(
  table: LabelledTable,
  record: Record<string, RecordValue>,
): string {
  for (const name of labelFields(table)) {
    const value = record[name];
    if (typeof value === "string" && value.trim() !== "") {
      const line = value.trim().split("\n", 1)[0] ?? "";
      return line.length > 60 ? `${line.slice(0, 60)}…` : line;
    }
  }
  return "";
}

// ---------------------------------------------------------------- parent labels

/** The most values one `in` filter may carry (the API refuses more). */
export const MAX_IN_VALUES = 500;

interface LinkColumn {
  type: FieldType;
  targetId?: number;
  name: string;
}

/**
 * The parent IDs a page of records links to, per parent table: each ID once, in
 * order, in chunks of at most MAX_IN_VALUES — one `in` request per chunk, never one
 * per row.
 */
export function parentIdChunks(
  columns: readonly LinkColumn[],
  records: readonly Record<string, RecordValue>[],
  size = MAX_IN_VALUES,
): Map<number, number[][]> {
  const ids = new Map<number, Set<number>>();
  for (const column of columns) {
    if (column.type !== "belongs_to" || column.targetId === undefined) continue;
    const seen = ids.get(column.targetId) ?? new Set<number>();
    ids.set(column.targetId, seen);
    for (const record of records) {
      const value = record[column.name];
      if (value === null || value === undefined || value === "") continue;
      const id = Number(value);
      if (Number.isSafeInteger(id)) seen.add(id);
    }
  }
  const chunks = new Map<number, number[][]>();
  for (const [targetId, seen] of ids) {
    const sorted = [...seen].sort((a, b) => a - b);
    const parts: number[][] = [];
    for (let i = 0; i < sorted.length; i += size) parts.push(sorted.slice(i, i + size));
    if (parts.length) chunks.set(targetId, parts);
  }
  return chunks;
}

/** Each parent record's label by its ID; records without text to show are left out. */
export function labelsById(
  table: LabelledTable,
  records: readonly Record<string, RecordValue>[],
): Map<number, string> {
  const labels = new Map<number, string>();
  for (const record of records) {
    const label = recordLabel(table, record);
    if (label) labels.set(Number(record[table.id_field]), label);
  }
  return labels;
}

// ---------------------------------------------------------------- indexes and CSV

interface IndexedTable {
  fields: { name: string; type: FieldType; target: { name: string } | null }[];
}

/** Why an automatic index exists: "For the Belongs To link photo → photos". */
export function automaticIndexNote(
  table: IndexedTable,
  index: { fields: string[] },
): string {
  const field = table.fields.find((f) => f.name === index.fields[0]);
  if (index.fields.length === 1 && field?.type === "belongs_to")
    return `For the Belongs To link ${field.name} → ${field.target?.name ?? "?"}; goes with the field`;
  return "Made by the database; goes with its field";
}

/** The raw text of each failing preview cell, keyed "row:field" (field lower-cased). */
export function badCellValues(
  errors: readonly { row: number | null; field: string | null; value?: string | null }[],
): Map<string, string> {
  const found = new Map<string, string>();
  for (const e of errors) {
    if (e.row === null || e.field === null || e.value === null || e.value === undefined)
      continue;
    found.set(`${e.row}:${e.field.toLowerCase()}`, e.value);
  }
  return found;
}
