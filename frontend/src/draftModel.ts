/**
 * The KScript editor's saving, as a plain model changed only by pure functions.
 *
 * Typing keeps a *working draft*: in this browser's localStorage at once, and on the
 * server (one draft per method and person) once typing pauses. Neither is a revision.
 * A revision is made only when asked (Save, Run It!, Deploy, Restore, Details), always on
 * top of the revision the text was edited from, so a newer one by someone else is a
 * conflict that waits for the person. The server's answer to a draft also tells of a
 * newer revision, so the overwrite warning comes while typing, not only on Save.
 *
 * Each function takes the state and an event and returns the next state with the
 * commands for the driver (draftAutosave.ts) to carry out: at most one request is in flight,
 * and every request carries the editor's text as it is when the command runs — which
 * is the text of `state.seq`, since commands run right after the step that made them.
 */
import type { Revision } from "./kscriptApi";
import type { CodeLocation, SaveFailure } from "./kscriptLogic";

export interface BaseRevision {
  revision: number;
  savedAt: string;
  author: string | null;
}

export interface SaveOptions {
  /** Made by Save (and Details, Restore): code that does not parse is kept. */
  allowSyntaxErrors: boolean;
  /** Save over a newer revision (the person chose "overwrite"). */
  overwrite: boolean;
  /** Make a revision even when the text equals the base (Restore, new details). */
  force: boolean;
}

export type SaveOutcome =
  { ok: true; revision: number; created: boolean } | { ok: false; failure: SaveFailure };

type Request =
  | { kind: "draft"; seq: number }
  | { kind: "discard"; seq: number }
  | { kind: "revision"; seq: number; id: number; options: SaveOptions };

export interface DraftState {
  /** The revision the editor's text was edited from. */
  base: BaseRevision;
  /** Bumped on every change of the editor's text. */
  seq: number;
  /** The last `seq` whose text equals the base revision's code. */
  cleanSeq: number;
  /** The `seq` the server's draft holds; null when the server has none. */
  serverSeq: number | null;
  serverSavedAt: string | null;
  /** A draft save is due once typing pauses. */
  timerArmed: boolean;
  inFlight: Request | null;
  /** Revisions asked for while a request was in flight, in order. */
  queued: { id: number; options: SaveOptions }[];
  /** A newer revision than `base` (someone else's, or this person's in another tab). */
  conflict: Revision | null;
  /** The last request that failed (a draft: kept in this browser; a revision: shown),
   * and the text it carried. */
  failure: { request: "draft" | "revision"; failure: SaveFailure; seq: number } | null;
  /** Where V8 stopped parsing the text of `seq` (null: it parsed). */
  syntax: { seq: number; error: CodeLocation | null } | null;
  /** The conflict dialog was shown for this revision already. */
  conflictShown: number;
}

export type Command =
  | { type: "arm-timer"; ms: number }
  | { type: "cancel-timer" }
  | { type: "put-draft"; base: number }
  | { type: "delete-draft" }
  | {
      type: "save-revision";
      base: number;
      overwrite: boolean;
      allowSyntaxErrors: boolean;
    }
  | { type: "write-local" }
  | { type: "clear-local" }
  | { type: "settle"; id: number; outcome: SaveOutcome }
  | { type: "show-conflict"; theirs: Revision };

export type Step = { state: DraftState; commands: Command[] };

/** How long typing must pause before the draft goes to the server. */
export const DRAFT_DELAY_MS = 800;
/** How long to wait before trying the server again after a failed draft. */
export const RETRY_DELAY_MS = 5000;

export function baseOf(revision: Revision): BaseRevision {
  return {
    revision: revision.revision,
    savedAt: revision.saved_at,
    author: revision.author,
  };
}

/** The editor opened on `revision`; `syntax`: where its code stops parsing, if known. */
export function initialState(
  revision: Revision,
  syntax: CodeLocation | null = null,
): DraftState {
  return {
    base: baseOf(revision),
    seq: 0,
    cleanSeq: 0,
    serverSeq: null,
    serverSavedAt: null,
    timerArmed: false,
    inFlight: null,
    queued: [],
    conflict: null,
    failure: null,
    syntax: { seq: 0, error: syntax },
    conflictShown: 0,
  };
}

/** The text differs from the base revision's code. */
export function isDirty(state: DraftState): boolean {
  return state.seq !== state.cleanSeq;
}

/** The server holds the current text (as a draft or as the base revision). */
export function serverHasText(state: DraftState): boolean {
  return !isDirty(state) || state.serverSeq === state.seq;
}

/** The syntax error of the text as it is now, when the server has checked it. */
export function currentSyntaxError(state: DraftState): CodeLocation | null {
  return state.syntax && state.syntax.seq === state.seq ? state.syntax.error : null;
}

/** What the status bar says. */
export type DraftStatus =
  | { kind: "saved"; revision: number; savedAt: string; author: string | null }
  | { kind: "dirty" }
  | { kind: "draft"; savedAt: string; base: number }
  | { kind: "saving" }
  | { kind: "conflict"; theirs: Revision }
  | { kind: "failed"; failure: SaveFailure }
  | { kind: "local"; message: string };

export function statusOf(state: DraftState): DraftStatus {
  if (state.conflict) return { kind: "conflict", theirs: state.conflict };
  if (state.inFlight?.kind === "revision") return { kind: "saving" };
  if (state.failure?.request === "revision") {
    return { kind: "failed", failure: state.failure.failure };
  }
  if (!isDirty(state)) {
    return {
      kind: "saved",
      revision: state.base.revision,
      savedAt: state.base.savedAt,
      author: state.base.author,
    };
  }
  if (state.serverSeq === state.seq && state.serverSavedAt !== null) {
    return { kind: "draft", savedAt: state.serverSavedAt, base: state.base.revision };
  }
  if (state.failure?.request === "draft") {
    return { kind: "local", message: state.failure.failure.message };
  }
  return { kind: "dirty" };
}

// ----- events -------------------------------------------------------------------------

/** The person changed the text; `matchesBase` when it is the base revision's code again. */
export function edited(state: DraftState, matchesBase: boolean): Step {
  const seq = state.seq + 1;
  const next: DraftState = {
    ...state,
    seq,
    cleanSeq: matchesBase ? seq : state.cleanSeq,
    // A refused revision (a clashing title…) is about text that is gone now.
    failure: state.failure?.request === "revision" ? null : state.failure,
    timerArmed: true,
  };
  const commands: Command[] = [
    matchesBase ? { type: "clear-local" } : { type: "write-local" },
    { type: "arm-timer", ms: DRAFT_DELAY_MS },
  ];
  return { state: next, commands };
}

/** The editor now holds `revision` exactly (loaded theirs, discarded the draft). */
export function loaded(state: DraftState, revision: Revision): Step {
  const seq = state.seq + 1;
  const next: DraftState = {
    ...state,
    base: baseOf(revision),
    seq,
    cleanSeq: seq,
    conflict: null,
    failure: null,
    timerArmed: false,
    syntax: null,
  };
  return pump(next, [{ type: "cancel-timer" }, { type: "clear-local" }]);
}

/** The draft was dropped: the editor holds the base revision's code again. */
export function discarded(state: DraftState): Step {
  const seq = state.seq + 1;
  // What is known of the base revision's code still holds.
  const baseSyntax =
    state.syntax && state.syntax.seq === state.cleanSeq ? state.syntax : null;
  const next: DraftState = {
    ...state,
    seq,
    cleanSeq: seq,
    conflict: null,
    failure: null,
    timerArmed: false,
    syntax: baseSyntax ? { seq, error: baseSyntax.error } : null,
  };
  return pump(next, [{ type: "cancel-timer" }, { type: "clear-local" }]);
}

/**
 * A draft left earlier was put back in the editor (from this browser or the server);
 * `onServer` when the server's draft holds exactly this text.
 */
export function restored(
  state: DraftState,
  draft: { onServer: boolean; savedAt: string },
): Step {
  const seq = state.seq + 1;
  const next: DraftState = {
    ...state,
    seq,
    serverSeq: draft.onServer ? seq : state.serverSeq,
    serverSavedAt: draft.onServer ? draft.savedAt : state.serverSavedAt,
    timerArmed: !draft.onServer,
  };
  const commands: Command[] = [{ type: "write-local" }];
  if (!draft.onServer) commands.push({ type: "arm-timer", ms: DRAFT_DELAY_MS });
  return { state: next, commands };
}

/** The server is known to hold a draft that the editor does not show (it was discarded). */
export function serverDraftExists(state: DraftState): Step {
  return pump({ ...state, serverSeq: -1 }, []);
}

export function timerFired(state: DraftState): Step {
  return pump({ ...state, timerArmed: false }, []);
}

/** Send what is due now instead of after the pause (leaving the page, Retry). */
export function flush(state: DraftState): Step {
  return pump({ ...state, timerArmed: false }, [{ type: "cancel-timer" }]);
}

export function saveRequested(state: DraftState, id: number, options: SaveOptions): Step {
  return pump({ ...state, queued: [...state.queued, { id, options }] }, []);
}

export function draftStored(
  state: DraftState,
  answer: { savedAt: string; syntax: CodeLocation | null; newer: Revision | null },
): Step {
  const request = state.inFlight;
  if (request?.kind !== "draft") return { state, commands: [] };
  let next: DraftState = {
    ...state,
    inFlight: null,
    serverSeq: request.seq,
    serverSavedAt: answer.savedAt,
    syntax: { seq: request.seq, error: answer.syntax },
    failure: state.failure?.request === "draft" ? null : state.failure,
  };
  const commands: Command[] = [];
  const newer = answer.newer;
  if (newer && newer.revision > state.base.revision) {
    next = { ...next, conflict: newer };
    if (next.conflictShown !== newer.revision) {
      next = { ...next, conflictShown: newer.revision };
      commands.push({ type: "show-conflict", theirs: newer });
    }
  }
  return pump(next, commands);
}

export function draftDiscarded(state: DraftState): Step {
  const request = state.inFlight;
  if (request?.kind !== "discard") return { state, commands: [] };
  return pump({ ...state, inFlight: null, serverSeq: null, serverSavedAt: null }, []);
}

export function draftFailed(state: DraftState, failure: SaveFailure): Step {
  const request = state.inFlight;
  if (request?.kind !== "draft" && request?.kind !== "discard") {
    return { state, commands: [] };
  }
  const next: DraftState = {
    ...state,
    inFlight: null,
    failure: { request: "draft", failure, seq: request.seq },
    // Try again later by itself, unless the server refused the text as such.
    timerArmed: failure.kind === "retry",
  };
  const commands: Command[] =
    failure.kind === "retry" ? [{ type: "arm-timer", ms: RETRY_DELAY_MS }] : [];
  return pump(next, commands);
}

export function revisionStored(
  state: DraftState,
  revision: Revision,
  syntax: CodeLocation | null,
): Step {
  const request = state.inFlight;
  if (request?.kind !== "revision") return { state, commands: [] };
  const next: DraftState = {
    ...state,
    inFlight: null,
    base: baseOf(revision),
    cleanSeq: request.seq,
    // The server dropped this person's draft: the revision holds that text now.
    serverSeq: null,
    serverSavedAt: null,
    conflict: null,
    failure: null,
    syntax: { seq: request.seq, error: syntax },
    conflictShown: revision.revision,
  };
  const commands: Command[] = [
    {
      type: "settle",
      id: request.id,
      outcome: { ok: true, revision: revision.revision, created: true },
    },
  ];
  if (isDirty(next)) {
    // Typed while saving: that text becomes the next draft.
    next.timerArmed = true;
    commands.push({ type: "write-local" }, { type: "arm-timer", ms: DRAFT_DELAY_MS });
  } else {
    commands.push({ type: "clear-local" });
  }
  return pump(next, commands);
}

export function revisionFailed(state: DraftState, failure: SaveFailure): Step {
  const request = state.inFlight;
  if (request?.kind !== "revision") return { state, commands: [] };
  let next: DraftState = { ...state, inFlight: null };
  const commands: Command[] = [
    { type: "settle", id: request.id, outcome: { ok: false, failure } },
  ];
  if (failure.kind === "conflict") {
    next = { ...next, conflict: failure.theirs };
    if (next.conflictShown !== failure.theirs.revision) {
      next.conflictShown = failure.theirs.revision;
      commands.push({ type: "show-conflict", theirs: failure.theirs });
    }
  } else if (failure.kind === "invalid" && failure.location) {
    // Code that does not parse, refused by Run It! or Deploy: a marker, and the draft
    // stays what the status bar shows (the caller explains why nothing ran).
    next.syntax = { seq: request.seq, error: failure.location };
  } else {
    next.failure = { request: "revision", failure, seq: request.seq };
  }
  return pump(next, commands);
}

// ----- what goes next -----------------------------------------------------------------

/** Starts the next request when none is in flight: a revision asked for, else a due draft. */
function pump(state: DraftState, commands: Command[]): Step {
  if (state.inFlight) return { state, commands };
  const [first, ...rest] = state.queued;
  if (first) {
    const { id, options } = first;
    if (state.conflict && !options.overwrite) {
      const failure: SaveFailure = {
        kind: "conflict",
        theirs: state.conflict,
        message: `Revision ${state.conflict.revision} by ${state.conflict.author ?? "someone"} is newer than the one you edited.`,
      };
      return pump({ ...state, queued: rest }, [
        ...commands,
        { type: "settle", id, outcome: { ok: false, failure } },
      ]);
    }
    if (!isDirty(state) && !options.force && !options.overwrite) {
      return pump({ ...state, queued: rest }, [
        ...commands,
        {
          type: "settle",
          id,
          outcome: { ok: true, revision: state.base.revision, created: false },
        },
      ]);
    }
    return {
      state: {
        ...state,
        queued: rest,
        timerArmed: false,
        inFlight: { kind: "revision", seq: state.seq, id, options },
      },
      commands: [
        ...commands,
        { type: "cancel-timer" },
        {
          type: "save-revision",
          base: state.base.revision,
          overwrite: options.overwrite,
          allowSyntaxErrors: options.allowSyntaxErrors,
        },
      ],
    };
  }
  if (state.timerArmed) return { state, commands };
  // The server refused this very text (too long…): only an edit can change its mind.
  const refused =
    state.failure?.request === "draft" &&
    state.failure.failure.kind !== "retry" &&
    state.failure.seq === state.seq;
  if (isDirty(state) && state.serverSeq !== state.seq && !refused) {
    return {
      state: { ...state, inFlight: { kind: "draft", seq: state.seq } },
      commands: [...commands, { type: "put-draft", base: state.base.revision }],
    };
  }
  if (!isDirty(state) && state.serverSeq !== null) {
    return {
      state: { ...state, inFlight: { kind: "discard", seq: state.seq } },
      commands: [...commands, { type: "delete-draft" }],
    };
  }
  return { state, commands };
}

// ----- text left from an earlier visit -------------------------------------------------

/** A draft found when the editor opens: on the server, or in this browser. */
export interface KeptDraft {
  code: string;
  base: number;
  at: string;
  source: "server" | "browser";
}

export type Recovery =
  /** Nothing worth showing; drop what is stored (it equals the latest revision). */
  | { kind: "none"; dropServer: boolean; dropLocal: boolean }
  /** Edited from the latest revision: put it back in the editor as it was. */
  | { kind: "restore"; draft: KeptDraft; onServer: boolean }
  /** Edited from an older revision: someone saved since, so ask first. */
  | { kind: "offer"; draft: KeptDraft; onServer: boolean };

/**
 * Which kept draft the editor opens with: the newer of the server's and this browser's
 * (the browser's copy is written first, so it is never older than what it sent).
 */
export function pickRecovery(
  latest: { revision: number; code: string },
  server: KeptDraft | null,
  local: KeptDraft | null,
): Recovery {
  const useful = [server, local].filter(
    (d): d is KeptDraft => d !== null && d.code !== latest.code,
  );
  if (!useful.length) {
    return { kind: "none", dropServer: server !== null, dropLocal: local !== null };
  }
  const time = (d: KeptDraft): number => {
    const t = Date.parse(d.at);
    return Number.isNaN(t) ? 0 : t;
  };
  const draft = useful.reduce((a, b) => (time(b) > time(a) ? b : a));
  const onServer = server !== null && server.code === draft.code;
  return {
    kind: draft.base === latest.revision ? "restore" : "offer",
    draft,
    onServer,
  };
}
