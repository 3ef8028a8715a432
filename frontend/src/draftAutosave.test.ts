import { describe, expect, it } from "vitest";
import { DraftAutosaver, type DraftAnswer, type LocalDraft } from "./draftAutosave";
import { statusOf } from "./draftModel";
import { ApiError } from "./api";
import { RevisionConflict, type Revision } from "./kscriptApi";

function revision(number: number, code: string, author = "olivia"): Revision {
  return {
    id: 1,
    name: "m",
    title: "m",
    return_type: "objects",
    params: [],
    code,
    revision: number,
    latest_revision: number,
    author,
    saved_at: "2026-11-22T10:42:00+00:00",
  };
}

interface Pending<T> {
  args: unknown[];
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** An editor's text, manual timers, and a server whose answers the test releases. */
function setup(start = revision(4, "a")) {
  let text = start.code;
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let nextId = 0;
  const drafts: Pending<DraftAnswer>[] = [];
  const deletes: Pending<undefined>[] = [];
  const saves: Pending<{ revision: Revision; syntax: null }>[] = [];
  const local: (LocalDraft | null)[] = [];
  const conflicts: Revision[] = [];
  let storageWorks = true;
  const pending = <T>(list: Pending<T>[], args: unknown[]) =>
    new Promise<T>((resolve, reject) => list.push({ args, resolve, reject }));
  const saver = new DraftAutosaver(start, {
    text: () => text,
    putDraft: (code, base) => pending(drafts, [code, base]),
    deleteDraft: () => pending(deletes, []),
    saveRevision: (code, base, overwrite, allow) =>
      pending(saves, [code, base, overwrite, allow]),
    writeLocal: (draft) => {
      local.push(draft);
      return storageWorks;
    },
    clearLocal: () => local.push(null),
    onState: () => undefined,
    onConflict: (theirs) => conflicts.push(theirs),
    onSaved: () => undefined,
    now: () => new Date("2026-11-22T11:00:00Z"),
    setTimer: (fn, ms) => {
      nextId += 1;
      timers.push({ fn, ms, id: nextId });
      return nextId;
    },
    clearTimer: (id) => {
      const index = timers.findIndex((t) => t.id === id);
      if (index >= 0) timers.splice(index, 1);
    },
    localDelayMs: 250,
  });
  const type = (next: string): void => {
    text = next;
    saver.edit();
  };
  const fire = (ms: number): void => {
    const index = timers.findIndex((t) => t.ms === ms);
    const [timer] = timers.splice(index, 1);
    timer?.fn();
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return {
    saver,
    type,
    fire,
    tick,
    timers,
    drafts,
    deletes,
    saves,
    local,
    conflicts,
    breakStorage: () => (storageWorks = false),
  };
}

const answer = (over: Partial<DraftAnswer> = {}): DraftAnswer => ({
  saved_at: "2026-11-22T11:00:00Z",
  syntax_error: null,
  newer: null,
  ...over,
});

describe("DraftAutosaver", () => {
  it("writes this browser's copy once per burst of typing, then the server's draft", async () => {
    const { saver, type, fire, tick, drafts, local } = setup();
    type("ab");
    type("abc");
    expect(local).toEqual([]);
    fire(250);
    expect(local).toEqual([{ code: "abc", base: 4, at: "2026-11-22T11:00:00.000Z" }]);
    fire(800);
    expect(drafts.map((d) => d.args)).toEqual([["abc", 4]]);
    drafts[0]?.resolve(answer());
    await tick();
    expect(statusOf(saver.state)).toMatchObject({ kind: "draft", base: 4 });
    expect(saver.atRisk).toBe(false);
  });

  it("knows the text is the saved code again and drops the copies", async () => {
    const { saver, type, fire, tick, drafts, deletes, local } = setup();
    type("ab");
    fire(800);
    drafts[0]?.resolve(answer());
    await tick();
    type("a");
    expect(local.slice(-1)).toEqual([null]);
    expect(saver.dirty).toBe(false);
    fire(800);
    expect(deletes).toHaveLength(1);
  });

  it("save resolves with the new revision; the next edit compares with its code", async () => {
    const { saver, type, tick, saves } = setup();
    type("ab");
    const outcome = saver.save();
    expect(saves[0]?.args).toEqual(["ab", 4, false, true]);
    saves[0]?.resolve({ revision: revision(5, "ab"), syntax: null });
    await expect(outcome).resolves.toEqual({ ok: true, revision: 5, created: true });
    expect(saver.base).toBe(5);
    expect(saver.savedCode).toBe("ab");
    type("ab!");
    type("ab");
    await tick();
    expect(saver.dirty).toBe(false);
  });

  it("a 409 on save becomes the conflict, shown once, and the text stays a draft", async () => {
    const { saver, type, tick, saves, drafts, conflicts } = setup();
    type("mine");
    const outcome = saver.save({ allowSyntaxErrors: false });
    const theirs = revision(5, "theirs", "devon");
    saves[0]?.reject(new RevisionConflict(theirs));
    await expect(outcome).resolves.toMatchObject({
      ok: false,
      failure: { kind: "conflict" },
    });
    await tick();
    expect(conflicts).toEqual([theirs]);
    expect(saver.inConflict).toBe(true);
    // The pending draft goes out right away, so the text is not lost.
    expect(drafts.map((d) => d.args)).toEqual([["mine", 4]]);
  });

  it("a draft that cannot reach the server stays in this browser and is tried again", async () => {
    const { saver, type, fire, tick, drafts, timers } = setup();
    type("ab");
    fire(800);
    drafts[0]?.reject(new ApiError(0, "Could not reach the server.", {}, true));
    await tick();
    expect(statusOf(saver.state)).toEqual({
      kind: "local",
      message: "Could not reach the server.",
    });
    expect(timers.map((t) => t.ms)).toContain(5000);
    fire(5000);
    expect(drafts).toHaveLength(2);
  });

  it("is at risk only when neither the server nor this browser kept the text", async () => {
    const { saver, type, fire, tick, drafts, breakStorage } = setup();
    breakStorage();
    type("ab");
    saver.flushLocal();
    expect(saver.atRisk).toBe(true);
    fire(800);
    drafts[0]?.resolve(answer());
    await tick();
    expect(saver.atRisk).toBe(false);
  });

  it("flush writes this browser's copy and sends the draft at once (leaving the page)", () => {
    const { saver, type, drafts, local } = setup();
    type("ab");
    saver.flush();
    expect(local).toEqual([{ code: "ab", base: 4, at: "2026-11-22T11:00:00.000Z" }]);
    expect(drafts.map((d) => d.args)).toEqual([["ab", 4]]);
  });

  it("after the editor is gone, only its last text still goes to the server", async () => {
    const { saver, type, fire, tick, drafts, timers, local } = setup();
    type("ab");
    fire(800);
    type("abc");
    saver.flush();
    saver.dispose();
    const before = { timers: timers.length, local: local.length };
    drafts[0]?.resolve(answer());
    await tick();
    expect(drafts.map((d) => d.args)).toEqual([
      ["ab", 4],
      ["abc", 4],
    ]);
    drafts[1]?.resolve(answer());
    await tick();
    expect(drafts).toHaveLength(2);
    expect({ timers: timers.length, local: local.length }).toEqual(before);
  });
});
