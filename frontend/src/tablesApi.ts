/**
 * Calls to the tables API (docs/tables-api.md): tables, fields, indexes, records and
 * CSV. Errors come back as `ApiError` from api.ts, with messages beside the field.
 */
import { request, type Id } from "./api";

export type FieldType =
  | "string"
  | "text"
  | "integer"
  | "float"
  | "boolean"
  | "datetime"
  | "data"
  | "belongs_to";

export type OnDelete = "cascade" | "set_empty" | "prevent";

export interface TableRef {
  id: number;
  name: string;
}

export interface TableField {
  id: number;
  name: string;
  type: FieldType;
  position: number;
  target: TableRef | null;
  on_delete: OnDelete | null;
}

export interface HasMany {
  table: TableRef;
  field: string;
  on_delete: OnDelete;
}

export interface TableIndex {
  /** null for an automatic index (the one each Belongs To field has): not deletable. */
  id: number | null;
  name: string;
  fields: string[];
  /** No two records share these fields' values. */
  unique: boolean;
  automatic: boolean;
}

export interface Table {
  id: number;
  name: string;
  number: number;
  alias: string;
  id_field: string;
  system_fields: { name: string; type: FieldType }[];
  fields: TableField[];
  has_many: HasMany[];
  indexes: TableIndex[];
  count: number;
  count_exact: boolean;
}

export type RecordValue = string | number | boolean | null;
export type TableRecord = Record<string, RecordValue>;

export interface RecordPage {
  records: TableRecord[];
  count: number;
  count_exact: boolean;
  next: string | null;
}

export type FilterOp =
  | "eq"
  | "ne"
  | "lt"
  | "lte"
  | "gt"
  | "gte"
  | "contains"
  | "starts"
  | "is_null"
  | "not_null"
  | "in";

export interface BrowseQuery {
  sort?: string;
  direction?: "asc" | "desc";
  limit?: number;
  after?: string | null;
  offset?: number;
  filter_field?: string;
  filter_op?: FilterOp;
  filter_value?: string;
}

export interface CsvRowError {
  /** CSV line (the header is row 1); null when the error concerns the whole file. */
  row: number | null;
  field: string | null;
  /** The raw text of the cell to blame (cut at 100 characters); null for a row or the file. */
  value?: string | null;
  message: string;
}

/** Records that belong to one record, per Belongs To field pointing at its table. */
export interface RecordDependent {
  table: { id: number; name: string };
  field: string;
  on_delete: OnDelete;
  count: number;
  /** For a cascading relation: what deleting those records does in turn. */
  cascades?: RecordDependent[];
}

export interface TypeChangeEffect {
  type: FieldType;
  /** How many values the conversion alters (4.75 → 5); the first few as examples. */
  changed: number;
  examples: { id: number; from: string; to: string }[];
}

export interface CsvPreview {
  columns: string[];
  rows: TableRecord[];
  total_rows: number;
  /** Per DateTime field, the forms its cells were read in (epoch seconds, plain, ISO 8601). */
  datetime_formats: Record<string, string[]>;
  errors: CsvRowError[];
  error_count: number;
}

export type ImportStatus = "pending" | "running" | "done" | "failed";

export interface CsvImport {
  id: number;
  status: ImportStatus;
  total_rows: number;
  imported_rows: number;
  progress: number;
  errors: CsvRowError[];
}

export interface NewField {
  name: string;
  type: FieldType;
  target?: number;
  on_delete?: OnDelete;
}

const enc = (id: Id): string => encodeURIComponent(String(id));
const base = (appId: Id): string => `/api/apps/${enc(appId)}/tables/`;
const tablePath = (appId: Id, tableId: Id): string => `${base(appId)}${enc(tableId)}/`;

/**
 * The query string of a records request. Empty parameters are left out, except an
 * empty filter value (a filter for empty text).
 */
export function browseSearch(query: BrowseQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (value === "" && !(key === "filter_value" && query.filter_field)) continue;
    if (key === "offset" && value === 0) continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export const tablesApi = {
  list: (appId: Id, signal?: AbortSignal) =>
    request<Table[]>("GET", base(appId), undefined, { signal }),
  create: (appId: Id, name: string) => request<Table>("POST", base(appId), { name }),
  get: (appId: Id, tableId: Id, signal?: AbortSignal) =>
    request<Table>("GET", tablePath(appId, tableId), undefined, { signal }),
  rename: (appId: Id, tableId: Id, name: string) =>
    request<Table>("PATCH", tablePath(appId, tableId), { name }),
  remove: (appId: Id, tableId: Id, confirm = false) =>
    request<undefined>(
      "DELETE",
      `${tablePath(appId, tableId)}${confirm ? "?confirm=true" : ""}`,
    ),

  addField: (appId: Id, tableId: Id, body: NewField) =>
    request<TableField>("POST", `${tablePath(appId, tableId)}fields/`, body),
  updateField: (
    appId: Id,
    tableId: Id,
    fieldId: Id,
    body: { name?: string; type?: FieldType; on_delete?: OnDelete },
    confirm = false,
  ) =>
    request<TableField>(
      "PATCH",
      `${tablePath(appId, tableId)}fields/${enc(fieldId)}/${confirm ? "?confirm=true" : ""}`,
      body,
    ),
  recordDependents: (appId: Id, tableId: Id, recordId: Id) =>
    request<RecordDependent[]>(
      "GET",
      `${tablePath(appId, tableId)}records/${enc(recordId)}/dependents/`,
    ),
  /** What a type change would do to the field's values (a dry run: nothing changes). */
  typeChangeEffect: (appId: Id, tableId: Id, fieldId: Id, type: FieldType) =>
    request<TypeChangeEffect>(
      "PATCH",
      `${tablePath(appId, tableId)}fields/${enc(fieldId)}/?dry_run=true`,
      { type },
    ),
  removeField: (appId: Id, tableId: Id, fieldId: Id) =>
    request<undefined>("DELETE", `${tablePath(appId, tableId)}fields/${enc(fieldId)}/`),

  addIndex: (appId: Id, tableId: Id, fields: string[], unique = false) =>
    request<TableIndex>("POST", `${tablePath(appId, tableId)}indexes/`, {
      fields,
      unique,
    }),
  removeIndex: (appId: Id, tableId: Id, indexId: Id) =>
    request<undefined>("DELETE", `${tablePath(appId, tableId)}indexes/${enc(indexId)}/`),

  records: (appId: Id, tableId: Id, query: BrowseQuery, signal?: AbortSignal) =>
    request<RecordPage>(
      "GET",
      `${tablePath(appId, tableId)}records/${browseSearch(query)}`,
      undefined,
      { signal },
    ),
  record: (appId: Id, tableId: Id, recordId: Id, signal?: AbortSignal) =>
    request<TableRecord>(
      "GET",
      `${tablePath(appId, tableId)}records/${enc(recordId)}/`,
      undefined,
      { signal },
    ),
  insert: (appId: Id, tableId: Id, values: TableRecord) =>
    request<TableRecord>("POST", `${tablePath(appId, tableId)}records/`, values),
  update: (appId: Id, tableId: Id, recordId: Id, values: TableRecord) =>
    request<TableRecord>(
      "PATCH",
      `${tablePath(appId, tableId)}records/${enc(recordId)}/`,
      values,
    ),
  removeRecord: (appId: Id, tableId: Id, recordId: Id) =>
    request<undefined>("DELETE", `${tablePath(appId, tableId)}records/${enc(recordId)}/`),

  /** Where the browser downloads the streamed CSV export from. */
  csvUrl: (appId: Id, tableId: Id) => `${tablePath(appId, tableId)}csv/`,
  previewCsv: (appId: Id, tableId: Id, csv: string) =>
    request<CsvPreview>("POST", `${tablePath(appId, tableId)}csv/preview/`, { csv }),
  startImport: (appId: Id, tableId: Id, csv: string) =>
    request<CsvImport>("POST", `${tablePath(appId, tableId)}csv/imports/`, { csv }),
  importStatus: (appId: Id, tableId: Id, importId: Id, signal?: AbortSignal) =>
    request<CsvImport>(
      "GET",
      `${tablePath(appId, tableId)}csv/imports/${enc(importId)}/`,
      undefined,
      { signal },
    ),
};
