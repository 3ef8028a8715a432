/** Console API calls for scheduled KScripts: schedules, their runs, Run now, the switch. */
import { request, type Id } from "./api";
import type { LogEntry, RunError } from "./kscriptApi";
import type { ParamValue } from "./kscriptLogic";

export type ScheduleKind = "minute" | "hour" | "cron";
export type RunStatus =
  "queued" | "running" | "ok" | "failed" | "timed_out" | "skipped" | "missed" | "lost";

export interface ScheduleTiming {
  kind: ScheduleKind;
  /** A 5-field cron expression; only used when kind is "cron". */
  cron: string;
  /** An IANA time zone name. */
  timezone: string;
}

export interface ScheduleDefinition extends ScheduleTiming {
  name: string;
  /** A KScript method by name; runs always take its deployed revision. */
  method: string;
  params: Record<string, ParamValue>;
  enabled: boolean;
}

export interface RunSummary {
  id: number;
  due_at: string;
  trigger: "schedule" | "manual";
  status: RunStatus;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  start_delay_ms: number | null;
  revision: number | null;
  worker: string;
  missed_count: number;
  missed_until: string | null;
  error: RunError | null;
}

export interface RunDetail extends RunSummary {
  logs: LogEntry[];
  logs_dropped: number;
  result: unknown;
  result_bytes: number | null;
}

export interface RecentRun {
  id: number;
  status: RunStatus;
  due_at: string;
  duration_ms: number | null;
}

export interface Schedule extends ScheduleDefinition {
  id: number;
  /** "every weekday at 09:00 Europe/London" */
  description: string;
  next_due_at: string | null;
  deployed_revision: number | null;
  method_deployed: boolean;
  last_run: RunSummary | null;
  /** Up to 20 latest runs, oldest first. */
  recent: RecentRun[];
  created_at: string;
  updated_at: string;
  /** The next five due times (detail only). */
  next_runs?: string[];
}

export interface ScheduleList {
  scheduling_enabled: boolean;
  suspended: boolean;
  kscript_enabled: boolean;
  schedules: Schedule[];
}

export interface TimingPreview {
  description: string;
  next_runs: string[];
}

export interface RunPage {
  runs: RunSummary[];
  more: boolean;
}

export interface PlatformSchedulingApp {
  id: number;
  name: string;
  suspended: boolean;
  scheduling_enabled: boolean;
  schedules: Schedule[];
}

const enc = (id: Id): string => encodeURIComponent(String(id));
const base = (appId: Id): string => `/api/apps/${enc(appId)}/schedules/`;

export const schedulesApi = {
  list: (appId: Id) => request<ScheduleList>("GET", base(appId)),
  get: (appId: Id, scheduleId: Id) =>
    request<Schedule>("GET", `${base(appId)}${enc(scheduleId)}/`),
  create: (appId: Id, body: ScheduleDefinition) =>
    request<Schedule>("POST", base(appId), body),
  save: (appId: Id, scheduleId: Id, body: ScheduleDefinition) =>
    request<Schedule>("PUT", `${base(appId)}${enc(scheduleId)}/`, body),
  setEnabled: (appId: Id, scheduleId: Id, enabled: boolean) =>
    request<Schedule>("PATCH", `${base(appId)}${enc(scheduleId)}/`, { enabled }),
  remove: (appId: Id, scheduleId: Id) =>
    request<undefined>("DELETE", `${base(appId)}${enc(scheduleId)}/`),
  runNow: (appId: Id, scheduleId: Id) =>
    request<RunDetail>("POST", `${base(appId)}${enc(scheduleId)}/run/`, {}),
  runs: (appId: Id, scheduleId: Id, before?: number) =>
    request<RunPage>(
      "GET",
      `${base(appId)}${enc(scheduleId)}/runs/${before ? `?before=${before}` : ""}`,
    ),
  run: (appId: Id, scheduleId: Id, runId: Id) =>
    request<RunDetail>("GET", `${base(appId)}${enc(scheduleId)}/runs/${enc(runId)}/`),
  preview: (appId: Id, timing: ScheduleTiming, signal?: AbortSignal) =>
    request<TimingPreview>("POST", `${base(appId)}preview/`, timing, { signal }),
  timezones: (appId: Id) => request<string[]>("GET", `${base(appId)}timezones/`),

  platformList: () => request<PlatformSchedulingApp[]>("GET", "/api/platform/schedules/"),
  setScheduling: (appId: Id, enabled: boolean) =>
    request<PlatformSchedulingApp>(
      "PATCH",
      `/api/platform/apps/${enc(appId)}/scheduling/`,
      { enabled },
    ),
};
