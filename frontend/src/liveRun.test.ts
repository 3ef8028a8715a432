import { describe, expect, it } from "vitest";
import {
  MAX_LIVE_LINES,
  addLines,
  askStop,
  elapsedText,
  newRunId,
  parseRunMessage,
  runsSocketUrl,
  setLive,
  startRun,
} from "./liveRun";

const line = (text: string) => ({ level: "log", args: [text], line: 1, script: "m" });

describe("a live run", () => {
  it("takes the lines of its own run only, up to the server's cap", () => {
    let run = startRun("run-1", 100);
    run = addLines(run, "run-2", [line("other")]);
    expect(run.lines).toEqual([]);
    run = addLines(run, "run-1", [line("a"), line("b")]);
    expect(run.lines.map((l) => l.args[0])).toEqual(["a", "b"]);
    const many = Array.from({ length: MAX_LIVE_LINES + 5 }, (_, i) => line(String(i)));
    expect(addLines(run, "run-1", many).lines).toHaveLength(MAX_LIVE_LINES);
  });

  it("asks to stop only when the socket watches it", () => {
    const run = startRun("run-1", 0);
    expect(askStop(run).stopping).toBe(false);
    expect(askStop(setLive(run, "on")).stopping).toBe(true);
    expect(askStop(setLive(run, "off")).stopping).toBe(false);
  });
});

describe("elapsedText", () => {
  it("shows tenths of seconds, then minutes", () => {
    expect(elapsedText(-5)).toBe("0.0 s");
    expect(elapsedText(2345)).toBe("2.3 s");
    expect(elapsedText(125_000)).toBe("2 min 05 s");
  });
});

describe("parseRunMessage", () => {
  it("reads each message of the runs socket", () => {
    expect(parseRunMessage('{"watching": "r1"}')).toEqual({
      kind: "watching",
      run: "r1",
    });
    expect(parseRunMessage('{"stopping": "r1"}')).toEqual({
      kind: "stopping",
      run: "r1",
    });
    expect(parseRunMessage('{"run": "r1", "ended": true}')).toEqual({
      kind: "ended",
      run: "r1",
    });
    expect(parseRunMessage(JSON.stringify({ run: "r1", logs: [line("x")] }))).toEqual({
      kind: "logs",
      run: "r1",
      logs: [line("x")],
    });
    expect(parseRunMessage('{"error": "No such app."}')).toEqual({
      kind: "error",
      message: "No such app.",
    });
  });

  it("ignores anything else", () => {
    for (const text of [
      "nope",
      "null",
      "[]",
      '{"run": 3}',
      '{"run": "r", "logs": [1]}',
      42,
    ]) {
      expect(parseRunMessage(text)).toBeNull();
    }
  });
});

describe("run ids and the socket's address", () => {
  it("makes 32 hex digits", () => {
    const id = newRunId(new Uint8Array(16).fill(171));
    expect(id).toBe("ab".repeat(16));
  });

  it("uses the page's ws url, else this host", () => {
    const here = { protocol: "https:", host: "kiln.example.com" };
    expect(runsSocketUrl(7, "ws://127.0.0.1:8001/", here)).toBe(
      "ws://127.0.0.1:8001/ws/apps/7/runs/",
    );
    expect(runsSocketUrl(7, null, here)).toBe("wss://kiln.example.com/ws/apps/7/runs/");
  });
});
