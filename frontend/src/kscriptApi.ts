/** Console API calls for KScript methods, revisions, drafts, Run It! and deployments. */
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
  /** "kscript" or "apimethod" per method name. */
  kinds?: Record<string, string>;
  /** A rollback: the deployment whose methods this one serves again. */
  restored_from: number | null;
  live: boolean;
}

export interface SaveRequest extends Definition {
  code: string;
  base_revision: number;
  overwrite?: boolean;
  /** Keep code that does not parse (Save); Run It! and Deploy leave it out. */
  allow_syntax_errors?: boolean;
}

/** Where V8 stopped parsing (the server's check). */
export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/** A saved revision, with the syntax check when the save kept unparsable code. */
export interface SavedRevision extends Revision {
  syntax_error?: SyntaxProblem | null;
}

/** The signed-in person's working text of a method (not a revision). */
export interface Draft {
  code: string;
  base_revision: number;
  saved_at: string;
  syntax_error: SyntaxProblem | null;
  latest_revision: number;
  /** The latest revision when it is newer than the draft's base. */
  newer: Revision | null;
}

/** This app's names for the IDE's completion and Insert picker. */
export interface Symbols {
  tables: {
    name: string;
    alias: string;
    fields: { name: string; type: string }[];
  }[];
  methods: { name: string; kind: "kscript" | "apimethod" }[];
}

export interface ChangeEntry {
  name: string;
  kind: string;
  revision: number | null;
  from_revision?: number | null;
  from_kind?: string;
  /** What differs: "code", "parameters", "return type", "definition"; empty: same code. */
  what?: string[];
}

export interface DeploymentSummary {
  number: number;
  created_at: string;
  created_by: string | null;
  restored_from: number | null;
}

/** What a deploy (or a rollback) would change for clients. */
export interface DeployPreview {
  live: DeploymentSummary | null;
  target: { kind: "deploy" } | ({ kind: "rollback" } & DeploymentSummary);
  added: ChangeEntry[];
  removed: ChangeEntry[];
  changed: ChangeEntry[];
  unchanged: ChangeEntry[];
  /** What stops it (a KScript that does not parse, an API method that does not fit). */
  problems: string[];
}

export interface MethodDiff {
  name: string;
  kind: string;
  language: "javascript" | "json";
  original: string | null;
  modified: string | null;
  original_label: string;
  modified_label: string;
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
  /** The latest revision, with where its code stops parsing. */
  get: (appId: Id, methodId: Id) =>
    request<SavedRevision>("GET", `${base(appId)}${enc(methodId)}/`),
  remove: (appId: Id, methodId: Id) =>
    request<undefined>("DELETE", `${base(appId)}${enc(methodId)}/`),

  /** Saves a new revision; a 409 becomes a RevisionConflict carrying the newer revision. */
  async save(appId: Id, methodId: Id, body: SaveRequest): Promise<SavedRevision> {
    try {
      return await request<SavedRevision>("PUT", `${base(appId)}${enc(methodId)}/`, body);
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
  /** `runId`: the run's id on the runs socket (live lines, Stop). */
  run: (appId: Id, methodId: Id, params: Record<string, unknown>, runId?: string) =>
    request<RunResult>("POST", `${base(appId)}${enc(methodId)}/run/`, {
      params,
      ...(runId ? { run_id: runId } : {}),
    }),
  /** The K API declarations; K.params typed as the method's parameters. */
  typings: (appId: Id, methodId: Id) =>
    request<string>("GET", `${base(appId)}typings.d.ts?method=${enc(methodId)}`),

  draft: (appId: Id, methodId: Id) =>
    request<{ draft: Draft | null }>("GET", `${base(appId)}${enc(methodId)}/draft/`),
  /** Quiet about the network: the status bar says the draft waits in this browser. */
  putDraft: (appId: Id, methodId: Id, body: { code: string; base_revision: number }) =>
    request<Draft>("PUT", `${base(appId)}${enc(methodId)}/draft/`, body, {
      quietNetwork: true,
    }),
  deleteDraft: (appId: Id, methodId: Id) =>
    request<undefined>("DELETE", `${base(appId)}${enc(methodId)}/draft/`, undefined, {
      quietNetwork: true,
    }),
  symbols: (appId: Id) => request<Symbols>("GET", `${base(appId)}symbols/`),

  deployments: (appId: Id) =>
    request<Deployment[]>("GET", `/api/apps/${enc(appId)}/deployments/`),
  /**
   * `expectedLive`: the live deployment the person reviewed (null: none); the server
   * refuses if another went live since. Left out: deploy whatever is live.
   */
  deploy: (appId: Id, expectedLive?: number | null) =>
    request<Deployment>(
      "POST",
      `/api/apps/${enc(appId)}/deployments/`,
      expectedLive === undefined ? {} : { expected_live: expectedLive },
    ),
  preview: (appId: Id, restore?: number) =>
    request<DeployPreview>(
      "GET",
      `/api/apps/${enc(appId)}/deployments/preview/${restore === undefined ? "" : `?restore=${restore}`}`,
    ),
  diff: (appId: Id, name: string, before: string, after: string) =>
    request<MethodDiff>(
      "GET",
      `/api/apps/${enc(appId)}/deployments/diff/?${new URLSearchParams({ name, before, after }).toString()}`,
    ),
  rollback: (appId: Id, number: number, expectedLive: number | null) =>
    request<Deployment>(
      "POST",
      `/api/apps/${enc(appId)}/deployments/${number}/rollback/`,
      { expected_live: expectedLive },
    ),
};
