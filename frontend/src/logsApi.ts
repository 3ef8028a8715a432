/** Console API calls of the Logs page: an app's client calls, scheduled and automation runs. */
import { request, type Id } from "./api";
import type { LogEntry, RunError } from "./kscriptApi";
import type { LogKind } from "./logsLogic";
import type { RunStatus } from "./schedulesApi";

export interface LogRow {
  kind: LogKind;
  id: number;
  at: string;
  method: string;
  /** "kscript" or "apimethod" (client calls); runs are always KScripts. */
  method_type: string;
  status: RunStatus;
  /** Client calls: the Kumulos response code the client got, and its name. */
  code: number | null;
  code_text: string | null;
  duration_ms: number | null;
  error: RunError | null;
  /** The schedule's or automation's name. */
  source: string;
}

export interface LogPage {
  entries: LogRow[];
  /** Pass as `before` for the next (older) page; null on the last. */
  next: string | null;
  /** Days client calls are kept. */
  retention_days: number;
  /** The live deployment's method names (the method filter's suggestions). */
  methods: string[];
}

export interface LogDetail extends LogRow {
  logs: LogEntry[];
  logs_dropped: number;
  started_at: string | null;
  /** Runs only. */
  result?: unknown;
  result_bytes?: number | null;
  worker?: string;
  revision?: number | null;
  start_delay_ms?: number | null;
}

const enc = (id: Id): string => encodeURIComponent(String(id));

export const logsApi = {
  list: (appId: Id, query: URLSearchParams) => {
    const text = query.toString();
    return request<LogPage>(
      "GET",
      `/api/apps/${enc(appId)}/logs/${text ? `?${text}` : ""}`,
    );
  },
  entry: (appId: Id, kind: LogKind, id: Id) =>
    request<LogDetail>("GET", `/api/apps/${enc(appId)}/logs/${kind}/${enc(id)}/`),
};
