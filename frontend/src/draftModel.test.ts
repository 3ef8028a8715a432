import { describe, expect, it } from "vitest";
import {
  DRAFT_DELAY_MS,
  RETRY_DELAY_MS,
  currentSyntaxError,
  discarded,
  draftDiscarded,
  draftFailed,
  draftStored,
  edited,
  flush,
  initialState,
  isDirty,
  loaded,
  pickRecovery,
  restored,
  revisionFailed,
  revisionStored,
  saveRequested,
  serverDraftExists,
  serverHasText,
  statusOf,
  timerFired,
  type DraftState,
  type KeptDraft,
  type SaveOptions,
  type Step,
} from "./draftModel";
import type { Revision } from "./kscriptApi";
import type { SaveFailure } from "./kscriptLogic";

function revision(number: number, author = "olivia", code = ""): Revision {
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
    saved_at: `2026-11-22T10:${String(40 + number).padStart(2, "0")}:00+00:00`,
  };
}

const SAVE: SaveOptions = { allowSyntaxErrors: true, overwrite: false, force: false };
const retry: SaveFailure = { kind: "retry", message: "Could not reach the server." };

/** Runs steps one after the other, keeping every command. */
function chain(start: DraftState, ...steps: ((s: DraftState) => Step)[]): Step {
  let state = start;
  const commands: Step["commands"] = [];
  for (const step of steps) {
    const next = step(state);
    state = next.state;
    commands.push(...next.commands);
  }
  return { state, commands };
}

const types = (step: Step): string[] => step.commands.map((c) => c.type);

describe("typing keeps a draft, not a revision", () => {
  it("writes this browser's copy at once and the server's after the pause", () => {
    const typed = edited(initialState(revision(4)), false);
    expect(typed.commands).toEqual([
      { type: "write-local" },
      { type: "arm-timer", ms: DRAFT_DELAY_MS },
    ]);
    expect(statusOf(typed.state)).toEqual({ kind: "dirty" });
    expect(isDirty(typed.state)).toBe(true);
    expect(serverHasText(typed.state)).toBe(false);

    const paused = timerFired(typed.state);
    expect(paused.commands).toEqual([{ type: "put-draft", base: 4 }]);
    expect(paused.state.inFlight).toEqual({ kind: "draft", seq: 1 });
  });

  it("shows the draft once the server has it, with the syntax check of that text", () => {
    const stored = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) =>
        draftStored(s, {
          savedAt: "2026-11-22T10:50:00Z",
          syntax: {
            line: 2,
            column: 9,
            message: "SyntaxError: Invalid or unexpected token",
          },
          newer: null,
        }),
    );
    expect(statusOf(stored.state)).toEqual({
      kind: "draft",
      savedAt: "2026-11-22T10:50:00Z",
      base: 4,
    });
    expect(serverHasText(stored.state)).toBe(true);
    expect(currentSyntaxError(stored.state)).toEqual({
      line: 2,
      column: 9,
      message: "SyntaxError: Invalid or unexpected token",
    });
    // Typing again: the check was of older text.
    const more = edited(stored.state, false);
    expect(currentSyntaxError(more.state)).toBeNull();
    expect(statusOf(more.state)).toEqual({ kind: "dirty" });
  });

  it("never sends a second request while one is in flight; the newer text follows", () => {
    const sending = chain(initialState(revision(4)), (s) => edited(s, false), timerFired);
    const typedMeanwhile = chain(sending.state, (s) => edited(s, false), timerFired);
    expect(types(typedMeanwhile)).toEqual(["write-local", "arm-timer"]);
    const answered = draftStored(typedMeanwhile.state, {
      savedAt: "t1",
      syntax: null,
      newer: null,
    });
    expect(answered.commands).toEqual([{ type: "put-draft", base: 4 }]);
    expect(answered.state.inFlight).toEqual({ kind: "draft", seq: 2 });
    expect(answered.state.serverSeq).toBe(1);
  });

  it("drops the server's draft when the text is the base revision's code again", () => {
    const stored = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: null }),
    );
    const undone = edited(stored.state, true);
    expect(undone.commands[0]).toEqual({ type: "clear-local" });
    expect(statusOf(undone.state)).toMatchObject({ kind: "saved", revision: 4 });
    const paused = timerFired(undone.state);
    expect(paused.commands).toEqual([{ type: "delete-draft" }]);
    const gone = draftDiscarded(paused.state);
    expect(gone.state.serverSeq).toBeNull();
    expect(gone.commands).toEqual([]);
  });

  it("keeps the text in this browser when the server cannot be reached, and tries again", () => {
    const failed = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftFailed(s, retry),
    );
    expect(failed.commands.slice(-1)).toEqual([
      { type: "arm-timer", ms: RETRY_DELAY_MS },
    ]);
    expect(statusOf(failed.state)).toEqual({
      kind: "local",
      message: "Could not reach the server.",
    });
    const again = chain(failed.state, timerFired, (s) =>
      draftStored(s, { savedAt: "t", syntax: null, newer: null }),
    );
    expect(statusOf(again.state)).toMatchObject({ kind: "draft" });
    expect(again.state.failure).toBeNull();
  });

  it("does not retry by itself when the server refused the text", () => {
    const invalid: SaveFailure = {
      kind: "invalid",
      message: "code: too long",
      location: null,
    };
    const sending = chain(initialState(revision(4)), (s) => edited(s, false), timerFired);
    const failed = draftFailed(sending.state, invalid);
    expect(failed.commands).toEqual([]);
    expect(failed.state.timerArmed).toBe(false);
    expect(flush(failed.state).commands).toEqual([{ type: "cancel-timer" }]);
    // An edit changes the text: it is worth sending again.
    const typed = chain(failed.state, (s) => edited(s, false), timerFired);
    expect(typed.commands.slice(-1)).toEqual([{ type: "put-draft", base: 4 }]);
  });

  it("flush sends at once instead of after the pause", () => {
    const typed = edited(initialState(revision(4)), false);
    expect(flush(typed.state).commands).toEqual([
      { type: "cancel-timer" },
      { type: "put-draft", base: 4 },
    ]);
  });
});

describe("a revision is made only when asked", () => {
  it("saves the text on top of the base revision and drops the draft", () => {
    const typed = edited(initialState(revision(4)), false);
    const asked = saveRequested(typed.state, 1, SAVE);
    expect(asked.commands).toEqual([
      { type: "cancel-timer" },
      { type: "save-revision", base: 4, overwrite: false, allowSyntaxErrors: true },
    ]);
    expect(statusOf(asked.state)).toEqual({ kind: "saving" });
    const done = revisionStored(asked.state, revision(5), null);
    expect(done.commands).toEqual([
      { type: "settle", id: 1, outcome: { ok: true, revision: 5, created: true } },
      { type: "clear-local" },
    ]);
    expect(statusOf(done.state)).toMatchObject({ kind: "saved", revision: 5 });
    expect(done.state.serverSeq).toBeNull();
  });

  it("waits for a draft in flight, then saves", () => {
    const sending = chain(initialState(revision(4)), (s) => edited(s, false), timerFired);
    const asked = saveRequested(sending.state, 7, SAVE);
    expect(asked.commands).toEqual([]);
    const answered = draftStored(asked.state, {
      savedAt: "t",
      syntax: null,
      newer: null,
    });
    expect(types(answered)).toEqual(["cancel-timer", "save-revision"]);
  });

  it("makes nothing when the text is the base revision, unless forced", () => {
    const clean = initialState(revision(4));
    expect(saveRequested(clean, 2, SAVE).commands).toEqual([
      { type: "settle", id: 2, outcome: { ok: true, revision: 4, created: false } },
    ]);
    expect(types(saveRequested(clean, 3, { ...SAVE, force: true }))).toEqual([
      "cancel-timer",
      "save-revision",
    ]);
  });

  it("turns text typed while saving into the next draft", () => {
    const asked = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      (s) => saveRequested(s, 1, SAVE),
      (s) => edited(s, false),
    );
    const done = revisionStored(asked.state, revision(5), null);
    expect(types(done)).toEqual(["settle", "write-local", "arm-timer"]);
    expect(statusOf(done.state)).toEqual({ kind: "dirty" });
    expect(done.state.base.revision).toBe(5);
    expect(timerFired(done.state).commands).toEqual([{ type: "put-draft", base: 5 }]);
  });

  it("marks code that does not parse when Run or Deploy asked, and keeps the draft status", () => {
    const stored = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: null }),
      (s) => saveRequested(s, 1, { ...SAVE, allowSyntaxErrors: false }),
    );
    const location = { line: 2, column: 9, message: "SyntaxError: Unexpected token" };
    const refused = revisionFailed(stored.state, {
      kind: "invalid",
      message: "Line 2, column 9: SyntaxError: Unexpected token",
      location,
    });
    expect(refused.commands[0]).toMatchObject({
      type: "settle",
      id: 1,
      outcome: { ok: false },
    });
    expect(currentSyntaxError(refused.state)).toEqual(location);
    expect(statusOf(refused.state)).toMatchObject({ kind: "draft" });
  });

  it("shows other refusals (a clashing title) until the next edit", () => {
    const asked = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      (s) => saveRequested(s, 1, SAVE),
    );
    const failure: SaveFailure = {
      kind: "invalid",
      message: "title: Another method of this app is already called x.",
      location: null,
    };
    const refused = revisionFailed(asked.state, failure);
    expect(statusOf(refused.state)).toEqual({ kind: "failed", failure });
    expect(statusOf(edited(refused.state, false).state)).toEqual({ kind: "dirty" });
  });
});

describe("the overwrite warning", () => {
  const theirs = revision(5, "devon", "// devon");

  it("comes with the draft answer while typing, once per revision, keeping the text", () => {
    const stored = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: theirs }),
    );
    expect(stored.commands.slice(-1)).toEqual([{ type: "show-conflict", theirs }]);
    expect(statusOf(stored.state)).toEqual({ kind: "conflict", theirs });
    expect(stored.state.serverSeq).toBe(1);
    const again = chain(
      stored.state,
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t2", syntax: null, newer: theirs }),
    );
    expect(types(again)).not.toContain("show-conflict");
    expect(again.state.serverSeq).toBe(2);
  });

  it("refuses a Save while in conflict, and saves over it when told to overwrite", () => {
    const inConflict = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: theirs }),
    ).state;
    const refused = saveRequested(inConflict, 1, SAVE);
    expect(refused.commands).toEqual([
      {
        type: "settle",
        id: 1,
        outcome: {
          ok: false,
          failure: {
            kind: "conflict",
            theirs,
            message: "Revision 5 by devon is newer than the one you edited.",
          },
        },
      },
    ]);
    const forced = saveRequested(inConflict, 2, { ...SAVE, overwrite: true });
    expect(forced.commands.slice(-1)).toEqual([
      { type: "save-revision", base: 4, overwrite: true, allowSyntaxErrors: true },
    ]);
    const done = revisionStored(forced.state, revision(6), null);
    expect(statusOf(done.state)).toMatchObject({ kind: "saved", revision: 6 });
    expect(done.state.conflict).toBeNull();
  });

  it("comes from a 409 on Save too", () => {
    const asked = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      (s) => saveRequested(s, 1, SAVE),
    );
    const failed = revisionFailed(asked.state, {
      kind: "conflict",
      theirs,
      message: "devon saved revision 5 meanwhile.",
    });
    expect(types(failed)).toEqual(["settle", "show-conflict", "put-draft"]);
    expect(statusOf(failed.state)).toEqual({ kind: "conflict", theirs });
  });

  it("ends when the person loads theirs: a clean editor, no draft anywhere", () => {
    const inConflict = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: theirs }),
    ).state;
    const took = loaded(inConflict, theirs);
    expect(types(took)).toEqual(["cancel-timer", "clear-local", "delete-draft"]);
    expect(statusOf(took.state)).toMatchObject({
      kind: "saved",
      revision: 5,
      author: "devon",
    });
  });
});

describe("discarding and restoring drafts", () => {
  it("discard goes back to the base revision and drops both copies", () => {
    const stored = chain(
      initialState(revision(4)),
      (s) => edited(s, false),
      timerFired,
      (s) => draftStored(s, { savedAt: "t", syntax: null, newer: null }),
    );
    const dropped = discarded(stored.state);
    expect(types(dropped)).toEqual(["cancel-timer", "clear-local", "delete-draft"]);
    expect(statusOf(dropped.state)).toMatchObject({ kind: "saved", revision: 4 });
  });

  it("a restored draft already on the server is not sent again", () => {
    const back = restored(initialState(revision(4)), { onServer: true, savedAt: "t0" });
    expect(back.commands).toEqual([{ type: "write-local" }]);
    expect(statusOf(back.state)).toEqual({ kind: "draft", savedAt: "t0", base: 4 });
  });

  it("a draft only this browser kept goes to the server", () => {
    const back = restored(initialState(revision(4)), { onServer: false, savedAt: "t0" });
    expect(types(back)).toEqual(["write-local", "arm-timer"]);
    expect(timerFired(back.state).commands).toEqual([{ type: "put-draft", base: 4 }]);
  });

  it("a stale server draft is dropped once idle", () => {
    expect(serverDraftExists(initialState(revision(4))).commands).toEqual([
      { type: "delete-draft" },
    ]);
  });
});

describe("a revision that does not parse", () => {
  const where = {
    line: 2,
    column: 9,
    message: "SyntaxError: Invalid or unexpected token",
  };

  it("is known from the start, and again after a discarded draft", () => {
    const start = initialState(revision(4), where);
    expect(currentSyntaxError(start)).toEqual(where);
    const typed = edited(start, false);
    expect(currentSyntaxError(typed.state)).toBeNull();
    expect(currentSyntaxError(discarded(typed.state).state)).toEqual(where);
  });
});

describe("pickRecovery", () => {
  const latest = { revision: 4, code: "K.setResponse(1);" };
  const kept = (over: Partial<KeptDraft>): KeptDraft => ({
    code: "K.setResponse(2);",
    base: 4,
    at: "2026-11-22T10:00:00Z",
    source: "server",
    ...over,
  });

  it("puts back a draft of the latest revision", () => {
    expect(pickRecovery(latest, kept({}), null)).toEqual({
      kind: "restore",
      draft: kept({}),
      onServer: true,
    });
  });

  it("prefers this browser's newer copy, and says the server lacks it", () => {
    const local = kept({
      code: "K.setResponse(3);",
      at: "2026-11-22T10:05:00Z",
      source: "browser",
    });
    expect(pickRecovery(latest, kept({}), local)).toEqual({
      kind: "restore",
      draft: local,
      onServer: false,
    });
  });

  it("knows when this browser's copy is what the server has", () => {
    const local = kept({ at: "2026-11-22T10:05:00Z", source: "browser" });
    expect(pickRecovery(latest, kept({}), local)).toMatchObject({ onServer: true });
  });

  it("asks first when the draft was made on an older revision", () => {
    expect(pickRecovery(latest, kept({ base: 3 }), null)).toMatchObject({
      kind: "offer",
    });
  });

  it("drops copies that equal the latest revision", () => {
    expect(
      pickRecovery(
        latest,
        kept({ code: latest.code }),
        kept({ code: latest.code, source: "browser" }),
      ),
    ).toEqual({ kind: "none", dropServer: true, dropLocal: true });
    expect(pickRecovery(latest, null, null)).toEqual({
      kind: "none",
      dropServer: false,
      dropLocal: false,
    });
  });
});
