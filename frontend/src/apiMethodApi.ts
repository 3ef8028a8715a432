/** Console API calls for drag-and-drop API methods: revisions, Run, impact of a schema change. */
import { ApiError, request, type Id } from "./api";
import type { MethodDefinition, TableShape } from "./apiMethodModel";
import { errorText } from "./format";
import type { ParamType } from "./kscriptApi";
import type { SaveFailure } from "./kscriptLogic";
import type { Table } from "./tablesApi";

export interface ApiMethodSignature {
  name: string;
  params: { name: string; type: ParamType }[];
  returns: { type: string; action?: string; action_type?: string; table?: string };
}

export type Problems = Record<string, string[]>;

export interface ApiMethodSummary {
  id: number;
  kind: "apimethod";
  name: string;
  title: string;
  table: string;
  latest_revision: number;
  author: string | null;
  saved_at: string;
  updated_at: string;
  deployed_revision: number | null;
  signature: ApiMethodSignature | null;
  /** What no longer fits the tables (a table or field renamed or dropped since). */
  problems: Problems;
}

export interface ApiMethodRevision extends MethodDefinition {
  id: number;
  kind: "apimethod";
  name: string;
  title: string;
  revision: number;
  latest_revision: number;
  author: string | null;
  saved_at: string;
  signature: ApiMethodSignature | null;
  problems: Problems;
}

export interface Statement {
  action: string;
  sql: string;
  ms?: number;
  rows?: number;
  error?: string;
}

/**
 * Which values of a Run result are dates (they arrive as epoch seconds): "datetime" for a
 * date result, a map of the date fields of records (related records by their key), or null.
 */
export type ResultTypes =
  "datetime" | { [field: string]: "datetime" | ResultTypes } | null;

export type ApiRunResult =
  | {
      ok: true;
      result: unknown;
      result_types?: ResultTypes;
      duration_ms: number;
      statements: Statement[];
    }
  | { ok: false; error: { type: string; message: string }; statements: Statement[] };

export interface SaveApiMethod extends MethodDefinition {
  title: string;
  base_revision: number;
  overwrite?: boolean;
}

/** Someone saved a newer revision than the one the edit started from. */
export class ApiMethodConflict extends Error {
  readonly theirs: ApiMethodRevision;
  constructor(theirs: ApiMethodRevision) {
    super(`${theirs.author ?? "Someone"} saved revision ${theirs.revision} meanwhile.`);
    this.name = "ApiMethodConflict";
    this.theirs = theirs;
  }
}

/** What a failed save means for the editor's autosave (autosave.ts). */
export function classifyApiMethodSaveError(
  error: unknown,
): SaveFailure<ApiMethodRevision> {
  if (error instanceof ApiMethodConflict) {
    return { kind: "conflict", theirs: error.theirs, message: error.message };
  }
  if (error instanceof ApiError && error.status === 400) {
    // The problems are listed by place in the editor as well.
    return { kind: "invalid", message: errorText(error), location: null };
  }
  return { kind: "retry", message: errorText(error) };
}

const enc = (id: Id): string => encodeURIComponent(String(id));
const base = (appId: Id): string => `/api/apps/${enc(appId)}/apimethods/`;

export const apiMethodApi = {
  list: (appId: Id) => request<ApiMethodSummary[]>("GET", base(appId)),
  create: (appId: Id, body: MethodDefinition & { title: string }) =>
    request<ApiMethodRevision>("POST", base(appId), body),
  get: (appId: Id, methodId: Id) =>
    request<ApiMethodRevision>("GET", `${base(appId)}${enc(methodId)}/`),
  remove: (appId: Id, methodId: Id) =>
    request<undefined>("DELETE", `${base(appId)}${enc(methodId)}/`),

  /** Saves a new revision; a 409 becomes an ApiMethodConflict carrying the newer revision. */
  async save(appId: Id, methodId: Id, body: SaveApiMethod): Promise<ApiMethodRevision> {
    try {
      return await request<ApiMethodRevision>(
        "PUT",
        `${base(appId)}${enc(methodId)}/`,
        body,
      );
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        throw new ApiMethodConflict(await apiMethodApi.get(appId, methodId));
      }
      throw error;
    }
  },

  run: (appId: Id, methodId: Id, params: Record<string, unknown>) =>
    request<ApiRunResult>("POST", `${base(appId)}${enc(methodId)}/run/`, { params }),

  /**
   * The API methods (latest revisions) that use a table, or one of its fields; with
   * `type`, those a change of the field to that type would break, with why.
   */
  impact: (appId: Id, table: string, field?: string | null, type?: string) => {
    const query = new URLSearchParams({ table });
    if (field) query.set("field", field);
    if (type) query.set("type", type);
    return request<ImpactedMethod[]>("GET", `${base(appId)}impact/?${query.toString()}`);
  },
};

/** An API method a schema change would break, and where it names the table or field. */
export interface ImpactedMethod {
  id: number;
  name: string;
  places: string[];
  /** A type change: what no longer fits, by place. */
  problems?: Problems;
}

/** The app's tables as the editor sees them: every field, ID and time fields first. */
export function tableShapes(tables: readonly Table[]): TableShape[] {
  return tables.map((t) => ({
    name: t.name,
    idField: t.id_field,
    fields: [
      { name: t.id_field, type: "integer", target: null },
      { name: "timeCreated", type: "datetime", target: null },
      { name: "timeUpdated", type: "datetime", target: null },
      ...t.fields.map((f) => ({
        name: f.name,
        type: f.type,
        target: f.target?.name ?? null,
      })),
    ],
  }));
}
