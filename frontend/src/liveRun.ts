/**
 * A Run It! run while it goes on, as plain data changed by pure functions: its id, when it
 * started, the log lines that arrived over the runs WebSocket, whether Stop was asked.
 * Also what the socket says, parsed (`parseRunMessage`), and the run ids the browser makes.
 */
import type { LogEntry } from "./kscriptApi";

/** The server keeps at most this many lines of a run (RunLimits.max_log_entries). */
export const MAX_LIVE_LINES = 500;

export type Live = "connecting" | "on" | "off";

export interface LiveRun {
  runId: string;
  startedAt: number;
  lines: LogEntry[];
  stopping: boolean;
  /** Whether the socket watches it: lines arrive and Stop works only when "on". */
  live: Live;
}

export function startRun(runId: string, now: number): LiveRun {
  return { runId, startedAt: now, lines: [], stopping: false, live: "connecting" };
}

/** Lines of a run arrived; lines of any other run are not this one's. */
export function addLines(run: LiveRun, runId: string, lines: LogEntry[]): LiveRun {
  if (runId !== run.runId || !lines.length) return run;
  const room = MAX_LIVE_LINES - run.lines.length;
  return room > 0 ? { ...run, lines: [...run.lines, ...lines.slice(0, room)] } : run;
}

export function setLive(run: LiveRun, live: Live): LiveRun {
  return { ...run, live };
}

export function askStop(run: LiveRun): LiveRun {
  return run.live === "on" ? { ...run, stopping: true } : run;
}

/** "0.4 s", "12.3 s", "2 min 05 s". */
export function elapsedText(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}

export type RunMessage =
  | { kind: "watching"; run: string }
  | { kind: "stopping"; run: string }
  | { kind: "logs"; run: string; logs: LogEntry[] }
  | { kind: "ended"; run: string }
  | { kind: "error"; message: string };

const isEntry = (v: unknown): v is LogEntry =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as LogEntry).level === "string" &&
  Array.isArray((v as LogEntry).args);

/** One message of the runs socket; null for anything else. */
export function parseRunMessage(text: unknown): RunMessage | null {
  if (typeof text !== "string") return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const m = data as Record<string, unknown>;
  if (typeof m.error === "string") return { kind: "error", message: m.error };
  if (typeof m.watching === "string") return { kind: "watching", run: m.watching };
  if (typeof m.stopping === "string") return { kind: "stopping", run: m.stopping };
  if (typeof m.run !== "string") return null;
  if (m.ended === true) return { kind: "ended", run: m.run };
  if (Array.isArray(m.logs) && m.logs.every(isEntry)) {
    return { kind: "logs", run: m.run, logs: m.logs };
  }
  return null;
}

/** A run id: 16 random bytes as hex (crypto.randomUUID needs HTTPS, getRandomValues not). */
export function newRunId(random: Uint8Array): string {
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Where the runs socket of an app is: the page's `kiln-ws-url` (KILN_WS_URL, with `{host}`
 * already filled in by the server), else this page's own host (behind a proxy that routes
 * /ws/).
 */
export function runsSocketUrl(
  appId: string | number,
  meta: string | null,
  location: { protocol: string; host: string },
): string {
  const base = meta
    ? meta.replace(/\/+$/, "")
    : `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
  return `${base}/ws/apps/${encodeURIComponent(String(appId))}/runs/`;
}
