/**
 * Drives the KScript editor's draft model (draftModel.ts): feeds it events, carries out
 * its commands — timers, requests, this browser's copy — and feeds the answers back.
 * All decisions are the model's; this class only does the I/O, with everything it
 * touches handed in, so tests run it with fake timers and a fake server.
 */
import {
  discarded,
  draftDiscarded,
  draftFailed,
  draftStored,
  edited,
  flush,
  initialState,
  isDirty,
  loaded,
  restored,
  revisionFailed,
  revisionStored,
  saveRequested,
  serverDraftExists,
  serverHasText,
  timerFired,
  type Command,
  type DraftState,
  type SaveOptions,
  type SaveOutcome,
  type Step,
} from "./draftModel";
import type { Revision } from "./kscriptApi";
import { classifySaveError, type CodeLocation } from "./kscriptLogic";

/** What the server answers to a draft. */
export interface DraftAnswer {
  saved_at: string;
  syntax_error: CodeLocation | null;
  newer: Revision | null;
}

/** A draft kept in this browser. */
export interface LocalDraft {
  code: string;
  base: number;
  at: string;
}

export interface AutosaveIO {
  /** The editor's text now. */
  text(): string;
  putDraft(code: string, base: number): Promise<DraftAnswer>;
  deleteDraft(): Promise<void>;
  saveRevision(
    code: string,
    base: number,
    overwrite: boolean,
    allowSyntaxErrors: boolean,
  ): Promise<{ revision: Revision; syntax: CodeLocation | null }>;
  /** localStorage; returns false when the browser would not keep it. */
  writeLocal(draft: LocalDraft): boolean;
  clearLocal(): void;
  onState(state: DraftState): void;
  onConflict(theirs: Revision): void;
  onSaved(revision: Revision): void;
  now?: () => Date;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** How long edits gather before this browser's copy is written. */
  localDelayMs?: number;
}

/** What still runs once the editor is gone: getting its last text to the server. */
const AFTER_DISPOSE = new Set<Command["type"]>(["put-draft", "delete-draft", "settle"]);

export class DraftAutosaver {
  private model: DraftState;
  private baseCode: string;
  private readonly io: AutosaveIO;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private timer: unknown = null;
  private localTimer: unknown = null;
  private localOk = true;
  /** The editor's text when it went away (null while it is there). */
  private finalText: string | null = null;
  private nextId = 0;
  private readonly waiting = new Map<number, (outcome: SaveOutcome) => void>();
  /** The code of the revision request in flight (it becomes the base code). */
  private sentCode = "";

  /** `syntax`: where the revision's code stops parsing (the server said so with it). */
  constructor(revision: Revision, io: AutosaveIO, syntax: CodeLocation | null = null) {
    this.io = io;
    this.model = initialState(revision, syntax);
    this.baseCode = revision.code;
    this.setTimer = io.setTimer ?? ((fn, ms) => window.setTimeout(fn, ms));
    this.clearTimer =
      io.clearTimer ?? ((handle) => window.clearTimeout(handle as number));
  }

  get state(): DraftState {
    return this.model;
  }

  get base(): number {
    return this.model.base.revision;
  }

  /** The code of the base revision. */
  get savedCode(): string {
    return this.baseCode;
  }

  get dirty(): boolean {
    return isDirty(this.model);
  }

  get inConflict(): boolean {
    return this.model.conflict !== null;
  }

  /** Closing the tab now would lose text: neither the server nor this browser has it. */
  get atRisk(): boolean {
    return !serverHasText(this.model) && !this.localOk;
  }

  /** The text changed by typing. */
  edit(): void {
    this.apply(edited(this.model, this.io.text() === this.baseCode));
  }

  /** The editor now holds `revision` exactly. */
  load(revision: Revision): void {
    this.baseCode = revision.code;
    this.apply(loaded(this.model, revision));
  }

  /** The editor holds the base revision's code again (the draft was dropped). */
  discard(): void {
    this.apply(discarded(this.model));
  }

  /** A draft kept earlier is in the editor again. */
  restore(draft: { onServer: boolean; savedAt: string }): void {
    this.apply(restored(this.model, draft));
  }

  /** The server keeps a draft the editor does not show: drop it once idle. */
  forgetServerDraft(): void {
    this.apply(serverDraftExists(this.model));
  }

  /** Send the draft now (Retry, leaving the page) and write this browser's copy. */
  flush(): void {
    this.flushLocal();
    this.apply(flush(this.model));
  }

  /** Make a revision of the current text; resolves once the server answered. */
  save(options: Partial<SaveOptions> = {}): Promise<SaveOutcome> {
    this.nextId += 1;
    const id = this.nextId;
    const outcome = new Promise<SaveOutcome>((resolve) => this.waiting.set(id, resolve));
    this.apply(
      saveRequested(this.model, id, {
        allowSyntaxErrors: options.allowSyntaxErrors ?? true,
        overwrite: options.overwrite ?? false,
        force: options.force ?? false,
      }),
    );
    return outcome;
  }

  /** Writes this browser's copy now if edits are waiting for it. */
  flushLocal(): void {
    if (this.localTimer === null) return;
    this.clearTimer(this.localTimer);
    this.localTimer = null;
    this.writeLocal();
  }

  /**
   * The editor is gone (call after flush). Its last text still goes to the server once
   * the request in flight is answered; no timers, no local writes, no repaints.
   */
  dispose(): void {
    this.flushLocal();
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.finalText = this.io.text();
  }

  private text(): string {
    return this.finalText ?? this.io.text();
  }

  private apply(step: Step): void {
    this.model = step.state;
    const gone = this.finalText !== null;
    for (const command of step.commands) {
      if (!gone || AFTER_DISPOSE.has(command.type)) this.run(command);
    }
    if (!gone) this.io.onState(this.model);
  }

  private run(command: Command): void {
    switch (command.type) {
      case "arm-timer":
        if (this.timer !== null) this.clearTimer(this.timer);
        this.timer = this.setTimer(() => {
          this.timer = null;
          this.apply(timerFired(this.model));
        }, command.ms);
        break;
      case "cancel-timer":
        if (this.timer !== null) this.clearTimer(this.timer);
        this.timer = null;
        break;
      case "write-local":
        // Typing fires this per keystroke: gather a moment, then write once.
        if (this.localTimer === null) {
          this.localTimer = this.setTimer(() => {
            this.localTimer = null;
            this.writeLocal();
          }, this.io.localDelayMs ?? 250);
        }
        break;
      case "clear-local":
        if (this.localTimer !== null) this.clearTimer(this.localTimer);
        this.localTimer = null;
        this.io.clearLocal();
        this.localOk = true;
        break;
      case "put-draft":
        this.io.putDraft(this.text(), command.base).then(
          (answer) =>
            this.apply(
              draftStored(this.model, {
                savedAt: answer.saved_at,
                syntax: answer.syntax_error,
                newer: answer.newer,
              }),
            ),
          (error: unknown) =>
            this.apply(draftFailed(this.model, classifySaveError(error))),
        );
        break;
      case "delete-draft":
        this.io.deleteDraft().then(
          () => this.apply(draftDiscarded(this.model)),
          (error: unknown) =>
            this.apply(draftFailed(this.model, classifySaveError(error))),
        );
        break;
      case "save-revision": {
        const code = this.text();
        this.sentCode = code;
        this.io
          .saveRevision(code, command.base, command.overwrite, command.allowSyntaxErrors)
          .then(
            ({ revision, syntax }) => {
              this.baseCode = this.sentCode;
              this.io.onSaved(revision);
              this.apply(revisionStored(this.model, revision, syntax));
            },
            (error: unknown) =>
              this.apply(revisionFailed(this.model, classifySaveError(error))),
          );
        break;
      }
      case "settle": {
        const resolve = this.waiting.get(command.id);
        this.waiting.delete(command.id);
        resolve?.(command.outcome);
        break;
      }
      case "show-conflict":
        this.io.onConflict(command.theirs);
        break;
    }
  }

  private writeLocal(): void {
    if (!isDirty(this.model)) return;
    this.localOk = this.io.writeLocal({
      code: this.text(),
      base: this.model.base.revision,
      at: (this.io.now?.() ?? new Date()).toISOString(),
    });
  }
}
