import { describe, expect, it } from "vitest";
import {
  formatDue,
  formatDuration,
  isUnfinished,
  sparkBars,
  statusLabel,
  statusTone,
} from "./scheduleLogic";
import type { RecentRun } from "./schedulesApi";

describe("statuses", () => {
  it("labels and tones every status", () => {
    expect(statusLabel("timed_out")).toBe("Timed out");
    expect(statusTone("ok")).toBe("success");
    expect(statusTone("lost")).toBe("danger");
    expect(statusTone("missed")).toBe("warning");
    expect(statusTone("running")).toBe("busy");
    expect(isUnfinished("queued")).toBe(true);
    expect(isUnfinished("skipped")).toBe(false);
  });
});

describe("formatDuration", () => {
  it.each([
    [null, "—"],
    [0.42, "0.42 ms"],
    [3.21, "3.2 ms"],
    [12.3, "12 ms"],
    [1530, "1.5 s"],
    [12_400, "12 s"],
    [120_000, "2 min"],
    [125_000, "2 min 5 s"],
  ])("%s -> %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("formatDue", () => {
  const now = new Date("2026-05-01T12:00:00Z");
  it("reads the time in the schedule's zone", () => {
    expect(formatDue("2026-05-04T08:00:00Z", "Europe/London", now)).toBe(
      "Mon 4 May, 09:00",
    );
    expect(formatDue("2026-05-04T08:00:00Z", "UTC", now)).toBe("Mon 4 May, 08:00");
  });
  it("shows seconds of a Run now and the year when it differs", () => {
    expect(formatDue("2026-05-04T08:00:07.5Z", "UTC", now)).toBe("Mon 4 May, 08:00:07");
    expect(formatDue("2027-01-04T08:00:00Z", "UTC", now)).toContain("2027");
  });
  it("gives back what it cannot read", () => {
    expect(formatDue("soon", "UTC", now)).toBe("soon");
  });
});

describe("sparkBars", () => {
  const run = (
    duration: number | null,
    status: RecentRun["status"] = "ok",
  ): RecentRun => ({
    id: 1,
    status,
    due_at: "2026-05-04T08:00:00Z",
    duration_ms: duration,
  });

  it("scales to the slowest run, oldest left, right-aligned in the slots", () => {
    const bars = sparkBars([run(10), run(40), run(null, "skipped")], {
      width: 100,
      height: 20,
      slots: 10,
      gap: 2,
    });
    expect(bars.map((b) => [b.x, b.y, b.width, b.height, b.status])).toEqual([
      [70, 15, 8, 5, "ok"],
      [80, 0, 8, 20, "ok"],
      [90, 18, 8, 2, "skipped"],
    ]);
    expect(bars[2]?.title).toBe("Skipped · —");
  });

  it("keeps only the latest runs that fit", () => {
    const runs = Array.from({ length: 30 }, (_, i) => run(i + 1));
    const bars = sparkBars(runs, { width: 40, height: 10, slots: 20 });
    expect(bars).toHaveLength(20);
    expect(bars[0]?.x).toBe(0);
    expect(bars[19]?.height).toBe(10);
  });

  it("draws nothing for no runs", () => {
    expect(sparkBars([], { width: 40, height: 10 })).toEqual([]);
  });
});
