/**
 * /apps/<id>/kscripts/<method>: the KScript IDE. Monaco with the K API typings and this
 * app's names (completion and an Insert picker); a working draft kept as you type
 * (this browser and the server) while revisions are made only by Save, Run It! and
 * Deploy, against the base revision (the overwrite warning on a newer one); syntax
 * markers from V8; history with a diff of any two revisions; a deploy review; full
 * screen and a remembered light / dark / system theme.
 */
import "./kscripts.css";
import { ApiError, type AppDetail } from "../api";
import { DraftAutosaver, type LocalDraft } from "../draftAutosave";
import type { PageContext } from "../context";
import { openDialog } from "../dialog";
import { badge, button, h, withBusy } from "../dom";
import {
  currentSyntaxError,
  pickRecovery,
  statusOf,
  type DraftState,
  type KeptDraft,
} from "../draftModel";
import { formatRelative } from "../format";
import { icon } from "../icons";
import {
  THEME_CHOICES,
  loadPrefs,
  savePrefs,
  toggledFullScreen,
  withTheme,
  type IdePrefs,
  type ThemePref,
} from "../idePrefs";
import {
  kscriptApi,
  type Definition,
  type Draft,
  type Revision,
  type RunError,
  type SavedRevision,
  type Symbols,
} from "../kscriptApi";
import { deployState, formatSavedAt, type CodeLocation } from "../kscriptLogic";
import { insertionText, insideString, opensNameArgument } from "../kscriptSymbols";
import { toast } from "../toast";
import { appHome } from "./apps";
import { clearDeployFailure, reviewDeploy, showDeployFailure } from "./deployDialog";
import { definitionDialog } from "./kscriptForm";
import { historyPanel, type HistoryPanel } from "./kscriptHistory";
import { insertDialog } from "./kscriptInsert";
import { runPanel } from "./kscriptRun";
import { RunSocket } from "../runSocket";
import { kscriptsPath, loadKScriptApp } from "./kscripts";
import { diffDialog, type Monaco } from "./kscriptViews";

const HOST_CLASS = "ks-ide-host";
const FULL_CLASS = "ks-fullscreen";
const isMac = /Mac|iPhone|iPad/.test(navigator.platform);
const MOD = isMac ? "⌘" : "Ctrl";

export async function kscriptEditorPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("KScript");
  const app = await loadKScriptApp(ctx);
  if (!app) return;
  const methodId = ctx.params.method ?? "";
  const [m, loaded, deployments, typings, kept, symbols] = await Promise.all([
    import("../monaco"),
    kscriptApi.get(app.id, methodId),
    kscriptApi.deployments(app.id),
    kscriptApi.typings(app.id, methodId),
    kscriptApi.draft(app.id, methodId),
    kscriptApi.symbols(app.id),
  ]);
  if (ctx.signal.aborted) return;
  m.setKTypings(typings);
  const live = deployments.find((d) => d.live);
  new Ide(ctx, app, m, loaded, {
    deployedRevision: live ? (live.revisions[loaded.name] ?? null) : null,
    liveNumber: live?.number ?? null,
    serverDraft: kept.draft,
    symbols,
  });
}

interface IdeExtras {
  deployedRevision: number | null;
  liveNumber: number | null;
  serverDraft: Draft | null;
  symbols: Symbols;
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
  private symbols: Symbols;
  private prefs: IdePrefs = loadPrefs();
  private readonly autosaver: DraftAutosaver;
  private readonly editor: ReturnType<Monaco["monaco"]["editor"]["create"]>;
  private readonly model: ReturnType<Monaco["monaco"]["editor"]["createModel"]>;
  /** Set while the editor's text is replaced by the program, not typed. */
  private applyingRemote = false;
  private lastSaveError: unknown = null;
  private shownSyntax: DraftState["syntax"] = null;
  private shownSyntaxKey = "";
  private paintedStatus = "";
  /** Lines with Kiln's own error markers per owner (syntax / run), for tests and styling. */
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
    syntax: h("div", { class: "ks-syntax", testid: "syntax-status", hidden: true }),
    cursor: h("span", { class: "ks-cursor" }, "Ln 1, Col 1"),
    historyPanel: h("div", {
      role: "tabpanel",
      id: "ks-panel-history",
      "aria-labelledby": "ks-tab-history",
      hidden: true,
    }),
    ide: h("div", { class: "ks-ide", testid: "kscript-ide" }),
    fullScreen: button(icon("maximize", 14), {
      size: "sm",
      variant: "ghost",
      testid: "fullscreen",
    }),
    theme: h(
      "select",
      {
        class: "input select ks-theme",
        "aria-label": "Editor theme",
        testid: "editor-theme",
      },
      THEME_CHOICES.map((c) => h("option", { value: c.value }, c.label)),
    ),
  };
  private readonly run: ReturnType<typeof runPanel>;
  private readonly runs: RunSocket;
  private readonly history: HistoryPanel;
  private historyStale = true;

  constructor(
    ctx: PageContext,
    app: AppDetail,
    m: Monaco,
    loaded: SavedRevision,
    extras: IdeExtras,
  ) {
    this.ctx = ctx;
    this.app = app;
    this.m = m;
    this.methodId = loaded.id;
    this.definition = pickDefinition(loaded);
    this.name = loaded.name;
    this.deployedRevision = extras.deployedRevision;
    this.liveNumber = extras.liveNumber;
    this.symbols = extras.symbols;

    this.runs = new RunSocket(app.id);
    this.run = runPanel({
      run: (values, runId) => this.runDraft(values, runId),
      socket: this.runs,
      onError: (error) => this.markRunError(error),
      methodName: () => this.name,
      goTo: (line, column) => this.goTo(line, column),
    });
    this.run.setParams(this.definition.params);
    this.history = historyPanel({
      appId: app.id,
      methodId: loaded.id,
      m,
      text: () => this.model.getValue(),
      base: () => this.autosaver.base,
      dirty: () => this.autosaver.dirty,
      deployedRevision: () => this.deployedRevision,
      restore: (rev) => void this.restore(rev),
      aborted: () => ctx.signal.aborted,
    });

    this.buildLayout();

    this.model = m.monaco.editor.createModel(
      loaded.code,
      "javascript",
      m.monaco.Uri.parse(`file:///kscript/${app.id}/${loaded.id}/${loaded.name}.js`),
    );
    m.applyTheme(this.prefs.theme);
    this.editor = m.monaco.editor.create(this.editorHost, {
      ...m.EDITOR_OPTIONS,
      model: this.model,
      theme: m.theme(),
      ariaLabel: `Code of ${loaded.name}`,
    });

    this.autosaver = new DraftAutosaver(
      loaded,
      {
        text: () => this.model.getValue(),
        putDraft: (code, base) =>
          kscriptApi.putDraft(app.id, this.methodId, { code, base_revision: base }),
        deleteDraft: () => kscriptApi.deleteDraft(app.id, this.methodId),
        saveRevision: (code, base, overwrite, allowSyntaxErrors) =>
          this.saveRevision(code, base, overwrite, allowSyntaxErrors),
        writeLocal: (draft) => this.writeLocal(draft),
        clearLocal: () => this.clearLocal(),
        onState: (state) => this.paintState(state),
        onConflict: (theirs) => this.conflictDialog(theirs),
        onSaved: (revision) => this.saved(revision),
      },
      loaded.syntax_error ?? null,
    );

    this.model.onDidChangeContent(() => {
      // A run error points into the code that ran; once edited, the place may be gone.
      this.setMarkers("kiln-run", []);
      if (this.applyingRemote) return;
      this.autosaver.edit();
    });
    this.editor.onDidBlurEditorText(() => this.autosaver.flush());
    // A quote that opens a table alias, method or field argument opens completion with
    // the app's names at once (the typings list them), as a dot opens members.
    this.model.onDidChangeContent((e) => {
      const typed = e.changes.length === 1 ? e.changes[0] : undefined;
      if (!typed || e.isUndoing || e.isRedoing || this.applyingRemote) return;
      if (!/^(['"])\1?$/.test(typed.text)) return; // a quote, or one closed for it
      const { startLineNumber: line, startColumn: column } = typed.range;
      const before = this.model.getLineContent(line).slice(0, column - 1) + typed.text[0];
      if (opensNameArgument(before)) {
        // After the cursor has moved into the new quotes.
        window.setTimeout(() =>
          this.editor.trigger("kiln", "editor.action.triggerSuggest", {}),
        );
      }
    });
    this.editor.onDidChangeCursorPosition((e) => {
      this.el.cursor.textContent = `Ln ${e.position.lineNumber}, Col ${e.position.column}`;
    });
    const { KeyMod, KeyCode } = m.monaco;
    this.editor.addCommand(KeyMod.CtrlCmd | KeyCode.Enter, () => this.run.trigger());
    this.editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyS, () => void this.saveNow());
    this.editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyI, () =>
      this.openInsert(),
    );

    // Ctrl/Cmd+S anywhere on the page saves (not the browser's "save page").
    const onKey = (event: KeyboardEvent): void => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        void this.saveNow();
      } else if (
        event.key === "Escape" &&
        !this.editor.hasTextFocus() &&
        !document.querySelector(".dialog-overlay") &&
        this.run.stop()
      ) {
        event.preventDefault(); // Esc stops a run going on before it leaves full screen
      } else if (
        event.key === "Escape" &&
        this.prefs.fullScreen &&
        !this.editor.hasTextFocus()
      ) {
        if (!document.querySelector(".dialog-overlay")) this.setFullScreen(false);
      }
    };
    const beforeUnload = (event: BeforeUnloadEvent): void => {
      // This browser's copy is written now, the server's is sent; only when neither
      // can keep the text does the browser ask before closing.
      this.autosaver.flush();
      if (this.autosaver.atRisk) event.preventDefault();
    };
    const onHide = (): void => {
      if (document.visibilityState === "hidden") this.autosaver.flush();
    };
    document.addEventListener("keydown", onKey);
    window.addEventListener("beforeunload", beforeUnload);
    document.addEventListener("visibilitychange", onHide);
    ctx.signal.addEventListener("abort", () => {
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("beforeunload", beforeUnload);
      document.removeEventListener("visibilitychange", onHide);
      ctx.main.classList.remove(HOST_CLASS);
      document.body.classList.remove(FULL_CLASS);
      this.autosaver.flush();
      this.autosaver.dispose();
      this.runs.close();
      this.editor.dispose();
      this.model.dispose();
    });

    this.paintHeader();
    this.paintState(this.autosaver.state);
    this.setFullScreen(this.prefs.fullScreen);
    this.editor.focus();
    this.recover(loaded, extras.serverDraft);
  }

  // ----- drafts left from before --------------------------------------------------

  private get localKey(): string {
    return `kiln:kscript-draft:${this.ctx.user.username}:${this.app.id}:${this.methodId}`;
  }

  private writeLocal(draft: LocalDraft): boolean {
    try {
      localStorage.setItem(this.localKey, JSON.stringify(draft));
      return true;
    } catch {
      return false; // full or disabled: the server's draft is what remains
    }
  }

  private clearLocal(): void {
    try {
      localStorage.removeItem(this.localKey);
    } catch {
      // nothing stored
    }
  }

  private readLocal(): KeptDraft | null {
    try {
      const value = JSON.parse(localStorage.getItem(this.localKey) ?? "null") as unknown;
      if (!value || typeof value !== "object") return null;
      const d = value as Record<string, unknown>;
      if (
        typeof d.code !== "string" ||
        typeof d.base !== "number" ||
        typeof d.at !== "string"
      )
        return null;
      return { code: d.code, base: d.base, at: d.at, source: "browser" };
    } catch {
      return null;
    }
  }

  /** Puts back text left unsaved (closed tab, lost connection), or offers it. */
  private recover(loaded: Revision, serverDraft: Draft | null): void {
    const server: KeptDraft | null = serverDraft
      ? {
          code: serverDraft.code,
          base: serverDraft.base_revision,
          at: serverDraft.saved_at,
          source: "server",
        }
      : null;
    const choice = pickRecovery(
      { revision: loaded.revision, code: loaded.code },
      server,
      this.readLocal(),
    );
    if (choice.kind === "none") {
      if (choice.dropLocal) this.clearLocal();
      if (choice.dropServer) this.autosaver.forgetServerDraft();
      return;
    }
    const draft = choice.draft;
    if (choice.kind === "restore") {
      this.replaceText(draft.code, false);
      this.autosaver.restore({ onServer: choice.onServer, savedAt: draft.at });
      toast(
        `Your unsaved text from ${formatSavedAt(draft.at)} is back in the editor. Save (${MOD}+S) makes it a revision; Discard in the status bar drops it.`,
        "info",
        7000,
      );
      return;
    }
    this.offerDraft(loaded, draft, choice.onServer);
  }

  /** The draft was made on an older revision than the latest: let the person choose. */
  private offerDraft(loaded: Revision, draft: KeptDraft, onServer: boolean): void {
    const compare = button("Compare", { testid: "stash-compare" });
    const discard = button("Discard it", { variant: "danger", testid: "stash-discard" });
    const restore = button("Put it in the editor", {
      variant: "primary",
      testid: "stash-restore",
    });
    const where = draft.source === "browser" ? "in this browser" : "on the server";
    const dialog = openDialog({
      title: "You left unsaved text here",
      description: h(
        "p",
        null,
        `Your text from ${formatSavedAt(draft.at)} (based on revision ${draft.base}) was kept ${where} but never saved as a revision. `,
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
        modified: draft.code,
        originalLabel: `Revision ${loaded.revision} by ${loaded.author ?? "someone"}`,
        modifiedLabel: `Your unsaved text from ${formatSavedAt(draft.at)}`,
        testid: "stash-diff",
      });
    });
    discard.addEventListener("click", () => {
      dialog.close();
      this.clearLocal();
      if (onServer || draft.source === "server") this.autosaver.forgetServerDraft();
    });
    restore.addEventListener("click", () => {
      dialog.close();
      // Typed on top of the latest revision now: the person has seen what changed.
      this.replaceText(draft.code, true);
    });
  }

  // ----- layout ------------------------------------------------------------------

  private buildLayout(): void {
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
    const save = button("Save", {
      size: "sm",
      testid: "save",
      title: `Make a revision of your text (${MOD}+S)`,
    });
    save.addEventListener("click", () => void withBusy(save, () => this.saveNow()));
    const deploy = button([icon("rocket", 14), "Deploy"], {
      size: "sm",
      testid: "deploy",
      variant: "primary",
    });
    deploy.addEventListener("click", () => this.deploy(deploy));
    const insert = button([icon("plus", 14), "Insert"], {
      size: "sm",
      variant: "ghost",
      testid: "insert",
      title: `Insert a table alias, field or method name (${MOD}+Shift+I)`,
    });
    insert.addEventListener("click", () => this.openInsert());
    this.el.fullScreen.addEventListener("click", () =>
      this.setFullScreen(!this.prefs.fullScreen),
    );
    this.el.theme.value = this.prefs.theme;
    this.el.theme.addEventListener("change", () =>
      this.setTheme(this.el.theme.value as ThemePref),
    );

    const runTab = this.tab("Run It!", "run", true);
    const historyTab = this.tab("History", "history", false);
    const runPanelEl = h(
      "div",
      { role: "tabpanel", id: "ks-panel-run", "aria-labelledby": "ks-tab-run" },
      this.run.el,
    );
    const historyPanelEl = this.el.historyPanel;
    historyPanelEl.append(this.history.el);
    const select = (which: "run" | "history"): void => {
      runTab.setAttribute("aria-selected", String(which === "run"));
      historyTab.setAttribute("aria-selected", String(which === "history"));
      runPanelEl.hidden = which !== "run";
      historyPanelEl.hidden = which !== "history";
      if (which === "history" && this.historyStale) this.loadHistory();
    };
    runTab.addEventListener("click", () => select("run"));
    historyTab.addEventListener("click", () => select("history"));

    this.el.ide.replaceChildren(
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
        h(
          "div",
          { class: "ks-ide-actions" },
          this.el.live,
          details,
          save,
          deploy,
          this.el.fullScreen,
        ),
      ),
      h(
        "div",
        { class: "ks-ide-body" },
        h(
          "section",
          { class: "ks-editor-card card", "aria-label": "Code" },
          h(
            "div",
            { class: "ks-editor-tools" },
            insert,
            h("span", { class: "ks-tools-gap" }),
            h("label", { class: "ks-theme-label" }, icon("moon", 14), this.el.theme),
          ),
          this.editorHost,
          h(
            "footer",
            { class: "ks-statusbar" },
            this.el.status,
            this.el.syntax,
            this.el.cursor,
          ),
        ),
        h(
          "aside",
          { class: "ks-side card", "aria-label": "Run and history" },
          h("div", { class: "ks-tabs", role: "tablist" }, runTab, historyTab),
          h("div", { class: "ks-side-body" }, runPanelEl, historyPanelEl),
        ),
      ),
    );
    ctx.main.replaceChildren(this.el.ide);
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

  // ----- preferences: full screen and theme -------------------------------------------

  private setFullScreen(on: boolean): void {
    if (on !== this.prefs.fullScreen) {
      this.prefs = toggledFullScreen(this.prefs);
      savePrefs(this.prefs);
    }
    document.body.classList.toggle(FULL_CLASS, on);
    this.el.ide.dataset.fullscreen = String(on);
    const btn = this.el.fullScreen;
    btn.replaceChildren(icon(on ? "minimize" : "maximize", 14));
    const label = on ? "Leave full screen" : "Full screen";
    btn.setAttribute("aria-label", label);
    btn.setAttribute("aria-pressed", String(on));
    btn.title = on ? `${label} (Esc outside the editor)` : label;
    this.editor?.layout();
  }

  private setTheme(pref: ThemePref): void {
    this.prefs = withTheme(this.prefs, pref);
    savePrefs(this.prefs);
    const resolved = this.m.applyTheme(pref);
    this.el.ide.dataset.theme = resolved;
  }

  // ----- insert ------------------------------------------------------------------------

  private openInsert(): void {
    const position = this.editor.getPosition();
    insertDialog(this.symbols, (item) => {
      const at = position ?? this.editor.getPosition();
      if (!at) return;
      const prefix = this.model.getLineContent(at.lineNumber).slice(0, at.column - 1);
      const text = insertionText(item.text, insideString(prefix));
      const range = new this.m.monaco.Range(
        at.lineNumber,
        at.column,
        at.lineNumber,
        at.column,
      );
      this.editor.executeEdits("kiln-insert", [{ range, text, forceMoveMarkers: true }]);
      this.editor.focus();
    });
  }

  // ----- saving ------------------------------------------------------------------

  private async saveRevision(
    code: string,
    base: number,
    overwrite: boolean,
    allowSyntaxErrors: boolean,
  ): Promise<{ revision: Revision; syntax: CodeLocation | null }> {
    this.lastSaveError = null;
    try {
      const revision = await kscriptApi.save(this.app.id, this.methodId, {
        ...this.definition,
        code,
        base_revision: base,
        overwrite,
        allow_syntax_errors: allowSyntaxErrors,
      });
      return { revision, syntax: revision.syntax_error ?? null };
    } catch (error) {
      this.lastSaveError = error;
      throw error;
    }
  }

  private saved(revision: Revision): void {
    this.definition = pickDefinition(revision);
    const renamed = revision.name !== this.name;
    this.name = revision.name;
    this.historyStale = true;
    if (!this.el.historyPanel.hidden) this.loadHistory();
    this.paintHeader();
    if (renamed) this.ctx.refreshNav();
  }

  /** Save (Ctrl/Cmd+S): a revision of the text as it is, even when it does not parse. */
  private async saveNow(): Promise<void> {
    const outcome = await this.autosaver.save({ allowSyntaxErrors: true });
    if (outcome.ok && !outcome.created) {
      toast(
        `Nothing to save: revision ${outcome.revision} holds this text.`,
        "info",
        3000,
      );
    } else if (!outcome.ok && outcome.failure.kind === "conflict") {
      this.conflictDialog(outcome.failure.theirs);
    }
  }

  private paintState(state: DraftState): void {
    this.paintSyntax(state);
    this.paintLive();
    const status = statusOf(state);
    // TRICKY: pressing a status button blurs the editor, which flushes the draft and
    // repaints; rebuilding the same status would swap the button between mousedown and
    // mouseup and swallow the click. So an unchanged status is left alone.
    const key = JSON.stringify(status);
    if (key === this.paintedStatus) return;
    this.paintedStatus = key;
    const el = this.el.status;
    el.dataset.state = status.kind === "failed" ? status.failure.kind : status.kind;
    const action = (
      label: string,
      testid: string,
      run: () => void,
    ): HTMLButtonElement => {
      const btn = button(label, { size: "sm", variant: "ghost", testid });
      btn.addEventListener("click", run);
      return btn;
    };
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
      case "draft":
        el.replaceChildren(
          h("span", { class: "ks-dot" }),
          h(
            "span",
            {
              class: "ks-status-text",
              title: `Your text is kept (on the server and in this browser), based on revision ${status.base}. Save (${MOD}+S) makes it a revision.`,
            },
            `Draft · ${formatSavedAt(status.savedAt)} · not a revision yet`,
          ),
          action("Discard", "discard-draft", () => this.discardDraft()),
        );
        break;
      case "local":
        el.replaceChildren(
          h("span", { class: "ks-dot ks-dot-error" }),
          h(
            "span",
            { class: "ks-status-text", title: status.message },
            "Draft kept in this browser only (server not reached)",
          ),
          action("Retry", "retry-save", () => this.autosaver.flush()),
        );
        break;
      case "saving":
        el.replaceChildren(h("span", { class: "spinner ks-spinner" }), "Saving…");
        break;
      case "conflict": {
        const theirs = status.theirs;
        el.replaceChildren(
          h("span", { class: "ks-dot ks-dot-error" }),
          h(
            "span",
            { class: "ks-status-text" },
            `Not saved: revision ${theirs.revision} by ${theirs.author ?? "someone"} is newer`,
          ),
          action("Resolve…", "resolve-conflict", () => this.conflictDialog(theirs)),
        );
        break;
      }
      case "failed": {
        const failure = status.failure;
        el.replaceChildren(
          h("span", { class: "ks-dot ks-dot-error" }),
          h("span", { class: "ks-status-text" }, `Not saved: ${failure.message}`),
          failure.kind === "retry"
            ? action("Retry", "retry-save", () => void this.saveNow())
            : "",
        );
        break;
      }
    }
  }

  /** Markers and a status line for V8's syntax check of the text (run on each draft). */
  private paintSyntax(state: DraftState): void {
    if (state.syntax !== this.shownSyntax) {
      this.shownSyntax = state.syntax;
      const error = state.syntax?.error ?? null;
      this.setMarkers("kiln-syntax", error ? [error] : []);
    }
    const current = currentSyntaxError(state);
    const key = JSON.stringify(current);
    if (key === this.shownSyntaxKey) return;
    this.shownSyntaxKey = key;
    const el = this.el.syntax;
    el.hidden = current === null;
    if (current) {
      const go = button(`Line ${current.line}`, {
        size: "sm",
        variant: "ghost",
        testid: "syntax-goto",
      });
      go.addEventListener("click", () => this.goTo(current.line, current.column));
      el.replaceChildren(
        icon("close", 12),
        go,
        h(
          "span",
          { class: "ks-status-text", title: current.message },
          `${current.message} — Run and Deploy wait for a fix`,
        ),
      );
    }
  }

  private discardDraft(): void {
    const base = this.autosaver.base;
    this.replaceText(this.autosaver.savedCode, false);
    this.autosaver.discard();
    toast(
      `Discarded your draft; back to revision ${base}. Undo (${MOD}+Z) brings it back.`,
      "info",
      6000,
    );
  }

  /** Replaces the editor's text as one undoable edit; `asTyping` treats it as an edit. */
  private replaceText(code: string, asTyping: boolean): void {
    this.applyingRemote = !asTyping;
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
      h(
        "p",
        null,
        "Your text is still in the editor and kept as a draft, but no revision is made until you decide. What should happen?",
      ),
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
    const overwriteMine = (): void => {
      void this.autosaver.save({ overwrite: true, allowSyntaxErrors: true });
    };
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
        overwriteMine();
      });
    });
    loadTheirs.addEventListener("click", () => {
      dialog.close();
      this.loadTheirs(theirs);
    });
    overwrite.addEventListener("click", () => {
      dialog.close();
      overwriteMine();
    });
  }

  private loadTheirs(theirs: Revision): void {
    this.definition = pickDefinition(theirs);
    this.name = theirs.name;
    this.replaceText(theirs.code, false);
    this.autosaver.load(theirs);
    this.run.setParams(this.definition.params);
    this.historyStale = true;
    this.paintHeader();
    toast(
      `Loaded revision ${theirs.revision}. Undo (${MOD}+Z) brings your text back.`,
      "info",
      6000,
    );
  }

  /**
   * Makes a revision for Run It! or Deploy (when the text is not one yet). Code that
   * does not parse is refused with where and why; the text stays as a draft.
   */
  private async saveFor(purpose: "run" | "deploy"): Promise<void> {
    const verb = purpose === "run" ? "run" : "deployed";
    if (this.autosaver.inConflict) {
      throw new Error(`Resolve the save conflict before you ${purpose}.`);
    }
    const outcome = await this.autosaver.save({ allowSyntaxErrors: false });
    if (!outcome.ok) {
      const failure = outcome.failure;
      if (failure.kind === "invalid" && failure.location) {
        throw new Error(syntaxBlock(failure.location, verb));
      }
      if (failure.kind === "conflict") {
        throw new Error(`Resolve the save conflict before you ${purpose}.`);
      }
      throw new Error(`Not saved, so not ${verb}: ${failure.message}`);
    }
    // Saved earlier with Save even though it does not parse.
    const error = currentSyntaxError(this.autosaver.state);
    if (error) throw new Error(syntaxBlock(error, verb));
  }

  // ----- details, run, deploy ------------------------------------------------------

  private editDetails(): void {
    void definitionDialog({
      title: `Details of ${this.name}`,
      submitLabel: "Save details",
      initial: this.definition,
      method: { appId: this.app.id, id: this.methodId },
      submit: async (definition) => {
        if (this.autosaver.inConflict)
          throw new Error("Resolve the save conflict first.");
        const previous = this.definition;
        this.definition = definition;
        const outcome = await this.autosaver.save({
          force: true,
          allowSyntaxErrors: true,
        });
        if (!outcome.ok) {
          this.definition = previous;
          const error = this.lastSaveError;
          if (error instanceof ApiError) throw error;
          throw new Error(`The details could not be saved: ${outcome.failure.message}`);
        }
        this.run.setParams(this.definition.params);
        void kscriptApi.typings(this.app.id, this.methodId).then(
          (dts) => this.m.setKTypings(dts),
          () => undefined,
        );
      },
    });
  }

  private async runDraft(values: Record<string, unknown>, runId: string) {
    await this.saveFor("run");
    return kscriptApi.run(this.app.id, this.methodId, values, runId);
  }

  private deploy(btn: HTMLButtonElement): void {
    clearDeployFailure();
    void withBusy(btn, async () => {
      await this.saveFor("deploy");
      return reviewDeploy({ appId: this.app.id });
    }).then(
      (deployment) => {
        if (!deployment) return;
        this.deployedRevision = deployment.revisions[this.name] ?? null;
        this.liveNumber = deployment.number;
        this.paintLive();
        toast(`Deployment #${deployment.number} is live.`, "success");
        void kscriptApi.symbols(this.app.id).then(
          (s) => (this.symbols = s),
          () => undefined,
        );
      },
      (err: unknown) =>
        showDeployFailure(err instanceof Error ? err.message : String(err)),
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

  private loadHistory(): void {
    this.historyStale = false;
    this.history.load().catch(() => {
      this.historyStale = true;
    });
  }

  private async restore(rev: Revision): Promise<void> {
    if (this.autosaver.inConflict) {
      toast("Resolve the save conflict first.", "error");
      return;
    }
    this.replaceText(rev.code, true);
    // A new revision even when the text did not change: history says what was restored.
    const outcome = await this.autosaver.save({ force: true, allowSyntaxErrors: true });
    if (outcome.ok) {
      toast(
        `Restored revision ${rev.revision} as revision ${outcome.revision}.`,
        "success",
      );
    }
  }
}

function syntaxBlock(where: CodeLocation, verb: string): string {
  return `Not ${verb}: line ${where.line}, column ${where.column} does not parse (${where.message}). Fix it first; your text is kept.`;
}

function pickDefinition(revision: Revision): Definition {
  return {
    title: revision.title,
    return_type: revision.return_type,
    params: revision.params,
  };
}
