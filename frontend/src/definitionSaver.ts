/** Saving the API method editor's definition as numbered revisions (see DefinitionSaver). */
import { ApiMethodConflict, type ApiMethodRevision } from "./apiMethodApi";
import { errorText } from "./format";

export type SaveState =
  | { kind: "saved"; revision: number; savedAt: string }
  | { kind: "dirty" }
  | { kind: "saving" }
  | { kind: "conflict"; message: string }
  | { kind: "failed"; message: string };

/**
 * Saves the definition a moment after the last change (or at once on flush), one request
 * at a time, always on top of the revision the edit started from. A 409 stops saving
 * until the person overwrites or loads theirs. (The KScript IDE's autosave keeps code
 * drafts with syntax checks; a definition is small JSON, saved whole as a revision.)
 */
export class DefinitionSaver {
  private timer: number | null = null;
  private inFlight: Promise<boolean> | null = null;
  private editSeq = 0;
  private savedSeq = 0;
  base: number;
  state: SaveState;

  constructor(
    loaded: ApiMethodRevision,
    private readonly send: (
      base: number,
      overwrite: boolean,
    ) => Promise<ApiMethodRevision>,
    private readonly onState: (state: SaveState) => void,
    private readonly onSaved: (revision: ApiMethodRevision) => void,
  ) {
    this.base = loaded.revision;
    this.state = { kind: "saved", revision: loaded.revision, savedAt: loaded.saved_at };
  }

  get unsaved(): boolean {
    return this.editSeq !== this.savedSeq;
  }

  edit(): void {
    this.editSeq += 1;
    if (this.state.kind === "conflict") return; // the person decides first
    this.set({ kind: "dirty" });
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.flush(), 800);
  }

  async flush(): Promise<boolean> {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) await this.inFlight;
    if (!this.unsaved) return true;
    if (this.state.kind === "conflict") return false;
    return this.run(false);
  }

  async overwrite(): Promise<boolean> {
    if (this.inFlight) await this.inFlight;
    return this.run(true);
  }

  /** The editor now holds `revision` exactly (theirs was loaded). */
  reset(revision: ApiMethodRevision): void {
    this.base = revision.revision;
    this.savedSeq = this.editSeq;
    this.set({ kind: "saved", revision: revision.revision, savedAt: revision.saved_at });
  }

  private run(overwrite: boolean): Promise<boolean> {
    const seq = this.editSeq;
    this.set({ kind: "saving" });
    this.inFlight = this.send(this.base, overwrite)
      .then(
        (revision) => {
          this.base = revision.revision;
          this.savedSeq = seq;
          this.onSaved(revision);
          this.set(
            this.unsaved
              ? { kind: "dirty" }
              : {
                  kind: "saved",
                  revision: revision.revision,
                  savedAt: revision.saved_at,
                },
          );
          if (this.unsaved) this.edit();
          return true;
        },
        (error: unknown) => {
          this.set(
            error instanceof ApiMethodConflict
              ? { kind: "conflict", message: error.message }
              : { kind: "failed", message: errorText(error) },
          );
          return false;
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private set(state: SaveState): void {
    this.state = state;
    this.onState(state);
  }
}
