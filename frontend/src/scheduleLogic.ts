/** Pure helpers of the Schedules pages (no DOM), unit-tested in scheduleLogic.test.ts. */
import type { RecentRun, RunStatus } from "./schedulesApi";

export type StatusTone = "success" | "danger" | "warning" | "neutral" | "busy";

const STATUS: Record<RunStatus, { label: string; tone: StatusTone }> = {
  queued: { label: "Queued", tone: "busy" },
  running: { label: "Running", tone: "busy" },
  ok: { label: "OK", tone: "success" },
  failed: { label: "Failed", tone: "danger" },
  timed_out: { label: "Timed out", tone: "danger" },
  lost: { label: "Lost", tone: "danger" },
  skipped: { label: "Skipped", tone: "warning" },
  missed: { label: "Missed", tone: "warning" },
};

export function statusLabel(status: RunStatus): string {
  return STATUS[status].label;
}

export function statusTone(status: RunStatus): StatusTone {
  return STATUS[status].tone;
}

/** Whether a run may still change (the history keeps polling while one is). */
export function isUnfinished(status: RunStatus): boolean {
  return status === "queued" || status === "running";
}

/** 0.42 -> "0.42 ms", 12.3 -> "12 ms", 1530 -> "1.5 s", 125000 -> "2 min 5 s"; null -> "—". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/**
 * A due time as read in the schedule's time zone: "Mon 4 May, 09:00". The year shows
 * when it is not `now`'s; seconds show when they are not zero (a "Run now").
 */
export function formatDue(iso: string, timeZone: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso;
  const year = (d: Date): string =>
    new Intl.DateTimeFormat("en-GB", { timeZone, year: "numeric" }).format(d);
  const options: Intl.DateTimeFormatOptions = {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  };
  if (year(date) !== year(now)) options.year = "numeric";
  if (date.getUTCSeconds() !== 0) options.second = "2-digit";
  return new Intl.DateTimeFormat("en-GB", options).format(date).replace(" at ", ", ");
}

export interface SparkBar {
  x: number;
  y: number;
  width: number;
  height: number;
  status: RunStatus;
  title: string;
}

/**
 * Bars of a sparkline of recent durations (oldest left), scaled to the slowest; runs
 * without a duration (skipped, missed, lost) get a stub so their colour still shows.
 * Always `slots` wide, right-aligned, so a new schedule's few bars sit at the right.
 */
export function sparkBars(
  runs: readonly RecentRun[],
  options: { width: number; height: number; slots?: number; gap?: number },
): SparkBar[] {
  const slots = options.slots ?? 20;
  const gap = options.gap ?? 1;
  const shown = runs.slice(-slots);
  const slot = options.width / slots;
  const barWidth = Math.max(1, slot - gap);
  const longest = Math.max(0, ...shown.map((r) => r.duration_ms ?? 0));
  const stub = 2;
  const offset = slots - shown.length;
  return shown.map((run, i) => {
    const duration = run.duration_ms;
    const height =
      duration === null || longest === 0
        ? stub
        : Math.max(stub, (duration / longest) * options.height);
    return {
      x: (offset + i) * slot,
      y: options.height - height,
      width: barWidth,
      height,
      status: run.status,
      title: `${statusLabel(run.status)} · ${formatDuration(duration)}`,
    };
  });
}
