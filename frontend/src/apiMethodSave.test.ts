/** The API method editor saves with the KScript IDE's autosave and its own error reading. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import {
  ApiMethodConflict,
  classifyApiMethodSaveError,
  type ApiMethodRevision,
} from "./apiMethodApi";
import { Autosaver, type SaveStatus } from "./autosave";

function revision(number: number, author = "ann"): ApiMethodRevision {
  return {
    id: 1,
    kind: "apimethod",
    name: "search",
    title: "Search",
    table: "people",
    params: [],
    actions: [],
    returned: null,
    revision: number,
    latest_revision: number,
    author,
    saved_at: "2026-12-03T10:42:00+00:00",
    signature: null,
    problems: {},
  };
}

/** A saver whose server answers when the test says so. */
function setup() {
  const calls: {
    base: number;
    overwrite: boolean;
    settle: (r: ApiMethodRevision | Error) => void;
  }[] = [];
  const states: SaveStatus<ApiMethodRevision>["kind"][] = [];
  const saved: number[] = [];
  const saver = new Autosaver<ApiMethodRevision>({
    base: revision(1),
    save: (base, overwrite) =>
      new Promise<ApiMethodRevision>((resolve, reject) => {
        calls.push({
          base,
          overwrite,
          settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
        });
      }),
    onStatus: (status) => states.push(status.kind),
    onSaved: (r) => saved.push(r.revision),
    classify: classifyApiMethodSaveError,
    delayMs: 800,
  });
  return { saver, calls, states, saved };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("saving an API method", () => {
  it("gathers quick changes into one save on top of the loaded revision", async () => {
    const { saver, calls, states, saved } = setup();
    saver.edit();
    saver.edit();
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(800);
    expect(calls.map((c) => [c.base, c.overwrite])).toEqual([[1, false]]);
    calls[0]?.settle(revision(2));
    await vi.runAllTimersAsync();
    expect(saver.base).toBe(2);
    expect(saved).toEqual([2]);
    expect(states).toEqual(["dirty", "dirty", "saving", "saved"]);
    expect(saver.unsaved).toBe(false);
  });

  it("saves again, on the new revision, what changed while a save was on its way", async () => {
    const { saver, calls } = setup();
    saver.edit();
    await vi.advanceTimersByTimeAsync(800);
    saver.edit();
    calls[0]?.settle(revision(2));
    await vi.advanceTimersByTimeAsync(800);
    expect(calls.map((c) => c.base)).toEqual([1, 2]);
  });

  it("stops on a conflict until the person overwrites", async () => {
    const { saver, calls, states } = setup();
    saver.edit();
    await vi.advanceTimersByTimeAsync(800);
    calls[0]?.settle(new ApiMethodConflict(revision(3, "bob")));
    await vi.runAllTimersAsync();
    expect(saver.inConflict).toBe(true);
    expect(saver.current).toMatchObject({
      kind: "failed",
      failure: { kind: "conflict", message: "bob saved revision 3 meanwhile." },
    });
    saver.edit();
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(1);
    expect(await saver.flush()).toBe(false);
    const overwritten = saver.overwrite();
    expect(calls.map((c) => [c.base, c.overwrite])).toEqual([
      [1, false],
      [1, true],
    ]);
    calls[1]?.settle(revision(4));
    expect(await overwritten).toBe(true);
    expect(states.at(-1)).toBe("saved");
  });

  it("loading theirs makes their revision the base, with nothing unsaved", () => {
    const { saver } = setup();
    saver.edit();
    saver.reset(revision(7, "bob"));
    expect(saver.unsaved).toBe(false);
    expect(saver.base).toBe(7);
    expect(saver.current).toEqual({
      kind: "saved",
      revision: 7,
      savedAt: "2026-12-03T10:42:00+00:00",
      author: "bob",
    });
  });

  it("a refused definition waits for the next edit; trouble on the way is retried", () => {
    const refused = new ApiError(400, "Bad", {
      "actions[0].table": ["No table called 'x'."],
    });
    expect(classifyApiMethodSaveError(refused).kind).toBe("invalid");
    expect(classifyApiMethodSaveError(new Error("offline"))).toEqual({
      kind: "retry",
      message: "offline",
    });
  });
});
