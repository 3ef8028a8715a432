/** Pure parts of the IDE's Insert picker: this app's table aliases, fields and methods. */
import type { Symbols } from "./kscriptApi";

export interface InsertItem {
  kind: "table" | "field" | "method";
  /** What is inserted (without quotes). */
  text: string;
  /** What else the person may search by and sees beside it. */
  detail: string;
  /** The table a field belongs to (for grouping under it). */
  table?: string;
}

/** Tables (each followed by its fields), then methods, in the server's order. */
export function insertItems(symbols: Symbols): InsertItem[] {
  const items: InsertItem[] = [];
  for (const table of symbols.tables) {
    items.push({ kind: "table", text: table.alias, detail: `table ${table.name}` });
    for (const field of table.fields) {
      items.push({
        kind: "field",
        text: field.name,
        detail: `${table.name} · ${field.type}`,
        table: table.alias,
      });
    }
  }
  for (const method of symbols.methods) {
    items.push({
      kind: "method",
      text: method.name,
      detail: method.kind === "kscript" ? "KScript method" : "API method",
    });
  }
  return items;
}

/**
 * Items whose name or detail holds every word of `query` (any case). A table that
 * matches keeps all its fields; a field that matches brings its table along, so a
 * field is never shown without the table it belongs to.
 */
export function filterItems(items: readonly InsertItem[], query: string): InsertItem[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...items];
  const hit = (item: InsertItem): boolean => {
    const hay = `${item.text} ${item.detail}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  };
  const tablesHit = new Set(
    items.filter((i) => i.kind === "table" && hit(i)).map((i) => i.text),
  );
  const tablesOfFields = new Set(
    items.filter((i) => i.kind === "field" && hit(i)).map((i) => i.table ?? ""),
  );
  return items.filter((item) => {
    if (item.kind === "table")
      return tablesHit.has(item.text) || tablesOfFields.has(item.text);
    if (item.kind === "field") return tablesHit.has(item.table ?? "") || hit(item);
    return hit(item);
  });
}

/**
 * Whether the cursor, after `linePrefix` (the line's text before it), sits inside a
 * string literal: quotes opened and not closed, minding backslash escapes.
 */
export function insideString(linePrefix: string): boolean {
  let open: string | null = null;
  for (let i = 0; i < linePrefix.length; i += 1) {
    const c = linePrefix[i];
    if (open) {
      if (c === "\\") i += 1;
      else if (c === open) open = null;
    } else if (c === "'" || c === '"' || c === "`") {
      open = c;
    } else if (c === "/" && linePrefix[i + 1] === "/") {
      return false; // the rest is a comment
    }
  }
  return open !== null;
}

/** The text to insert: bare inside a string (SQL, a filter), else a quoted string. */
export function insertionText(name: string, inString: boolean): string {
  return inString ? name : `'${name}'`;
}

/**
 * Whether the text before the cursor has just opened the quoted first argument of a call
 * that takes one of the app's names: a table alias (K.select / insert / update / delete),
 * a method (K.callAPIMethod, include) or a field (.filter, .sort). The IDE then opens
 * completion at once, as it does after a dot, instead of waiting for Ctrl+Space.
 */
export function opensNameArgument(textBeforeCursor: string): boolean {
  return NAME_ARGUMENT.test(textBeforeCursor);
}

const NAME_ARGUMENT =
  /(?:\bK\s*\.\s*(?:select|insert|update|delete|callAPIMethod)|\binclude|\.\s*(?:filter|sort))\s*\(\s*['"]$/;
