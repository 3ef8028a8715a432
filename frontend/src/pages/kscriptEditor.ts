/**
 * /apps/<id>/kscripts/<method>: the KScript IDE. Monaco with the K API typings,
 * autosave against the base revision (with the overwrite warning on 409), revision
 * history, Run It! on the draft, and deploy.
 */
import "./kscripts.css";
import { ApiError, type AppDetail } from "../api";
import { Autosaver, type SaveStatus } from "../autosave";
import type { PageContext } from "../context";
import { openDialog } from "../dialog";
import { badge, button, h, withBusy } from "../dom";
import { errorText, formatRelative } from "../format";
import { icon } from "../icons";
import {
  kscriptApi,
  type Definition,
  type Revision,
  type RevisionEntry,
  type RunError,
} from "../kscriptApi";
import { deployState, formatSavedAt, type CodeLocation } from "../kscriptLogic";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import { definitionDialog } from "./kscriptForm";
import { runPanel } from "./kscriptRun";
import { kscriptsPath, loadKScriptApp } from "./kscripts";
import { codeDialog, diffDialog, type Monaco } from "./kscriptViews";

const HOST_CLASS = "ks-ide-host";

export async function kscriptEditorPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("KScript");
  const app = await loadKScriptApp(ctx);
  if (!app) return;
  const methodId = ctx.params.method ?? "";
  const [m, loaded, deployments, typings] = await Promise.all([
    import("../monaco"),
    kscriptApi.get(app.id, methodId),
    kscriptApi.deployments(app.id),
    kscriptApi.typings(app.id, methodId),
  ]);
  if (ctx.signal.aborted) return;
  m.setKTypings(typings);
  const live = deployments.find((d) => d.live);
  new Ide(
    ctx,
    app,
    m,
    loaded,
    live ? (live.revisions[loaded.name] ?? null) : null,
    live?.number ?? null,
  );
}

class Ide {
  private readonly ctx: PageContext;
  private readonly app: AppDetail;
  private readonly m: Monaco;
  private readonly methodId: number;
  private definition: Definition;
  private name: string;
  private deployedRevision: number | null;
  private liveNumber: number | null;
  private readonly autosaver: Autosaver;
  private readonly editor: ReturnType<Monaco["monaco"]["editor"]["create"]>;
  private readonly model: ReturnType<Monaco["monaco"]["editor"]["createModel"]>;
  /** Set while the editor's text is replaced by the program, not typed. */
  private applyingRemote = false;
  private lastSaveError: unknown = null;
  private conflictShownFor = 0;
  private historyStale = true;
  /** Lines with Kiln's own error markers per owner (save / run), for tests and styling. */
  private readonly markerLines = new Map<string, number[]>();
  private readonly editorHost = h("div", {
    class: "ks-editor",
    testid: "kscript-editor",
    "data-error-lines": "",
  });
  private readonly el = {
    title: h("h1", { class: "ks-ide-title", testid: "kscript-editor-title" }),
    meta: h("div", { class: "ks-ide-meta" }),
    live: h("span", { class: "ks-live-slot" }),
    status: h("div", { class: "ks-status", testid: "save-status", role: "status" }),
    cursor: h("span", { class: "ks-cursor" }, "Ln 1, Col 1"),
    historyBody: h("div", { class: "ks-history", testid: "history-panel" }),
    historyPanel: h("div", {
      role: "tabpanel",
      id: "ks-panel-history",
      "aria-labelledby": "ks-tab-history",
      hidden: true,
    }),
  };
  private readonly run: ReturnType<typeof runPanel>;

  constructor(
    ctx: PageContext,
    app: AppDetail,
    m: Monaco,
    loaded: Revision,
    deployedRevision: number | null,
    liveNumber: number | null,
  ) {
    this.ctx = ctx;
    this.app = app;
    this.m = m;
    this.methodId = loaded.id;
    this.definition = pickDefinition(loaded);
    this.name = loaded.name;
    this.deployedRevision = deployedRevision;
    this.liveNumber = liveNumber;

    this.run = runPanel({
      run: (values) => this.runDraft(values),
      onError: (error) => this.markRunError(error),
      methodName: () => this.name,
      goTo: (line, column) => this.goTo(line, column),
    });
    this.run.setParams(this.definition.params);

    const editorHost = this.editorHost;
    this.buildLayout(editorHost);

    this.model = m.monaco.editor.createModel(
      loaded.code,
      "javascript",
      m.monaco.Uri.parse(`file:///kscript/${app.id}/${loaded.id}/${loaded.name}.js`),
    );
    this.editor = m.monaco.editor.create(editorHost, {
      ...m.EDITOR_OPTIONS,
      model: this.model,
      theme: m.theme(),
      ariaLabel: `Code of ${loaded.name}`,
    });

    this.autosaver = new Autosaver({
      base: loaded,
      save: (base, overwrite) => this.save(base, overwrite),
      onStatus: (status) => this.paintStatus(status),
      onSaved: (revision) => this.saved(revision),
    });

    this.model.onDidChangeContent(() => {
      // A run error points into the code that ran; once edited, the place may be gone.
      this.setMarkers("kiln-run", []);
      if (this.applyingRemote) return;
      this.autosaver.edit();
    });
    this.editor.onDidBlurEditorText(() => void this.autosaver.flush());
    this.editor.onDidChangeCursorPosition((e) => {
      this.el.cursor.textContent = `Ln ${e.position.lineNumber}, Col ${e.position.column}`;
    });
    this.editor.addCommand(m.monaco.KeyMod.CtrlCmd | m.monaco.KeyCode.Enter, () =>
      this.run.trigger(),
    );
    this.editor.addCommand(m.monaco.KeyMod.CtrlCmd | m.monaco.KeyCode.KeyS, () => {
      void this.autosaver.flush();
    });

    const beforeUnload = (event: BeforeUnloadEvent): void => {
      if (!this.autosaver.unsaved) return;
      this.stashDraft();
      void this.autosaver.flush();
      event.preventDefault();
    };
    window.addEventListener("beforeunload", beforeUnload);
    ctx.signal.addEventListener("abort", () => {
      window.removeEventListener("beforeunload", beforeUnload);
      ctx.main.classList.remove(HOST_CLASS);
      // Leaving the page inside the console: the text still goes to the server, and
      // when it cannot (conflict, syntax error, offline) it waits in session storage.
      const code = this.model.getValue();
      void this.autosaver
        .flush()
        .then((ok) => {
          if (!ok) this.stashDraft(code);
        })
        .finally(() => {
          this.autosaver.dispose();
          this.editor.dispose();
          this.model.dispose();
        });
    });

    this.paintStatus(this.autosaver.current);
    this.paintHeader();
    this.editor.focus();
    this.offerStashedDraft(loaded);
  }

  // ----- text that could not be saved last time ------------------------------------

  private get stashKey(): string {
    return `kiln:kscript-draft:${this.app.id}:${this.methodId}`;
  }

  private stashDraft(code = this.model.getValue()): void {
    const draft: StashedDraft = {
      code,
      base: this.autosaver.base,
      at: new Date().toISOString(),
    };
    try {
      sessionStorage.setItem(this.stashKey, JSON.stringify(draft));
    } catch {
      // Storage full or disabled: the beforeunload prompt is the remaining guard.
    }
  }

  private dropStash(): void {
    try {
      sessionStorage.removeItem(this.stashKey);
    } catch {
      // nothing stored
    }
  }

  private offerStashedDraft(loaded: Revision): void {
    const draft = readStash(this.stashKey);
    if (!draft || typeof draft.code !== "string" || draft.code === loaded.code) {
      this.dropStash();
      return;
    }
    const stashed = draft;
    const compare = button("Compare", { testid: "stash-compare" });
    const discard = button("Discard it", { variant: "danger", testid: "stash-discard" });
    const restore = button("Put it in the editor", {
      variant: "primary",
      testid: "stash-restore",
    });
    const dialog = openDialog({
      title: "You left unsaved text here",
      description: h(
        "p",
        null,
        `Your changes from ${formatSavedAt(stashed.at)} (based on revision ${stashed.base}) could not be saved. `,
        `The method is now at revision ${loaded.revision}.`,
      ),
      footer: [compare, discard, restore],
      testid: "stash-dialog",
    });
    dialog.panel.classList.add("ks-dialog-conflict");
    compare.addEventListener("click", () => {
      diffDialog(this.m, {
        title: "Saved revision ↔ your unsaved text",
        original: loaded.code,
        modified: stashed.code,
        originalLabel: `Revision ${loaded.revision} by ${loaded.author ?? "someone"}`,
        modifiedLabel: `Your unsaved text from ${formatSavedAt(stashed.at)}`,
        testid: "stash-diff",
      });
    });
    discard.addEventListener("click", () => {
      this.dropStash();
      dialog.close();
    });
    restore.addEventListener("click", () => {
      this.dropStash();
      dialog.close();
      this.replaceText(stashed.code, true);
    });
  }

  // ----- layout ------------------------------------------------------------------

  private buildLayout(editorHost: HTMLElement): void {
    const { ctx, app } = this;
    ctx.main.classList.add(HOST_CLASS);
    ctx.setCrumbs([
      { label: "Apps", href: "/apps" },
      { label: app.name, href: appHome(app) },
      { label: "KScript", href: kscriptsPath(app.id) },
      { label: this.name },
    ]);

    const details = button([icon("edit", 14), "Details"], {
      size: "sm",
      testid: "kscript-details",
      title: "Title, return type and parameters",
    });
    details.addEventListener("click", () => this.editDetails());
    const deploy = button([icon("rocket", 14), "Deploy"], {
      size: "sm",
      testid: "deploy",
      variant: "primary",
    });
    deploy.addEventListener("click", () => this.deploy(deploy));

    const runTab = this.tab("Run It!", "run", true);
    const historyTab = this.tab("History", "history", false);
    const runPanelEl = h(
      "div",
      { role: "tabpanel", id: "ks-panel-run", "aria-labelledby": "ks-tab-run" },
      this.run.el,
    );
    const historyPanelEl = this.el.historyPanel;
    historyPanelEl.append(this.el.historyBody);
    const select = (which: "run" | "history"): void => {
      runTab.setAttribute("aria-selected", String(which === "run"));
      historyTab.setAttribute("aria-selected", String(which === "history"));
      runPanelEl.hidden = which !== "run";
      historyPanelEl.hidden = which !== "history";
      if (which === "history" && this.historyStale) void this.loadHistory();
    };
    runTab.addEventListener("click", () => select("run"));
    historyTab.addEventListener("click", () => select("history"));

    ctx.main.replaceChildren(
      h(
        "div",
        { class: "ks-ide", testid: "kscript-ide" },
        h(
          "header",
          { class: "ks-ide-head" },
          h(
            "div",
            { class: "ks-ide-id" },
            h(
              "a",
              {
                href: kscriptsPath(app.id),
                class: "btn btn-ghost btn-sm",
                testid: "kscript-back",
              },
              "← Methods",
            ),
            h("div", { class: "ks-ide-names" }, this.el.title, this.el.meta),
          ),
          h("div", { class: "ks-ide-actions" }, this.el.live, details, deploy),
        ),
        h(
          "div",
          { class: "ks-ide-body" },
          h(
            "section",
            { class: "ks-editor-card card", "aria-label": "Code" },
            editorHost,
            h("footer", { class: "ks-statusbar" }, this.el.status, this.el.cursor),
          ),
          h(
            "aside",
            { class: "ks-side card", "aria-label": "Run and history" },
            h("div", { class: "ks-tabs", role: "tablist" }, runTab, historyTab),
            h("div", { class: "ks-side-body" }, runPanelEl, historyPanelEl),
          ),
        ),
      ),
    );
    ctx.refreshNav();
  }

  private tab(label: string, id: string, selected: boolean): HTMLButtonElement {
    return h(
      "button",
      {
        type: "button",
        role: "tab",
        class: "ks-tab",
        id: `ks-tab-${id}`,
        "aria-controls": `ks-panel-${id}`,
        "aria-selected": String(selected),
        testid: `tab-${id}`,
      },
      label,
    );
  }

  private paintHeader(): void {
    const d = this.definition;
    this.ctx.setTitle(`${this.name} · KScript`);
    this.el.title.textContent = d.title;
    this.el.meta.replaceChildren(
      h("code", { class: "ks-name", testid: "kscript-editor-name" }, this.name),
      h("span", null, `returns ${d.return_type}`),
      h(
        "span",
        { testid: "kscript-editor-params" },
        d.params.length
          ? `(${d.params.map((p) => `${p.name}: ${p.type}`).join(", ")})`
          : "no parameters",
      ),
    );
    this.paintLive();
  }

  private paintLive(): void {
    const latest = this.autosaver?.base ?? 0;
    const state = deployState(latest, this.deployedRevision);
    const text =
      state === "live"
        ? `Live · rev ${this.deployedRevision}`
        : state === "changed"
          ? `Changed since deploy · live: rev ${this.deployedRevision}`
          : "Not deployed";
    const el = badge(
      text,
      state === "live" ? "success" : state === "changed" ? "accent" : "neutral",
      "kscript-live",
    );
    el.dataset.state = state;
    if (this.liveNumber !== null) el.title = `Live deployment #${this.liveNumber}`;
    this.el.live.replaceChildren(el);
  }

  // ----- saving ------------------------------------------------------------------

  private save(base: number, overwrite: boolean): Promise<Revision> {
    this.lastSaveError = null;
    return kscriptApi
      .save(this.app.id, this.methodId, {
        ...this.definition,
        code: this.model.getValue(),
        base_revision: base,
        overwrite,
      })
      .catch((error: unknown) => {
        this.lastSaveError = error;
        throw error;
      });
  }

  private saved(revision: Revision): void {
    this.setMarkers("kiln-save", []);
    this.dropStash();
    this.definition = pickDefinition(revision);
    const renamed = revision.name !== this.name;
    this.name = revision.name;
    this.historyStale = true;
    if (!this.el.historyPanel.hidden) void this.loadHistory();
    this.paintHeader();
    if (renamed) this.ctx.refreshNav();
  }

  private paintStatus(status: SaveStatus): void {
    const el = this.el.status;
    el.dataset.state = status.kind === "failed" ? status.failure.kind : status.kind;
    switch (status.kind) {
      case "saved":
        el.replaceChildren(
          h("span", { class: "ks-dot ks-dot-ok" }),
          `Saved revision ${status.revision} · ${formatSavedAt(status.savedAt)}`,
          status.author && status.author !== this.ctx.user.username
            ? h("span", { class: "muted" }, ` by ${status.author}`)
            : "",
        );
        break;
      case "dirty":
        el.replaceChildren(h("span", { class: "ks-dot" }), "Unsaved changes");
        break;
      case "saving":
        el.replaceChildren(h("span", { class: "spinner ks-spinner" }), "Saving…");
        break;
      case "failed": {
        const failure = status.failure;
        const action =
          failure.kind === "conflict"
            ? button("Resolve…", {
                size: "sm",
                variant: "ghost",
                testid: "resolve-conflict",
              })
            : failure.kind === "retry"
              ? button("Retry", { size: "sm", variant: "ghost", testid: "retry-save" })
              : null;
        action?.addEventListener("click", () => {
          if (failure.kind === "conflict") this.conflictDialog(failure.theirs);
          else void this.autosaver.flush();
        });
        el.replaceChildren(
          h("span", { class: "ks-dot ks-dot-error" }),
          h("span", { class: "ks-status-text" }, `Not saved: ${failure.message}`),
          action ?? "",
        );
        if (failure.kind === "invalid") {
          this.setMarkers("kiln-save", failure.location ? [failure.location] : []);
        }
        if (
          failure.kind === "conflict" &&
          this.conflictShownFor !== failure.theirs.revision
        ) {
          this.conflictShownFor = failure.theirs.revision;
          this.conflictDialog(failure.theirs);
        }
        break;
      }
    }
  }

  /** Replaces the editor's text as one undoable edit, without autosaving it. */
  private replaceText(code: string, autosave: boolean): void {
    this.applyingRemote = !autosave;
    try {
      this.editor.pushUndoStop();
      this.editor.executeEdits("kiln", [
        { range: this.model.getFullModelRange(), text: code },
      ]);
      this.editor.pushUndoStop();
    } finally {
      this.applyingRemote = false;
    }
  }

  private conflictDialog(theirs: Revision): void {
    const who = theirs.author ?? "Someone";
    const when = `${formatSavedAt(theirs.saved_at)} (${formatRelative(theirs.saved_at)})`;
    const message = h(
      "div",
      { class: "ks-conflict-msg" },
      h(
        "p",
        { testid: "conflict-message" },
        h("strong", null, who),
        ` saved revision ${theirs.revision} at ${when}, after revision ${this.autosaver.base} that your text is based on.`,
      ),
      h("p", null, "Your text is still in the editor and not saved. What should happen?"),
    );
    const compare = button("Compare", { testid: "conflict-compare" });
    const loadTheirs = button("Load theirs (discard mine)", {
      variant: "danger",
      testid: "conflict-load-theirs",
    });
    const overwrite = button("Overwrite with mine", {
      variant: "primary",
      testid: "conflict-overwrite",
    });
    const later = button("Decide later", { variant: "ghost", testid: "conflict-later" });
    const dialog = openDialog({
      title: "Someone else saved this method",
      description: message,
      footer: [later, compare, loadTheirs, overwrite],
      testid: "conflict-dialog",
      initialFocus: () => compare,
    });
    dialog.panel.classList.add("ks-dialog-conflict");
    later.addEventListener("click", () => dialog.close());
    compare.addEventListener("click", () => {
      dialog.close();
      const keep = button("Keep editing", { variant: "ghost", testid: "diff-close" });
      const theirsBtn = button("Load theirs (discard mine)", {
        variant: "danger",
        testid: "diff-load-theirs",
      });
      const mineBtn = button("Overwrite with mine", {
        variant: "primary",
        testid: "diff-overwrite",
      });
      const diff = diffDialog(this.m, {
        title: `Revision ${theirs.revision} by ${who} ↔ your text`,
        original: theirs.code,
        modified: this.model.getValue(),
        originalLabel: `Theirs: revision ${theirs.revision} by ${who}, ${when}`,
        modifiedLabel: "Yours: not saved",
        testid: "conflict-diff",
        footer: [keep, theirsBtn, mineBtn],
      });
      keep.addEventListener("click", () => diff.close());
      theirsBtn.addEventListener("click", () => {
        diff.close();
        this.loadTheirs(theirs);
      });
      mineBtn.addEventListener("click", () => {
        diff.close();
        void this.autosaver.overwrite();
      });
    });
    loadTheirs.addEventListener("click", () => {
      dialog.close();
      this.loadTheirs(theirs);
    });
    overwrite.addEventListener("click", () => {
      dialog.close();
      void this.autosaver.overwrite();
    });
  }

  private loadTheirs(theirs: Revision): void {
    this.definition = pickDefinition(theirs);
    this.name = theirs.name;
    this.replaceText(theirs.code, false);
    this.autosaver.reset(theirs);
    this.run.setParams(this.definition.params);
    this.setMarkers("kiln-save", []);
    this.historyStale = true;
    this.paintHeader();
    toast(
      `Loaded revision ${theirs.revision}. Undo (Ctrl+Z) brings your text back.`,
      "info",
      6000,
    );
  }

  /** Saves now; explains why not when it cannot (conflict, syntax error, network). */
  private async saveNow(purpose: string): Promise<void> {
    if (this.autosaver.inConflict) {
      throw new Error(`Resolve the save conflict before you ${purpose}.`);
    }
    if (await this.autosaver.flush()) return;
    const status = this.autosaver.current;
    const reason =
      status.kind === "failed" ? status.failure.message : "the draft could not be saved";
    throw new Error(
      `Not saved, so not ${purpose === "run" ? "run" : "deployed"}: ${reason}`,
    );
  }

  // ----- details, run, deploy ------------------------------------------------------

  private editDetails(): void {
    void definitionDialog({
      title: `Details of ${this.name}`,
      submitLabel: "Save details",
      initial: this.definition,
      submit: async (definition) => {
        if (this.autosaver.inConflict)
          throw new Error("Resolve the save conflict first.");
        const previous = this.definition;
        this.definition = definition;
        this.autosaver.touch();
        if (!(await this.autosaver.flush())) {
          this.definition = previous;
          const error = this.lastSaveError;
          if (error instanceof ApiError) throw error;
          throw new Error("The details could not be saved.");
        }
        this.run.setParams(this.definition.params);
        void kscriptApi.typings(this.app.id, this.methodId).then(
          (dts) => this.m.setKTypings(dts),
          () => undefined,
        );
      },
    });
  }

  private async runDraft(values: Record<string, unknown>) {
    await this.saveNow("run");
    return kscriptApi.run(this.app.id, this.methodId, values);
  }

  private deploy(btn: HTMLButtonElement): void {
    void withBusy(btn, async () => {
      await this.saveNow("deploy");
      return kscriptApi.deploy(this.app.id);
    }).then(
      (deployment) => {
        this.deployedRevision = deployment.revisions[this.name] ?? null;
        this.liveNumber = deployment.number;
        this.paintLive();
        toast(`Deployment #${deployment.number} is live.`, "success");
      },
      (err: unknown) => toastError(err, "Deploy failed"),
    );
  }

  private markRunError(error: RunError | null): void {
    if (!error || !error.line || (error.method && error.method !== this.name)) {
      this.setMarkers("kiln-run", []);
      return;
    }
    this.setMarkers("kiln-run", [
      {
        line: error.line,
        column: error.column ?? 1,
        message: `${error.type}: ${error.message}`,
      },
    ]);
    this.editor.revealLineInCenterIfOutsideViewport(error.line);
  }

  private setMarkers(owner: string, locations: CodeLocation[]): void {
    const { monaco } = this.m;
    this.markerLines.set(
      owner,
      locations.map((loc) => loc.line),
    );
    const lines = [...new Set([...this.markerLines.values()].flat())].sort(
      (a, b) => a - b,
    );
    this.editorHost.dataset.errorLines = lines.join(" ");
    monaco.editor.setModelMarkers(
      this.model,
      owner,
      locations.map((loc) => {
        const line = Math.min(Math.max(loc.line, 1), this.model.getLineCount());
        const column = Math.max(loc.column, 1);
        const word = this.model.getWordAtPosition({ lineNumber: line, column });
        return {
          severity: monaco.MarkerSeverity.Error,
          message: loc.message,
          startLineNumber: line,
          startColumn: column,
          endLineNumber: line,
          endColumn: word ? word.endColumn : this.model.getLineMaxColumn(line),
        };
      }),
    );
  }

  private goTo(line: number, column: number): void {
    this.editor.revealLineInCenter(line);
    this.editor.setPosition({ lineNumber: line, column });
    this.editor.focus();
  }

  // ----- history -------------------------------------------------------------------

  private async loadHistory(): Promise<void> {
    this.historyStale = false;
    const body = this.el.historyBody;
    if (!body.childElementCount) {
      body.replaceChildren(
        h(
          "p",
          { class: "loading small" },
          h("span", { class: "spinner" }),
          "Loading revisions…",
        ),
      );
    }
    let entries: RevisionEntry[];
    try {
      entries = await kscriptApi.revisions(this.app.id, this.methodId);
    } catch (err) {
      this.historyStale = true;
      body.replaceChildren(h("p", { class: "form-error" }, errorText(err)));
      return;
    }
    if (this.ctx.signal.aborted) return;
    const current = this.autosaver.base;
    body.replaceChildren(
      h(
        "p",
        { class: "muted small" },
        "Every save is a revision. Restoring saves an old revision's code as a new one.",
      ),
      h(
        "ol",
        { class: "ks-revisions" },
        entries.map((entry) => this.revisionRow(entry, current)),
      ),
    );
  }

  private revisionRow(entry: RevisionEntry, current: number): HTMLElement {
    const view = button("View", {
      size: "sm",
      variant: "ghost",
      testid: "revision-view",
    });
    const compare = button("Compare", {
      size: "sm",
      variant: "ghost",
      testid: "revision-compare",
    });
    const restore = button("Restore", {
      size: "sm",
      variant: "ghost",
      testid: "revision-restore",
    });
    const isCurrent = entry.revision === current;
    restore.disabled = isCurrent && !this.autosaver.unsaved;
    const fetchIt = (): Promise<Revision> =>
      kscriptApi.revision(this.app.id, this.methodId, entry.revision);
    view.addEventListener("click", () => {
      void withBusy(view, fetchIt).then((rev) => {
        const restoreBtn = button("Restore this revision", {
          variant: "primary",
          testid: "view-restore",
        });
        const close = button("Close", { testid: "view-close" });
        const dialog = codeDialog(this.m, {
          title: `Revision ${rev.revision}`,
          description: `${rev.author ?? "someone"} · ${formatSavedAt(rev.saved_at)} · ${rev.title}`,
          code: rev.code,
          testid: "revision-dialog",
          footer: [close, restoreBtn],
        });
        close.addEventListener("click", () => dialog.close());
        restoreBtn.addEventListener("click", () => {
          dialog.close();
          void this.restore(rev);
        });
      }, toastError);
    });
    compare.addEventListener("click", () => {
      void withBusy(compare, fetchIt).then((rev) => {
        const close = button("Close", { testid: "diff-close" });
        const dialog = diffDialog(this.m, {
          title: `Revision ${rev.revision} ↔ current text`,
          original: rev.code,
          modified: this.model.getValue(),
          originalLabel: `Revision ${rev.revision} by ${rev.author ?? "someone"}, ${formatSavedAt(rev.saved_at)}`,
          modifiedLabel: this.autosaver.unsaved
            ? "Current text (unsaved)"
            : `Current text (revision ${this.autosaver.base})`,
          testid: "revision-diff",
          footer: [close],
        });
        close.addEventListener("click", () => dialog.close());
      }, toastError);
    });
    restore.addEventListener("click", () => {
      void withBusy(restore, fetchIt).then((rev) => this.restore(rev), toastError);
    });
    return h(
      "li",
      {
        class: isCurrent ? "ks-revision current" : "ks-revision",
        testid: "revision-row",
        "data-revision": String(entry.revision),
      },
      h(
        "div",
        { class: "ks-revision-head" },
        h("strong", null, `Revision ${entry.revision}`),
        isCurrent ? badge("current", "accent") : null,
        this.deployedRevision === entry.revision ? badge("live", "success") : null,
      ),
      h(
        "div",
        { class: "muted small", title: new Date(entry.saved_at).toLocaleString() },
        `${entry.author ?? "someone"} · ${formatSavedAt(entry.saved_at)} · ${formatRelative(entry.saved_at)}`,
      ),
      h("div", { class: "ks-revision-actions" }, view, compare, restore),
    );
  }

  private async restore(rev: Revision): Promise<void> {
    if (this.autosaver.inConflict) {
      toast("Resolve the save conflict first.", "error");
      return;
    }
    this.replaceText(rev.code, true);
    this.autosaver.touch(); // a new revision even when the text did not change
    if (await this.autosaver.flush()) {
      toast(
        `Restored revision ${rev.revision} as revision ${this.autosaver.base}.`,
        "success",
      );
    }
  }
}

interface StashedDraft {
  code: string;
  base: number;
  at: string;
}

function readStash(key: string): StashedDraft | null {
  try {
    return JSON.parse(sessionStorage.getItem(key) ?? "null") as StashedDraft | null;
  } catch {
    return null;
  }
}

function pickDefinition(revision: Revision): Definition {
  return {
    title: revision.title,
    return_type: revision.return_type,
    params: revision.params,
  };
}
