/** Markup of the console's list tables: wrapper, screen-reader caption, header row. */
import { h, type Child } from "./dom";

export interface ColumnHead {
  label: string;
  /** Class of the `<th>` (e.g. "num"). */
  class?: string;
  /** Read to screen readers only. */
  hidden?: boolean;
}

/** The trailing column of row buttons: no visible heading. */
export const ACTIONS_COLUMN: ColumnHead = {
  label: "Actions",
  class: "col-actions",
  hidden: true,
};

export interface DataTableOptions {
  testid: string;
  /** Screen-reader caption; none when left out. */
  caption?: string;
  /** Column headings; `null` / `false` entries are skipped. */
  columns: (string | ColumnHead | null | false)[];
  rows: Child;
  /** Classes added after "table" on the `<table>`. */
  tableClass?: string;
  /** Classes added after "table-wrap" on the wrapper. */
  wrapClass?: string;
}

function columnHead(column: string | ColumnHead): HTMLTableCellElement {
  const head = typeof column === "string" ? { label: column } : column;
  return h(
    "th",
    { scope: "col", class: head.class },
    head.hidden ? h("span", { class: "sr-only" }, head.label) : head.label,
  );
}

/** `div.table-wrap > table.table` with caption, one header row and the given rows. */
export function dataTable(options: DataTableOptions): HTMLDivElement {
  const columns = options.columns.filter(
    (c): c is string | ColumnHead => c !== null && c !== false,
  );
  return h(
    "div",
    { class: options.wrapClass ? `table-wrap ${options.wrapClass}` : "table-wrap" },
    h(
      "table",
      {
        class: options.tableClass ? `table ${options.tableClass}` : "table",
        testid: options.testid,
      },
      options.caption !== undefined
        ? h("caption", { class: "sr-only" }, options.caption)
        : null,
      h("thead", null, h("tr", null, columns.map(columnHead))),
      h("tbody", null, options.rows),
    ),
  );
}
