/** Console API calls for KScript methods, revisions, Run It! and deployments. */
import { ApiError, request, type Id } from "./api";

export type ReturnType = "objects" | "number";
export type ParamType =
  "string" | "text" | "integer" | "float" | "boolean" | "datetime" | "data";

export const PARAM_TYPES: readonly { value: ParamType; label: string }[] = [
  { value: "string", label: "String" },
  { value: "text", label: "Text" },
  { value: "integer", label: "Integer" },
  { value: "float", label: "Float" },
  { value: "boolean", label: "Boolean" },
  { value: "datetime", label: "DateTime" },
  { value: "data", label: "Data (base64)" },
];

export interface Param {
  name: string;
  type: ParamType;
}

/** What a method is, apart from its code. */
export interface Definition {
  title: string;
  return_type: ReturnType;
  params: Param[];
}

export interface MethodSummary extends Definition {
  id: number;
  name: string;
  latest_revision: number;
  author: string | null;
  saved_at: string;
  updated_at: string;
  /** Revision the live deployment serves; null when it is not deployed. */
  deployed_revision: number | null;
}

/** One revision with its code (the latest one when fetched as the method). */
export interface Revision extends Definition {
  id: number;
  name: string;
  code: string;
  revision: number;
  latest_revision: number;
  author: string | null;
  saved_at: string;
}

export interface RevisionEntry {
  revision: number;
  title: string;
  author: string | null;
  saved_at: string;
}

export interface LogEntry {
  level: string;
  args: unknown[];
  line: number | null;
  script: string | null;
}

export interface RunError {
  type: string;
  message: string;
  method?: string;
  line?: number | null;
  column?: number | null;
  stack?: string;
}

export type RunResult =
  | {
      ok: true;
      result: unknown;
      duration_ms: number;
      logs: LogEntry[];
      logs_dropped: number;
    }
  | { ok: false; error: RunError; logs: LogEntry[] };

export interface Deployment {
  number: number;
  created_at: string;
  created_by: string | null;
  methods: string[];
  revisions: Record<string, number>;
  live: boolean;
}

export interface SaveRequest extends Definition {
  code: string;
  base_revision: number;
  overwrite?: boolean;
}

/** Someone saved a newer revision than the one the edit started from. */
export class RevisionConflict extends Error {
  readonly theirs: Revision;
  constructor(theirs: Revision) {
    super(`${theirs.author ?? "Someone"} saved revision ${theirs.revision} meanwhile.`);
    this.name = "RevisionConflict";
    this.theirs = theirs;
  }
}

const enc = (id: Id): string => encodeURIComponent(String(id));
const base = (appId: Id): string => `/api/apps/${enc(appId)}/kscripts/`;

export const kscriptApi = {
  list: (appId: Id) => request<MethodSummary[]>("GET", base(appId)),
  create: (appId: Id, body: Definition & { code: string }) =>
    request<Revision>("POST", base(appId), body),
  get: (appId: Id, methodId: Id) =>
    request<Revision>("GET", `${base(appId)}${enc(methodId)}/`),
  remove: (appId: Id, methodId: Id) =>
    request<undefined>("DELETE", `${base(appId)}${enc(methodId)}/`),

  /** Saves a new revision; a 409 becomes a RevisionConflict carrying the newer revision. */
  async save(appId: Id, methodId: Id, body: SaveRequest): Promise<Revision> {
    try {
      return await request<Revision>("PUT", `${base(appId)}${enc(methodId)}/`, body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        throw new RevisionConflict(await kscriptApi.get(appId, methodId));
      }
      throw error;
    }
  },

  revisions: (appId: Id, methodId: Id) =>
    request<RevisionEntry[]>("GET", `${base(appId)}${enc(methodId)}/revisions/`),
  revision: (appId: Id, methodId: Id, number: number) =>
    request<Revision>("GET", `${base(appId)}${enc(methodId)}/revisions/${number}/`),
  run: (appId: Id, methodId: Id, params: Record<string, unknown>) =>
    request<RunResult>("POST", `${base(appId)}${enc(methodId)}/run/`, { params }),
  /** The K API declarations; K.params typed as the method's parameters. */
  typings: (appId: Id, methodId: Id) =>
    request<string>("GET", `${base(appId)}typings.d.ts?method=${enc(methodId)}`),

  deployments: (appId: Id) =>
    request<Deployment[]>("GET", `/api/apps/${enc(appId)}/deployments/`),
  deploy: (appId: Id) =>
    request<Deployment>("POST", `/api/apps/${enc(appId)}/deployments/`, {}),
};
