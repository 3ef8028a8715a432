/**
 * /apps/<id>/tables/<table>/data: the data browser — a server-paged, server-sorted grid
 * with one filter, and the record dialog (add / edit / delete with per-type editors).
 * Pages are fetched with keyset tokens, so it never loads a whole table.
 */
import { ApiError } from "../api";
import { forgetParentTables, parentTable } from "../editors";
import type { PageContext } from "../context";
import { button, emptyState, h } from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import {
  tablesApi,
  type FieldType,
  type FilterOp,
  type RecordPage,
  type Table,
  type TableRecord,
} from "../tablesApi";
import {
  base64ToBytes,
  countLabel,
  FILTER_OPS,
  filterOpsFor,
  filterValueForApi,
  formatCell,
  formatEpoch,
  KeysetPager,
  labelFields,
  labelsById,
  nextSort,
  opNeedsValue,
  parentIdChunks,
  typeLabel,
  type SortState,
} from "../tableValues";
import { csvImportDialog } from "./csvImport";
import { deleteRecord, recordDialog, type RecordContext } from "./recordDialog";
import {
  pageTableId,
  setTableCrumbs,
  startTablesAreaPage,
  tableDataPath,
  tableHeader,
} from "./tables";

const PAGE_SIZES = [25, 50, 100, 200, 500];

interface Column {
  name: string;
  type: FieldType;
  system: boolean;
  targetId?: number;
}

interface Filter {
  field: string;
  op: FilterOp;
  value: string;
}

/** Saves a Data value as a file (the blob exists only for the click). */
function downloadBase64(b64: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([base64ToBytes(b64).slice().buffer]));
  const link = h("a", { href: url, download: filename, "data-external": "" });
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function columnsOf(table: Table): Column[] {
  return [
    { name: table.id_field, type: "integer", system: true },
    ...table.fields.map((f) => ({
      name: f.name,
      type: f.type,
      system: false,
      targetId: f.target?.id,
    })),
    { name: "timeCreated", type: "datetime" as const, system: true },
    { name: "timeUpdated", type: "datetime" as const, system: true },
  ];
}

export async function dataBrowserPage(ctx: PageContext): Promise<void> {
  const app = await startTablesAreaPage(ctx, "Data", "Loading table…");
  const tableId = pageTableId(ctx);
  const table = await tablesApi.get(app.id, tableId, ctx.signal);
  if (ctx.signal.aborted) return;
  ctx.setTitle(`${table.name} data · ${app.name}`);
  setTableCrumbs(ctx, app, table);

  forgetParentTables();
  const columns = columnsOf(table);
  const records: RecordContext = { app, table, onChange: () => void load() };
  const pager = new KeysetPager();
  let sort: SortState = { field: table.id_field, direction: "asc" };
  let pageSize = 50;
  let filter: Filter | null = null;
  const q = ctx.query;
  const fromUrl = columns.find((c) => c.name === q.get("filter_field"));
  if (fromUrl) {
    filter = {
      field: fromUrl.name,
      op: (q.get("filter_op") as FilterOp | null) ?? "eq",
      value: q.get("filter_value") ?? "",
    };
  }
  const sortFromUrl = columns.find((c) => c.name === q.get("sort"));
  if (sortFromUrl) {
    sort = {
      field: sortFromUrl.name,
      direction: q.get("direction") === "desc" ? "desc" : "asc",
    };
  }
  let page: RecordPage | null = null;
  let seq = 0;
  // "parentTable:id" → label; the grid's label spans, refilled when labels arrive.
  const parentLabels = new Map<string, string>();
  let labelSlots: { key: string; el: HTMLElement }[] = [];
  const labelKey = (targetId: number, id: unknown): string => `${targetId}:${String(id)}`;

  // --- chrome ------------------------------------------------------------------------
  const exportLink = h(
    "a",
    {
      href: tablesApi.csvUrl(app.id, table.id),
      class: "btn btn-secondary",
      download: `${table.alias}.csv`,
      "data-external": "",
      testid: "export-csv",
    },
    icon("download", 14),
    "Export CSV",
  );
  const importBtn = button([icon("upload", 14), "Import CSV"], { testid: "import-csv" });
  importBtn.addEventListener("click", () => {
    csvImportDialog(app, table, () => {
      pager.reset();
      void load();
    });
  });
  const addBtn = button([icon("plus", 14), "Add record"], {
    variant: "primary",
    testid: "add-record",
  });
  addBtn.addEventListener("click", () => recordDialog(records, null));

  const grid = h("div", { class: "grid-scroll", testid: "grid-scroll" });
  const countEl = h("span", { class: "grid-count", testid: "grid-count" });
  const rangeEl = h("span", { class: "muted", testid: "grid-range" });
  const first = button(icon("chevronLeft", 14), {
    size: "sm",
    "aria-label": "First page",
    title: "First page",
    class: "btn-icon",
    testid: "page-first",
  });
  const prev = button([icon("chevronLeft", 14), "Previous"], {
    size: "sm",
    testid: "page-prev",
  });
  const next = button(["Next", icon("chevronRight", 14)], {
    size: "sm",
    testid: "page-next",
  });
  const sizeSelect = h(
    "select",
    { class: "input select select-sm", id: "page-size", testid: "page-size" },
    PAGE_SIZES.map((n) => h("option", { value: n, selected: n === pageSize }, String(n))),
  );
  first.addEventListener("click", () => {
    pager.reset();
    void load();
  });
  prev.addEventListener("click", () => {
    if (pager.back()) void load();
  });
  next.addEventListener("click", () => {
    if (pager.forward()) void load();
  });
  sizeSelect.addEventListener("change", () => {
    pageSize = Number(sizeSelect.value);
    pager.reset();
    void load();
  });

  const filterBar = buildFilterBar();

  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page page-full" },
      tableHeader(app, table, "data", [exportLink, importBtn, addBtn]),
      h(
        "section",
        { class: "card grid-card", "aria-label": `Records of ${table.name}` },
        h("div", { class: "grid-toolbar" }, filterBar.el, countEl),
        grid,
        h(
          "div",
          { class: "grid-footer" },
          rangeEl,
          h("span", { class: "spacer" }),
          h("label", { for: "page-size", class: "muted small" }, "Rows per page"),
          sizeSelect,
          first,
          prev,
          next,
        ),
      ),
    ),
  );

  // --- filter ---------------------------------------------------------------------------
  function buildFilterBar(): { el: HTMLElement } {
    const fieldSelect = h(
      "select",
      {
        class: "input select select-sm",
        "aria-label": "Filter field",
        testid: "filter-field",
      },
      columns.map((c) => h("option", { value: c.name }, c.name)),
    );
    const opSelect = h("select", {
      class: "input select select-sm",
      "aria-label": "Filter operator",
      testid: "filter-op",
    });
    const valueHost = h("span", { class: "filter-value" });
    let valueInput: HTMLInputElement | HTMLSelectElement = h("input");
    const apply = button("Filter", {
      size: "sm",
      type: "submit",
      testid: "filter-apply",
    });
    const clearBtn = button("Clear", {
      size: "sm",
      variant: "ghost",
      testid: "filter-clear",
    });
    const error = h("span", {
      class: "field-error",
      hidden: true,
      testid: "filter-error",
    });
    const column = (): Column =>
      columns.find((c) => c.name === fieldSelect.value) ?? (columns[0] as Column);

    const paintOps = (keep?: FilterOp): void => {
      const ops = filterOpsFor(column().type);
      opSelect.replaceChildren(
        ...ops.map((op) =>
          h("option", { value: op }, FILTER_OPS.find((o) => o.value === op)?.label ?? op),
        ),
      );
      opSelect.value = keep && ops.includes(keep) ? keep : (ops[0] ?? "eq");
    };
    const placeholderFor = (): string =>
      opSelect.value === "in" ? "values, separated by commas" : "value";
    const paintValue = (value = ""): void => {
      const col = column();
      if (col.type === "boolean") {
        valueInput = h(
          "select",
          {
            class: "input select select-sm",
            "aria-label": "Filter value",
            testid: "filter-value",
          },
          h("option", { value: "true" }, "true"),
          h("option", { value: "false" }, "false"),
        );
        valueInput.value = value === "false" ? "false" : "true";
      } else {
        valueInput = h("input", {
          class: col.type === "datetime" ? "input input-sm" : "input input-sm mono",
          type: col.type === "datetime" ? "datetime-local" : "text",
          step: col.type === "datetime" ? 1 : undefined,
          placeholder: col.type === "datetime" ? undefined : placeholderFor(),
          "aria-label": "Filter value",
          testid: "filter-value",
          value,
        });
      }
      valueHost.replaceChildren(valueInput);
      valueHost.hidden = !opNeedsValue(opSelect.value as FilterOp);
    };
    fieldSelect.addEventListener("change", () => {
      paintOps(opSelect.value as FilterOp);
      paintValue();
    });
    opSelect.addEventListener("change", () => {
      valueHost.hidden = !opNeedsValue(opSelect.value as FilterOp);
      if (valueInput instanceof HTMLInputElement && valueInput.type === "text")
        valueInput.placeholder = placeholderFor();
    });
    const form = h(
      "form",
      { class: "filter-bar", novalidate: true, "aria-label": "Filter records" },
      h("span", { class: "filter-label muted" }, icon("search", 14), "Where"),
      fieldSelect,
      opSelect,
      valueHost,
      apply,
      clearBtn,
      error,
    );
    const initial = filter ?? {
      field:
        columns.find((c) => c.type === "string")?.name ??
        columns.find((c) => c.type === "text")?.name ??
        table.id_field,
      op: "eq" as FilterOp,
      value: "",
    };
    fieldSelect.value = initial.field;
    paintOps(filter ? initial.op : undefined);
    paintValue(
      filter && column().type === "datetime" && /^-?\d+$/.test(initial.value)
        ? ""
        : initial.value,
    );
    clearBtn.hidden = filter === null;
    form.addEventListener("submit", (event: Event) => {
      event.preventDefault();
      error.hidden = true;
      const op = opSelect.value as FilterOp;
      let value = "";
      if (opNeedsValue(op)) {
        const converted = filterValueForApi(column().type, valueInput.value, op);
        if (!converted.ok) {
          error.textContent = converted.error;
          error.hidden = false;
          return;
        }
        value = String(converted.value);
      }
      filter = { field: column().name, op, value };
      clearBtn.hidden = false;
      pager.reset();
      void load();
    });
    clearBtn.addEventListener("click", () => {
      filter = null;
      error.hidden = true;
      clearBtn.hidden = true;
      paintValue();
      pager.reset();
      void load();
    });
    return { el: form };
  }

  // --- the URL keeps the sort and filter (reload and Back show the same rows) ----------
  function filterQuery(): URLSearchParams {
    const params = new URLSearchParams();
    if (filter) {
      params.set("filter_field", filter.field);
      params.set("filter_op", filter.op);
      if (opNeedsValue(filter.op)) params.set("filter_value", filter.value);
    }
    return params;
  }

  function syncUrl(): void {
    const params = filterQuery();
    if (sort.field !== table.id_field || sort.direction !== "asc") {
      params.set("sort", sort.field);
      params.set("direction", sort.direction);
    }
    const search = params.toString();
    const target = `${window.location.pathname}${search ? `?${search}` : ""}`;
    if (target !== `${window.location.pathname}${window.location.search}`) {
      // Replace, not push: each click on a column is not a step for Back to undo.
      window.history.replaceState(window.history.state, "", target);
    }
    // The export holds what the grid shows: the same filter.
    const exportQuery = filterQuery().toString();
    exportLink.setAttribute(
      "href",
      `${tablesApi.csvUrl(app.id, table.id)}${exportQuery ? `?${exportQuery}` : ""}`,
    );
  }

  // --- loading and drawing --------------------------------------------------------------
  async function load(): Promise<void> {
    const mine = ++seq;
    syncUrl();
    grid.setAttribute("aria-busy", "true");
    grid.classList.add("is-loading");
    prev.disabled = next.disabled = first.disabled = true;
    try {
      const answer = await tablesApi.records(
        app.id,
        table.id,
        {
          sort: sort.field,
          direction: sort.direction,
          limit: pageSize,
          after: pager.token,
          ...(filter
            ? {
                filter_field: filter.field,
                filter_op: filter.op,
                filter_value: opNeedsValue(filter.op) ? filter.value : undefined,
              }
            : {}),
        },
        ctx.signal,
      );
      if (mine !== seq || ctx.signal.aborted) return;
      page = answer;
      pager.learn(answer.next);
      draw();
      void loadParentLabels(mine, answer.records);
    } catch (error) {
      if (mine !== seq || ctx.signal.aborted) return;
      if (error instanceof DOMException && error.name === "AbortError") return;
      const message =
        error instanceof ApiError && Object.keys(error.fields).length
          ? Object.values(error.fields).flat().join(" ")
          : errorText(error);
      grid.replaceChildren(
        h(
          "div",
          { class: "grid-empty", role: "alert", testid: "grid-error" },
          h("p", { class: "form-error" }, message),
        ),
      );
      countEl.textContent = "";
      prev.disabled = !pager.hasPrevious;
      first.disabled = !pager.hasPrevious;
    } finally {
      if (mine === seq) {
        grid.removeAttribute("aria-busy");
        grid.classList.remove("is-loading");
      }
    }
  }

  function draw(): void {
    if (!page) return;
    const records = page.records;
    countEl.textContent = countLabel(page.count, page.count_exact, filter !== null);
    if (!filter) {
      const headCount = ctx.main.querySelector('[data-testid="table-count"]');
      if (headCount)
        headCount.textContent = countLabel(page.count, page.count_exact, false);
    }
    const { from, to } = pager.rowRange(pageSize, records.length);
    rangeEl.textContent =
      records.length === 0
        ? `Page ${pager.page}`
        : from === to
          ? `Row ${from.toLocaleString("en")} · page ${pager.page}`
          : `Rows ${from.toLocaleString("en")}–${to.toLocaleString("en")} · page ${pager.page}`;
    prev.disabled = !pager.hasPrevious;
    first.disabled = !pager.hasPrevious;
    next.disabled = !pager.hasNext;

    if (records.length === 0) {
      grid.replaceChildren(noRecords());
      return;
    }
    const head = h(
      "tr",
      null,
      columns.map((c) => {
        const active = sort.field === c.name;
        const sortBtn = h(
          "button",
          {
            type: "button",
            class: "sort-btn",
            testid: "sort",
            "data-field": c.name,
            title: `${typeLabel(c.type)}${c.system ? " · system field" : ""} — click to sort`,
          },
          h("span", { class: c.system ? "col-name system" : "col-name" }, c.name),
          c.system ? null : h("span", { class: "col-type" }, typeLabel(c.type)),
          active
            ? icon(sort.direction === "asc" ? "arrowUp" : "arrowDown", 12)
            : h("span", { class: "sort-placeholder" }),
        );
        sortBtn.addEventListener("click", () => {
          sort = nextSort(sort, c.name);
          pager.reset();
          void load();
        });
        return h(
          "th",
          {
            scope: "col",
            class: `col-${c.type}${active ? " sorted" : ""}`,
            "aria-sort": active
              ? sort.direction === "asc"
                ? "ascending"
                : "descending"
              : "none",
          },
          sortBtn,
        );
      }),
      h(
        "th",
        { scope: "col", class: "col-actions sticky-right" },
        h("span", { class: "sr-only" }, "Actions"),
      ),
    );
    labelSlots = [];
    const body = records.map((record) => recordRow(record));
    grid.replaceChildren(
      h(
        "table",
        { class: "table grid", testid: "records-grid" },
        h("caption", { class: "sr-only" }, `Records of ${table.name}`),
        h("thead", null, head),
        h("tbody", null, body),
      ),
    );
  }

  function recordRow(record: TableRecord): HTMLElement {
    const id = record[table.id_field];
    const cells = columns.map((c) => {
      const value = record[c.name] ?? null;
      const text = formatCell(c.type, value);
      let content: HTMLElement | string;
      if (value === null) content = h("span", { class: "null" }, "—");
      else if (c.type === "belongs_to" && c.targetId !== undefined) {
        const key = labelKey(c.targetId, value);
        const label = h(
          "span",
          { class: "link-label", testid: "parent-label" },
          parentLabels.get(key) ?? "",
        );
        label.hidden = !label.textContent;
        labelSlots.push({ key, el: label });
        content = h(
          "a",
          {
            class: "parent-link",
            href: `${tableDataPath(app.id, c.targetId)}?filter_field=${encodeURIComponent(targetIdField(c))}&filter_op=eq&filter_value=${encodeURIComponent(String(value))}`,
            title: "Open the linked record",
          },
          h("span", { class: "id-chip mono" }, text),
          label,
        );
      } else if (c.type === "data") {
        content = h(
          "button",
          {
            type: "button",
            class: "link-btn",
            title: `Download ${c.name}`,
            testid: "download-data",
          },
          icon("download", 12),
          text,
        );
        content.addEventListener("click", () =>
          downloadBase64(String(value), `${table.name}-${String(id)}-${c.name}.bin`),
        );
      } else if (c.type === "boolean")
        content = h(
          "span",
          { class: value ? "bool bool-true" : "bool bool-false" },
          text,
        );
      else content = text;
      return h(
        "td",
        {
          class: `col-${c.type}`,
          "data-field": c.name,
          title:
            c.type === "text" || c.type === "string"
              ? String(value ?? "")
              : c.type === "datetime" && value !== null
                ? `${formatEpoch(Number(value))} (${String(value)} s)`
                : undefined,
        },
        c.name === table.id_field ? h("span", { class: "mono id-cell" }, text) : content,
      );
    });
    const edit = button(icon("edit", 14), {
      size: "sm",
      variant: "ghost",
      class: "btn-icon",
      "aria-label": `Edit record ${String(id)}`,
      title: "Edit",
      testid: "edit-record",
    });
    edit.addEventListener("click", () => recordDialog(records, record));
    const del = button(icon("trash", 14), {
      size: "sm",
      variant: "ghost",
      class: "btn-icon",
      "aria-label": `Delete record ${String(id)}`,
      title: "Delete",
      testid: "delete-record",
    });
    del.addEventListener("click", () => void deleteRecord(records, record));
    const row = h(
      "tr",
      { testid: "record-row", "data-record-id": String(id) },
      cells,
      h("td", { class: "col-actions sticky-right" }, edit, del),
    );
    row.addEventListener("dblclick", () => recordDialog(records, record));
    return row;
  }

  /**
   * Fills the Belongs To cells' labels: per parent table one `in` request for the whole
   * page (chunked at the API's 500 values), never one per row. Labels are extra: on a
   * failure the cells keep their "#id".
   */
  async function loadParentLabels(mine: number, shown: TableRecord[]): Promise<void> {
    const wanted = parentIdChunks(columns, shown);
    const requests: Promise<void>[] = [];
    for (const [targetId, chunks] of wanted) {
      const parent = parentTables.get(targetId);
      if (!parent || labelFields(parent).length === 0) continue;
      for (const ids of chunks) {
        requests.push(
          tablesApi
            .records(
              app.id,
              targetId,
              {
                filter_field: parent.id_field,
                filter_op: "in",
                filter_value: ids.join(","),
                limit: ids.length,
              },
              ctx.signal,
            )
            .then((answer) => {
              const found = labelsById(parent, answer.records);
              for (const id of ids) {
                const label = found.get(id);
                if (label) parentLabels.set(labelKey(targetId, id), label);
                else parentLabels.delete(labelKey(targetId, id));
              }
            }),
        );
      }
    }
    if (requests.length === 0) return;
    await Promise.allSettled(requests);
    if (mine !== seq || ctx.signal.aborted) return;
    for (const slot of labelSlots) {
      slot.el.textContent = parentLabels.get(slot.key) ?? "";
      slot.el.hidden = !slot.el.textContent;
    }
  }

  function targetIdField(c: Column): string {
    // The parent's ID field is named after its singular; the server knows it.
    return parentIdFields.get(c.targetId ?? -1) ?? "";
  }

  function noRecords(): HTMLElement {
    if (filter) {
      const clear = button("Clear the filter", { testid: "empty-clear-filter" });
      clear.addEventListener("click", () => {
        filter = null;
        const fresh = buildFilterBar();
        filterBar.el.replaceWith(fresh.el);
        filterBar.el = fresh.el;
        pager.reset();
        void load();
      });
      return emptyState({
        testid: "grid-empty",
        heading: "p",
        title: "No record matches the filter",
        actions: clear,
      });
    }
    const add = button([icon("plus", 14), "Add a record"], { variant: "primary" });
    add.addEventListener("click", () => recordDialog(records, null));
    const imp = button([icon("upload", 14), "Import a CSV file"]);
    imp.addEventListener("click", () => importBtn.click());
    return emptyState({
      testid: "grid-empty",
      heading: "p",
      icon: icon("table", 22),
      title: `${table.name} has no records yet`,
      lead: table.fields.length
        ? "Add one here, import a CSV file, or create them from your app's API."
        : "The table has only its system fields; add fields on the Structure tab first.",
      actions: [add, imp],
    });
  }

  // Parent tables (ID field names for the links, label fields), and the labels seen.
  const parentIdFields = new Map<number, string>();
  const parentTables = new Map<number, Table>();
  const parentIds = [
    ...new Set(
      columns.map((c) => c.targetId).filter((x): x is number => x !== undefined),
    ),
  ];
  const parents = await Promise.all(
    parentIds.map((id) => parentTable(app.id, id).catch(() => null)),
  );
  for (const parent of parents) {
    if (!parent) continue;
    parentIdFields.set(parent.id, parent.id_field);
    parentTables.set(parent.id, parent);
  }
  if (ctx.signal.aborted) return;
  await load();
}
