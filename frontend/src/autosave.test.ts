import { describe, expect, it } from "vitest";
import { Autosaver, type SaveStatus } from "./autosave";
import { RevisionConflict, type Revision } from "./kscriptApi";

function revision(number: number, author = "ann"): Revision {
  return {
    id: 1,
    name: "m",
    title: "m",
    return_type: "objects",
    params: [],
    code: "",
    revision: number,
    latest_revision: number,
    author,
    saved_at: "2026-11-22T10:42:00+00:00",
  };
}

/** Manual timers and a server whose answers the test releases one by one. */
function setup() {
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let nextId = 0;
  const calls: {
    base: number;
    overwrite: boolean;
    settle: (r: Revision | Error) => void;
  }[] = [];
  const statuses: SaveStatus[] = [];
  const saver = new Autosaver({
    base: revision(4),
    delayMs: 1000,
    save: (base, overwrite) =>
      new Promise<Revision>((resolve, reject) => {
        calls.push({
          base,
          overwrite,
          settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
        });
      }),
    onStatus: (s) => statuses.push(s),
    setTimer: (fn, ms) => {
      nextId += 1;
      timers.push({ fn, ms, id: nextId });
      return nextId;
    },
    clearTimer: (id) => {
      const index = timers.findIndex((t) => t.id === id);
      if (index >= 0) timers.splice(index, 1);
    },
  });
  const fire = (): void => {
    const timer = timers.shift();
    timer?.fn();
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return { saver, timers, calls, statuses, fire, tick };
}

describe("Autosaver", () => {
  it("debounces: one save a second after the last edit, on the base revision", async () => {
    const { saver, timers, calls, statuses, fire, tick } = setup();
    saver.edit();
    saver.edit();
    saver.edit();
    expect(timers).toHaveLength(1);
    expect(timers[0]?.ms).toBe(1000);
    expect(calls).toHaveLength(0);
    fire();
    expect(calls).toEqual([expect.objectContaining({ base: 4, overwrite: false })]);
    expect(saver.current).toEqual({ kind: "saving" });
    calls[0]?.settle(revision(5));
    await tick();
    expect(saver.current).toMatchObject({ kind: "saved", revision: 5 });
    expect(saver.base).toBe(5);
    expect(saver.unsaved).toBe(false);
    expect(statuses.map((s) => s.kind)).toEqual([
      "dirty",
      "dirty",
      "dirty",
      "saving",
      "saved",
    ]);
  });

  it("flush saves at once and cancels the pending timer", async () => {
    const { saver, timers, calls, tick } = setup();
    saver.edit();
    const done = saver.flush();
    expect(timers).toHaveLength(0);
    expect(calls).toHaveLength(1);
    calls[0]?.settle(revision(5));
    expect(await done).toBe(true);
    await tick();
    expect(await saver.flush()).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it("text typed during a save goes in the next save, on the new base", async () => {
    const { saver, calls, fire, tick } = setup();
    saver.edit();
    fire();
    saver.edit();
    calls[0]?.settle(revision(5));
    await tick();
    expect(saver.current).toEqual({ kind: "dirty" });
    expect(saver.unsaved).toBe(true);
    fire();
    expect(calls[1]).toMatchObject({ base: 5, overwrite: false });
  });

  it("a conflict pauses autosave until the person overwrites", async () => {
    const { saver, timers, calls, fire, tick } = setup();
    saver.edit();
    fire();
    calls[0]?.settle(new RevisionConflict(revision(6, "bob")));
    await tick();
    expect(saver.inConflict).toBe(true);
    saver.edit();
    expect(timers).toHaveLength(0);
    expect(await saver.flush()).toBe(false);
    expect(calls).toHaveLength(1);
    expect(saver.unsaved).toBe(true);

    const forced = saver.overwrite();
    expect(calls[1]).toMatchObject({ base: 4, overwrite: true });
    calls[1]?.settle(revision(7));
    expect(await forced).toBe(true);
    expect(saver.inConflict).toBe(false);
    expect(saver.base).toBe(7);
  });

  it("loading theirs makes their revision the base and the text clean", async () => {
    const { saver, calls, fire, tick } = setup();
    saver.edit();
    fire();
    calls[0]?.settle(new RevisionConflict(revision(6, "bob")));
    await tick();
    saver.reset(revision(6, "bob"));
    expect(saver.current).toMatchObject({ kind: "saved", revision: 6, author: "bob" });
    expect(saver.unsaved).toBe(false);
    saver.edit();
    fire();
    expect(calls[1]).toMatchObject({ base: 6 });
  });

  it("a refused save keeps the text unsaved and retries after the next edit", async () => {
    const { saver, calls, fire, tick } = setup();
    saver.edit();
    fire();
    calls[0]?.settle(new Error("offline"));
    await tick();
    expect(saver.current).toMatchObject({
      kind: "failed",
      failure: { kind: "retry", message: "offline" },
    });
    expect(saver.unsaved).toBe(true);
    saver.edit();
    fire();
    expect(calls[1]).toMatchObject({ base: 4 });
  });

  it("touch makes a save happen without an edit (restoring the same text)", async () => {
    const { saver, calls } = setup();
    expect(await saver.flush()).toBe(true);
    expect(calls).toHaveLength(0);
    saver.touch();
    void saver.flush();
    expect(calls).toHaveLength(1);
  });
});
