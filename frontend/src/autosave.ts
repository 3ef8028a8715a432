/**
 * Autosave for the KScript editor and the API method editor: a debounced save after
 * typing stops, an immediate one on flush (blur, Run It!, leaving the page), at most one
 * request in flight, and always the base revision the text was edited from. A conflict
 * pauses saving until the person decides; nothing here ever replaces the text.
 */
import { classifySaveError, type SaveFailure } from "./kscriptLogic";
import type { Revision } from "./kscriptApi";

export type SaveStatus<R extends SavedRevision = Revision> =
  | { kind: "saved"; revision: number; savedAt: string; author: string | null }
  | { kind: "dirty" }
  | { kind: "saving" }
  | { kind: "failed"; failure: SaveFailure<R> };

/** What autosave needs of a revision (a KScript's or an API method's). */
export interface SavedRevision {
  revision: number;
  saved_at: string;
  author: string | null;
}

export interface AutosaveOptions<R extends SavedRevision = Revision> {
  /** The revision the editor's text was loaded from. */
  base: R;
  /** Sends the current text on top of `base`; resolves to the new revision. */
  save: (base: number, overwrite: boolean) => Promise<R>;
  onStatus: (status: SaveStatus<R>) => void;
  /** Called after each successful save (the text's new base). */
  onSaved?: (revision: R) => void;
  /** What a failed save means (default: the KScript IDE's reading of its errors). */
  classify?: (error: unknown) => SaveFailure<R>;
  delayMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class Autosaver<R extends SavedRevision = Revision> {
  private baseRevision: number;
  private status: SaveStatus<R>;
  private timer: unknown = null;
  private inFlight: Promise<boolean> | null = null;
  /** Bumped on every edit, so a save knows whether newer text arrived meanwhile. */
  private editSeq = 0;
  private savedSeq = 0;
  private readonly options: AutosaveOptions<R>;
  private readonly delayMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(options: AutosaveOptions<R>) {
    this.options = options;
    this.delayMs = options.delayMs ?? 1000;
    this.setTimer = options.setTimer ?? ((fn, ms) => window.setTimeout(fn, ms));
    this.clearTimer =
      options.clearTimer ?? ((handle) => window.clearTimeout(handle as number));
    this.baseRevision = options.base.revision;
    this.status = savedStatus(options.base);
  }

  get base(): number {
    return this.baseRevision;
  }

  get current(): SaveStatus<R> {
    return this.status;
  }

  /** True while there is text the server does not have. */
  get unsaved(): boolean {
    return this.editSeq !== this.savedSeq;
  }

  get inConflict(): boolean {
    return this.status.kind === "failed" && this.status.failure.kind === "conflict";
  }

  /** The text changed: save once typing has paused. */
  edit(): void {
    this.editSeq += 1;
    if (this.inConflict) return; // the person decides first; the text stays
    this.setStatus({ kind: "dirty" });
    this.schedule();
  }

  /** Save now if anything is unsaved. Resolves true when the server has the text. */
  async flush(): Promise<boolean> {
    this.cancelTimer();
    if (this.inFlight) {
      await this.inFlight;
      if (!this.unsaved) return true;
    }
    if (!this.unsaved) return true;
    if (this.inConflict) return false;
    return this.run(false);
  }

  /** Save the current text over whatever is newer (the person chose "overwrite"). */
  async overwrite(): Promise<boolean> {
    this.cancelTimer();
    if (this.inFlight) await this.inFlight;
    return this.run(true);
  }

  /** The editor now holds `revision` exactly (loaded theirs, or opened another one). */
  reset(revision: R): void {
    this.cancelTimer();
    this.baseRevision = revision.revision;
    this.savedSeq = this.editSeq;
    this.setStatus(savedStatus(revision));
  }

  /** Mark the current text as needing a save even without an edit (e.g. restore). */
  touch(): void {
    this.editSeq += 1;
  }

  dispose(): void {
    this.cancelTimer();
  }

  private schedule(): void {
    this.cancelTimer();
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  private run(overwrite: boolean): Promise<boolean> {
    const seq = this.editSeq;
    this.setStatus({ kind: "saving" });
    const attempt = this.options.save(this.baseRevision, overwrite).then(
      (revision) => {
        this.baseRevision = revision.revision;
        this.savedSeq = seq;
        this.options.onSaved?.(revision);
        if (this.unsaved) {
          // Typed while saving: that text goes in the next save.
          this.setStatus({ kind: "dirty" });
          this.schedule();
        } else {
          this.setStatus(savedStatus(revision));
        }
        return true;
      },
      (error: unknown) => {
        const classify =
          this.options.classify ?? (classifySaveError as (e: unknown) => SaveFailure<R>);
        this.setStatus({ kind: "failed", failure: classify(error) });
        return false;
      },
    );
    this.inFlight = attempt.finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private setStatus(status: SaveStatus<R>): void {
    this.status = status;
    this.options.onStatus(status);
  }
}

function savedStatus<R extends SavedRevision>(revision: R): SaveStatus<R> {
  return {
    kind: "saved",
    revision: revision.revision,
    savedAt: revision.saved_at,
    author: revision.author,
  };
}
