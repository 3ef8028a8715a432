/** The Logs page's state as plain data: its filter, read from and written to the URL, and
 * how an entry reads in the table. */
import type { RunError } from "./kscriptApi";

export type LogKind = "client" | "scheduled" | "automation";
export type LogStatus = "ok" | "failed";

export interface LogFilter {
  kind?: LogKind;
  method?: string;
  status?: LogStatus;
  /** ISO 8601 moments. */
  since?: string;
  until?: string;
  /** Text in the error's type or message. */
  q?: string;
}

const KINDS: readonly LogKind[] = ["client", "scheduled", "automation"];
const STATUSES: readonly LogStatus[] = ["ok", "failed"];

export const KIND_OPTIONS: { value: "" | LogKind; label: string }[] = [
  { value: "", label: "All" },
  { value: "client", label: "Client calls" },
  { value: "scheduled", label: "Scheduled runs" },
  { value: "automation", label: "Automation runs" },
];

export const STATUS_OPTIONS: { value: "" | LogStatus; label: string }[] = [
  { value: "", label: "Any" },
  { value: "ok", label: "OK" },
  { value: "failed", label: "Failed" },
];

function isKind(value: string | null): value is LogKind {
  return KINDS.includes(value as LogKind);
}

function isStatus(value: string | null): value is LogStatus {
  return STATUSES.includes(value as LogStatus);
}

function validMoment(value: string | null): string | undefined {
  return value && !Number.isNaN(Date.parse(value)) ? value : undefined;
}

/** The filter a page URL carries; values that make no sense are left out. */
export function filterFromQuery(query: URLSearchParams): LogFilter {
  const filter: LogFilter = {};
  const kind = query.get("kind");
  if (isKind(kind)) filter.kind = kind;
  const status = query.get("status");
  if (isStatus(status)) filter.status = status;
  const method = query.get("method")?.trim();
  if (method) filter.method = method;
  const since = validMoment(query.get("since"));
  if (since) filter.since = since;
  const until = validMoment(query.get("until"));
  if (until) filter.until = until;
  const q = query.get("q")?.trim();
  if (q) filter.q = q;
  return filter;
}

/** The query string of a filter (the page's URL and the API's), in a fixed order. */
export function filterToQuery(
  filter: LogFilter,
  before?: string | null,
): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of ["kind", "method", "status", "since", "until", "q"] as const) {
    const value = filter[key];
    if (value) query.set(key, value);
  }
  if (before) query.set("before", before);
  return query;
}

/** A `datetime-local` input's value as an ISO moment (the browser's zone), or undefined. */
export function isoFromLocal(value: string): string | undefined {
  if (!value) return undefined;
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? undefined : moment.toISOString();
}

/** An ISO moment as a `datetime-local` input's value, in the browser's zone. */
export function localFromIso(iso: string | undefined): string {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const pad = (n: number): string => String(n).padStart(2, "0");
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`
  );
}

export function kindLabel(kind: LogKind): string {
  return kind === "client" ? "Client" : kind === "scheduled" ? "Schedule" : "Automation";
}

/** An error in one line: type, message and where. */
export function errorSummary(error: RunError | null): string {
  if (!error) return "";
  const where =
    error.line !== undefined && error.line !== null
      ? ` (line ${error.line}${error.column ? `, column ${error.column}` : ""})`
      : "";
  return `${error.type}: ${error.message}${where}`;
}
