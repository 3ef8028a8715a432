/** Console API calls for an app's client events, users and automations. */
import { request, type Id } from "./api";
import type { LogEntry, RunError } from "./kscriptApi";
import type { RunStatus } from "./schedulesApi";

export interface ClientEvent {
  id: number;
  uuid: string;
  type: string;
  happened_at: string;
  received_at: string;
  install_id: string;
  user: string | null;
  data: unknown;
}

export interface EventPage {
  events: ClientEvent[];
  /** Pass as `before` for the next (older) page; null on the last. */
  next: string | null;
}

export interface EventFilter {
  /** An event type; `*` is a wildcard. */
  type?: string;
  since?: string;
  until?: string;
  before?: string;
}

export interface DayCount {
  day: string;
  type: string;
  count: number;
}

export interface EventCounts {
  since: string;
  counts: DayCount[];
}

export interface AppUserRow {
  identifier: string;
  attributes: Record<string, unknown>;
  first_seen_at: string;
  last_seen_at: string;
}

export interface UserPage {
  users: AppUserRow[];
  more: boolean;
}

export type AudienceOp = "$eq" | "$lt" | "$gt" | "$lte" | "$gte";

export interface AudienceFilter {
  attribute: string;
  op: AudienceOp;
  value: string | number | boolean;
}

export interface AutomationRule {
  event_type: string;
  /** Empty: everyone. */
  audience: AudienceFilter[];
  methods: string[];
}

export interface AutomationDefinition {
  name: string;
  enabled: boolean;
  available_from: string | null;
  available_until: string | null;
  /** ISO weekdays, 1 = Monday … 7 = Sunday; empty = every day. */
  weekdays: number[];
  timezone: string;
  late_events: "fire" | "drop";
  late_after_minutes: number | null;
  rules: AutomationRule[];
}

export interface Automation extends AutomationDefinition {
  id: number;
  fired_count: number;
  rules: (AutomationRule & { methods_deployed: boolean[] })[];
  created_at: string;
  updated_at: string;
}

export interface AutomationRunSummary {
  id: number;
  status: RunStatus;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  revision: number | null;
  worker: string;
  error: RunError | null;
  rule: number;
  action: number;
  method: string;
  event_uuid: string;
  event_id: number | null;
  user: string | null;
  install_id: string;
}

export interface AutomationRunDetail extends AutomationRunSummary {
  logs: LogEntry[];
  logs_dropped: number;
  result: unknown;
  result_bytes: number | null;
}

const enc = (id: Id): string => encodeURIComponent(String(id));
const base = (appId: Id): string => `/api/apps/${enc(appId)}/`;

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const eventsApi = {
  events: (appId: Id, filter: EventFilter = {}) =>
    request<EventPage>("GET", `${base(appId)}events/${query({ ...filter })}`),
  counts: (appId: Id, days = 14) =>
    request<EventCounts>("GET", `${base(appId)}events/counts/${query({ days })}`),
  users: (appId: Id, search = "", offset = 0) =>
    request<UserPage>("GET", `${base(appId)}users/${query({ search, offset })}`),
  automations: (appId: Id) => request<Automation[]>("GET", `${base(appId)}automations/`),
  createAutomation: (appId: Id, body: AutomationDefinition) =>
    request<Automation>("POST", `${base(appId)}automations/`, body),
  saveAutomation: (appId: Id, automationId: Id, body: AutomationDefinition) =>
    request<Automation>("PUT", `${base(appId)}automations/${enc(automationId)}/`, body),
  removeAutomation: (appId: Id, automationId: Id) =>
    request<undefined>("DELETE", `${base(appId)}automations/${enc(automationId)}/`),
  runs: (appId: Id, automationId: Id) =>
    request<{ runs: AutomationRunSummary[]; more: boolean }>(
      "GET",
      `${base(appId)}automations/${enc(automationId)}/runs/`,
    ),
  run: (appId: Id, automationId: Id, runId: Id) =>
    request<AutomationRunDetail>(
      "GET",
      `${base(appId)}automations/${enc(automationId)}/runs/${enc(runId)}/`,
    ),
};
