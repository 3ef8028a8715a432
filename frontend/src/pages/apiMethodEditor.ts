/**
 * /apps/<id>/api/<method>: the API method editor. Title and primary table; the parameter
 * list (a toggle per field, custom parameters); a palette of the five action types that
 * are dragged into the action panel (SortableJS), nesting by dropping inside a select or
 * create; each action's table, values, filters, sorting, limits and related data; the
 * returned action; a live signature; Run with the SQL that ran; autosave with the
 * overwrite warning on a conflict.
 *
 * The truth is the `MethodDefinition` in `this.def`, changed only by apiMethodModel's
 * pure functions; every change re-renders from it. Everything a drag does is also
 * reachable from the keyboard: "Add action here" menus, and move up / down / into the
 * previous select or create / out buttons on each card.
 */
import "./apiMethods.css";
import Sortable from "sortablejs";
import { api, ApiError, type AppDetail } from "../api";
import {
  ApiMethodConflict,
  apiMethodApi,
  tableShapes,
  type ApiMethodRevision,
  type ApiRunResult,
} from "../apiMethodApi";
import * as M from "../apiMethodModel";
import type { PageContext } from "../context";
import { openDialog } from "../dialog";
import {
  button,
  h,
  loadingStatus,
  pageHead,
  uniqueId,
  withBusy,
  type Child,
} from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { kscriptApi, PARAM_TYPES, type ParamType } from "../kscriptApi";
import { convertParams, formatSavedAt, methodName } from "../kscriptLogic";
import { tablesApi } from "../tablesApi";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import { apiPath, deployBadge } from "./apiMethods";

type Def = M.MethodDefinition;

type SaveState =
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
class DefinitionSaver {
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

export async function apiMethodEditorPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("API method");
  ctx.main.replaceChildren(loadingStatus("Loading the method…"));
  const [app, loaded, tables, deployments] = await Promise.all([
    api.getApp(ctx.params.id ?? ""),
    apiMethodApi.get(ctx.params.id ?? "", ctx.params.method ?? ""),
    tablesApi.list(ctx.params.id ?? ""),
    kscriptApi.deployments(ctx.params.id ?? ""),
  ]);
  if (ctx.signal.aborted) return;
  const live = deployments.find((d) => d.live);
  new Editor(ctx, app, loaded, tableShapes(tables), live?.revisions[loaded.name] ?? null);
}

const ref = (value: M.ValueRef | null | undefined): string =>
  value ? JSON.stringify(value) : "";
const unref = (text: string): M.ValueRef | null =>
  text ? (JSON.parse(text) as M.ValueRef) : null;

class Editor {
  private def: Def;
  private title: string;
  private name: string;
  private deployed: number | null;
  private readonly autosaver: DefinitionSaver;
  private conflictOpen = false;
  private sortables: Sortable[] = [];
  private problems: Record<string, string[]> = {};
  private readonly el = {
    titleInput: h("input", {
      class: "input am-title-input",
      testid: "api-editor-title",
      "aria-label": "Title",
    }),
    name: h("span", { class: "ks-name mono", testid: "api-editor-name" }),
    table: h("select", {
      class: "input select",
      testid: "api-editor-table",
      "aria-label": "Table",
    }),
    status: h("div", { class: "ks-status", testid: "save-status", role: "status" }),
    live: h("span"),
    params: h("section", { class: "card section am-params", testid: "api-params" }),
    actions: h("section", {
      class: "card section am-actions-card",
      testid: "api-actions",
    }),
    side: h("aside", { class: "am-side" }),
    problems: h("div", { class: "am-problems", testid: "api-problems", role: "alert" }),
    run: h("section", { class: "card section am-run", id: "run", testid: "api-run" }),
  };
  private runInputs: Record<string, string | boolean> = {};
  private runOutput: HTMLElement = h("div", {
    testid: "run-output",
    "aria-live": "polite",
  });

  constructor(
    private readonly ctx: PageContext,
    private readonly app: AppDetail,
    loaded: ApiMethodRevision,
    private readonly tables: M.Tables,
    deployed: number | null,
  ) {
    this.def = pick(loaded);
    this.title = loaded.title;
    this.name = loaded.name;
    this.deployed = deployed;
    this.problems = loaded.problems;
    this.autosaver = new DefinitionSaver(
      loaded,
      (base, overwrite) => this.save(base, overwrite),
      (state) => this.showStatus(state),
      (revision) => {
        this.name = revision.name;
        this.problems = {};
        this.renderHead();
        this.renderProblems();
      },
    );
    ctx.signal.addEventListener("abort", () => {
      void this.autosaver.flush();
      this.destroySortables();
    });
    this.mount();
  }

  // ── saving ──────────────────────────────────────────────────────────────────

  private async save(base: number, overwrite: boolean): Promise<ApiMethodRevision> {
    try {
      return await apiMethodApi.save(this.app.id, this.methodId, {
        title: this.title,
        ...this.def,
        base_revision: base,
        overwrite,
      });
    } catch (error) {
      if (error instanceof ApiMethodConflict) this.conflict(error);
      if (error instanceof ApiError && error.status === 400) {
        this.problems = error.fields;
        this.renderProblems();
      }
      throw error;
    }
  }

  private get methodId(): string {
    return this.ctx.params.method ?? "";
  }

  private conflict(error: ApiMethodConflict): void {
    if (this.conflictOpen) return;
    this.conflictOpen = true;
    const theirs = error.theirs;
    const overwrite = button("Overwrite with mine", {
      variant: "danger",
      testid: "conflict-overwrite",
    });
    const reload = button("Load theirs", {
      variant: "primary",
      testid: "conflict-reload",
    });
    const dialog = openDialog({
      title: "Someone else saved this method",
      testid: "conflict-dialog",
      body: h(
        "p",
        null,
        `${theirs.author ?? "Someone"} saved revision ${theirs.revision} at ${formatSavedAt(theirs.saved_at)}, after the one you are editing. `,
        "Overwrite it with your version (theirs stays in the history), or load theirs and lose your unsaved changes.",
      ),
      footer: h("div", { class: "dialog-footer" }, reload, overwrite),
      onClose: () => {
        this.conflictOpen = false;
      },
    });
    overwrite.addEventListener("click", () => {
      dialog.close();
      void this.autosaver.overwrite();
    });
    reload.addEventListener("click", () => {
      dialog.close();
      this.def = pick(theirs);
      this.title = theirs.title;
      this.name = theirs.name;
      this.el.titleInput.value = theirs.title;
      this.autosaver.reset(theirs);
      this.render();
    });
  }

  private showStatus(status: SaveState): void {
    const text =
      status.kind === "saved"
        ? `Saved · rev ${status.revision} · ${formatSavedAt(status.savedAt)}`
        : status.kind === "dirty"
          ? "Unsaved changes"
          : status.kind === "saving"
            ? "Saving…"
            : `Not saved: ${status.message}`;
    this.el.status.textContent = text;
    this.el.status.dataset.state = status.kind;
  }

  /** The definition changed: show it and save it soon. */
  private commit(next: Def): void {
    if (next === this.def) {
      this.render(); // a refused drag: put the cards back where the model has them
      return;
    }
    this.def = next;
    this.render();
    this.autosaver.edit();
  }

  // ── layout ─────────────────────────────────────────────────────────────────

  private mount(): void {
    const { ctx, app } = this;
    ctx.setTitle(`${app.name} · ${this.title}`);
    ctx.setCrumbs([
      { label: "Apps", href: "/apps" },
      { label: app.name, href: appHome(app) },
      { label: "API", href: apiPath(app.id) },
      { label: this.title },
    ]);
    this.el.titleInput.value = this.title;
    this.el.titleInput.addEventListener("input", () => {
      this.title = this.el.titleInput.value;
      this.renderHead();
      this.renderSide();
      this.autosaver.edit();
    });
    this.el.titleInput.addEventListener("blur", () => void this.autosaver.flush());
    for (const t of this.tables) {
      this.el.table.append(
        h("option", { value: t.name, selected: t.name === this.def.table }, t.name),
      );
    }
    this.el.table.addEventListener("change", () => {
      // The primary table's fields are the parameters offered; toggled ones of the old
      // table no longer apply.
      this.commit({
        ...this.def,
        table: this.el.table.value,
        params: this.def.params.filter((p) => p.field === undefined),
      });
    });
    const deployBtn = button([icon("rocket", 14), "Deploy"], { testid: "deploy" });
    deployBtn.addEventListener("click", () => {
      void withBusy(deployBtn, async () => {
        if (!(await this.autosaver.flush())) throw new Error("Save the method first.");
        return kscriptApi.deploy(app.id);
      }).then(
        (deployment) => {
          this.deployed = deployment.revisions[this.name] ?? null;
          this.renderHead();
          toast(`Deployment #${deployment.number} is live.`, "success");
        },
        (err: unknown) => toastError(err, "Deploy failed"),
      );
    });
    const back = h(
      "a",
      { href: apiPath(app.id), class: "btn btn-ghost btn-sm", testid: "api-back" },
      "← API",
    );
    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page am-page", testid: "api-editor" },
        pageHead({
          title: h("span", { class: "am-head" }, this.el.titleInput, this.el.name),
          lead: h(
            "div",
            { class: "am-lead" },
            h("label", { class: "label" }, "Table "),
            this.el.table,
            this.el.live,
            this.el.status,
          ),
          actions: h("div", { class: "ks-head-actions" }, back, deployBtn),
        }),
        this.el.problems,
        h(
          "div",
          { class: "am-layout" },
          h("div", { class: "am-main" }, this.el.params, this.el.actions, this.el.run),
          this.el.side,
        ),
      ),
    );
    this.render();
    if (location.hash === "#run") this.el.run.scrollIntoView();
  }

  private renderHead(): void {
    this.el.name.textContent = methodName(this.title)
      ? `Clients call ${methodName(this.title)}`
      : "";
    const latest = this.autosaver.base;
    this.el.live.replaceChildren(deployBadge(latest, this.deployed));
  }

  private renderProblems(): void {
    const entries = Object.entries(this.problems);
    this.el.problems.hidden = entries.length === 0;
    this.el.problems.replaceChildren(
      h("strong", null, "Not saved — the server found problems:"),
      h(
        "ul",
        null,
        entries.map(([place, messages]) =>
          h("li", null, h("code", null, place), " ", messages.join(" ")),
        ),
      ),
    );
  }

  /** Re-draw everything from `this.def`, keeping the focus on the same control. */
  private render(): void {
    const focused =
      document.activeElement instanceof HTMLElement
        ? document.activeElement.dataset.key
        : undefined;
    this.destroySortables();
    this.renderHead();
    this.renderProblems();
    this.renderParams();
    this.renderActions();
    this.renderSide();
    this.renderRun();
    if (focused) {
      const again = this.ctx.main.querySelector<HTMLElement>(
        `[data-key="${CSS.escape(focused)}"]`,
      );
      again?.focus();
    }
  }

  private destroySortables(): void {
    for (const s of this.sortables) s.destroy();
    this.sortables = [];
  }

  // ── parameters ─────────────────────────────────────────────────────────────

  private renderParams(): void {
    const primary = M.tableOf(this.tables, this.def.table);
    const rows: HTMLElement[] = [];
    for (const field of primary?.fields ?? []) {
      const param = this.def.params.find((p) => p.field === field.name);
      const toggle = h("input", {
        type: "checkbox",
        class: "switch",
        role: "switch",
        checked: Boolean(param),
        "data-key": `param-field-${field.name}`,
        testid: `param-toggle-${field.name}`,
        "aria-label": `Parameter ${M.fieldParamName(field.name)} (${field.name})`,
      });
      toggle.addEventListener("change", () =>
        this.commit(M.setFieldParam(this.def, field.name, toggle.checked)),
      );
      rows.push(
        h(
          "li",
          { class: "am-param" },
          toggle,
          h("span", { class: "mono" }, M.fieldParamName(field.name)),
          h("span", { class: "muted small" }, M.FIELD_PARAM_TYPES[field.type]),
        ),
      );
    }
    for (const p of this.def.params.filter((q) => q.field === undefined)) {
      const toggle = h("input", {
        type: "checkbox",
        class: "switch",
        role: "switch",
        checked: p.enabled !== false,
        "data-key": `param-custom-${p.name}`,
        testid: `param-toggle-${p.name}`,
        "aria-label": `Parameter ${p.name} (custom)`,
      });
      toggle.addEventListener("change", () =>
        this.commit(M.setCustomParamEnabled(this.def, p.name, toggle.checked)),
      );
      rows.push(
        h(
          "li",
          { class: "am-param" },
          toggle,
          h("span", { class: "mono" }, p.name),
          h("span", { class: "muted small" }, `${p.type ?? ""} · custom`),
        ),
      );
    }
    const name = h("input", {
      class: "input",
      placeholder: "name",
      "aria-label": "Custom parameter name",
      testid: "custom-param-name",
      "data-key": "custom-param-name",
    });
    const type = h(
      "select",
      {
        class: "input select",
        "aria-label": "Custom parameter type",
        testid: "custom-param-type",
      },
      PARAM_TYPES.map((t) => h("option", { value: t.value }, t.label)),
    );
    const error = h("p", {
      class: "field-error",
      hidden: true,
      testid: "custom-param-error",
    });
    const add = button("Add", {
      testid: "custom-param-add",
      "data-key": "custom-param-add",
    });
    const addParam = (): void => {
      const result = M.addCustomParam(this.def, name.value, type.value as ParamType);
      if ("error" in result) {
        error.textContent = result.error;
        error.hidden = false;
        return;
      }
      this.commit(result.def);
    };
    add.addEventListener("click", addParam);
    name.addEventListener("keydown", (event: KeyboardEvent) => {
      if (event.key === "Enter") {
        event.preventDefault();
        addParam();
      }
    });
    this.el.params.replaceChildren(
      h(
        "div",
        { class: "section-head" },
        h("h2", { class: "section-title" }, "Input parameters"),
      ),
      h("ul", { class: "am-param-list" }, rows),
      h("div", { class: "am-param-add" }, name, type, add),
      error,
    );
  }

  // ── actions ────────────────────────────────────────────────────────────────

  private renderActions(): void {
    this.el.actions.replaceChildren(
      h(
        "div",
        { class: "section-head" },
        h("h2", { class: "section-title" }, "Actions"),
        h(
          "p",
          { class: "muted small" },
          "Drag actions from the palette, or use “Add action here”. Drop inside a select or create to nest.",
        ),
      ),
      this.actionList(this.def.actions, null),
    );
  }

  /** A drop zone holding `actions` (under `parentId`; null: the top level), then its add menu. */
  private actionList(actions: M.Action[], parentId: string | null): HTMLElement {
    const list = h("ol", {
      class: "am-list",
      testid: parentId ? `action-list-${parentId}` : "action-list",
      "data-parent": parentId ?? "",
      "aria-label": parentId ? `Actions nested in ${parentId}` : "Actions",
    });
    for (const action of actions) list.append(this.card(action));
    this.sortables.push(
      Sortable.create(list, {
        group: "actions",
        handle: ".am-drag",
        animation: 120,
        forceFallback: true,
        fallbackOnBody: true,
        swapThreshold: 0.6,
        emptyInsertThreshold: 24,
        onAdd: (event) => {
          const fromPalette = event.from.dataset.palette === "true";
          const index = event.newIndex ?? 0;
          event.item.remove();
          if (fromPalette) {
            const added = M.addAction(
              this.def,
              parentId,
              index,
              event.item.dataset.type as M.ActionType,
            );
            this.commit(added.def);
          } else {
            this.commit(
              M.moveAction(this.def, event.item.dataset.id ?? "", parentId, index),
            );
          }
        },
        onUpdate: (event) => {
          const from = event.oldIndex ?? 0;
          const to = event.newIndex ?? 0;
          // Sortable gives the final place; the model wants where to insert before taking out.
          this.commit(
            M.moveAction(
              this.def,
              event.item.dataset.id ?? "",
              parentId,
              to > from ? to + 1 : to,
            ),
          );
        },
      }),
    );
    return h("div", { class: "am-zone" }, list, this.addMenu(parentId, actions.length));
  }

  private addMenu(parentId: string | null, index: number): HTMLElement {
    const select = h(
      "select",
      {
        class: "input select am-add",
        "aria-label": parentId
          ? `Add action here, inside ${parentId}`
          : "Add action here",
        testid: parentId ? `add-action-${parentId}` : "add-action",
        "data-key": `add-${parentId ?? "top"}`,
      },
      h("option", { value: "" }, "+ Add action here…"),
      M.ACTION_TYPES.map((t) => h("option", { value: t.type }, `${t.label} — ${t.hint}`)),
    );
    select.addEventListener("change", () => {
      if (!select.value) return;
      const added = M.addAction(this.def, parentId, index, select.value as M.ActionType);
      this.commit(added.def);
      if (added.id)
        this.ctx.main
          .querySelector<HTMLElement>(`[data-key="drag-${added.id}"]`)
          ?.focus();
    });
    return select;
  }

  private card(action: M.Action): HTMLElement {
    const typeLabel =
      M.ACTION_TYPES.find((t) => t.type === action.type)?.label ?? action.type;
    const tools = h("div", { class: "am-tools" });
    const tool = (label: string, key: string, iconText: string, run: () => Def): void => {
      const btn = button(iconText, {
        variant: "ghost",
        size: "sm",
        "aria-label": `${label} (${action.id})`,
        title: label,
        testid: `action-${key}`,
        "data-key": `${key}-${action.id}`,
      });
      btn.addEventListener("click", () => this.commit(run()));
      tools.append(btn);
    };
    tool("Move up", "up", "↑", () => M.moveUp(this.def, action.id));
    tool("Move down", "down", "↓", () => M.moveDown(this.def, action.id));
    tool("Move into the select or create above", "indent", "→", () =>
      M.indent(this.def, action.id),
    );
    tool("Move out of the action holding it", "outdent", "←", () =>
      M.outdent(this.def, action.id),
    );
    tool("Delete action", "delete", "✕", () => M.removeAction(this.def, action.id));
    const table = h(
      "select",
      {
        class: "input select",
        "aria-label": `Table of ${action.id}`,
        testid: "action-table",
        "data-key": `table-${action.id}`,
      },
      this.tables.map((t) =>
        h("option", { value: t.name, selected: t.name === action.table }, t.name),
      ),
    );
    table.addEventListener("change", () =>
      this.commit(M.setActionTable(this.def, action.id, table.value)),
    );
    const body: Child[] = [];
    if (action.type === "create" || action.type === "update")
      body.push(this.valuesBox(action));
    if (action.type === "aggregate") body.push(this.aggregateBox(action));
    if (action.type !== "create") body.push(this.filtersBox(action));
    if (action.type === "update" || action.type === "delete")
      body.push(this.allBox(action));
    if (action.type === "select") body.push(this.sortBox(action), this.limitsBox(action));
    if (action.type === "select" || action.type === "delete")
      body.push(this.relatedBox(action));
    if (M.canNest(action.type)) {
      body.push(
        h(
          "div",
          { class: "am-nested" },
          h(
            "p",
            { class: "muted small" },
            action.type === "select"
              ? "Nested actions: run once per selected row"
              : "Nested actions: run once, after the create",
          ),
          this.actionList(action.actions ?? [], action.id),
        ),
      );
    }
    return h(
      "li",
      {
        class: `am-card am-${action.type}`,
        "data-id": action.id,
        testid: "action-card",
        "data-type": action.type,
      },
      h(
        "div",
        { class: "am-card-head" },
        h(
          "button",
          {
            type: "button",
            class: "am-drag",
            "aria-label": `Drag ${typeLabel} ${action.id}`,
            title: "Drag to move",
            "data-key": `drag-${action.id}`,
          },
          "⠿",
        ),
        h("strong", null, typeLabel),
        h("span", { class: "mono muted small" }, action.id),
        h("span", { class: "muted small" }, "on"),
        table,
        tools,
      ),
      body,
    );
  }

  /** Options for a value: the method's parameters, then fields of the enclosing rows. */
  private valueOptions(
    action: M.Action,
    selected: M.ValueRef | undefined | null,
  ): HTMLOptionElement[] {
    const options = [h("option", { value: "" }, "— choose —")];
    const chosen = ref(selected ?? null);
    for (const p of M.declaredParams(this.def, this.tables)) {
      const value = ref({ param: p.name });
      options.push(
        h("option", { value, selected: value === chosen }, `param: ${p.name}`),
      );
    }
    M.rowSources(this.def, action.id).forEach((source, i) => {
      for (const f of M.tableOf(this.tables, source.table)?.fields ?? []) {
        const value = ref(i === 0 ? { row: f.name } : { row: f.name, action: source.id });
        options.push(
          h(
            "option",
            { value, selected: value === chosen },
            `${source.id} row (${source.table}): ${f.name}`,
          ),
        );
      }
    });
    return options;
  }

  private valuesBox(action: M.Action): HTMLElement {
    const table = M.tableOf(this.tables, action.table);
    const rows = (table?.fields ?? [])
      .filter(
        (f) =>
          f.name !== table?.idField &&
          f.name !== "timeCreated" &&
          f.name !== "timeUpdated",
      )
      .map((f) => {
        const current = action.values?.find((v) => v.field === f.name)?.value;
        const select = h(
          "select",
          {
            class: "input select",
            "aria-label": `Value of ${f.name} (${action.id})`,
            testid: `value-${f.name}`,
            "data-key": `value-${action.id}-${f.name}`,
          },
          this.valueOptions(action, current),
        );
        const none = select.options[0];
        if (none) none.textContent = "— not set —";
        select.addEventListener("change", () =>
          this.commit(M.setAssign(this.def, action.id, f.name, unref(select.value))),
        );
        return h("li", { class: "am-row" }, h("span", { class: "mono" }, f.name), select);
      });
    return h(
      "div",
      { class: "am-box" },
      h(
        "h3",
        { class: "am-box-title" },
        action.type === "create" ? "Values of the new record" : "Set",
      ),
      h("ul", { class: "am-rows" }, rows),
    );
  }

  private filtersBox(action: M.Action): HTMLElement {
    const reachable = M.viaOptions(this.tables, action.table);
    const rows = (action.filters ?? []).map((f, index) => {
      const key = `${action.id}-f${index}`;
      const parts: Child[] = [];
      if (index > 0) {
        const join = h(
          "select",
          {
            class: "input select am-join",
            "aria-label": `Join of filter ${index + 1}`,
            testid: "filter-join",
            "data-key": `${key}-join`,
          },
          h("option", { value: "and", selected: f.join !== "or" }, "AND"),
          h("option", { value: "or", selected: f.join === "or" }, "OR"),
        );
        join.addEventListener("change", () =>
          this.commit(
            M.setFilter(this.def, action.id, index, { join: join.value as "and" | "or" }),
          ),
        );
        parts.push(join);
      } else {
        parts.push(h("span", { class: "am-join muted small" }, "where"));
      }
      const chosen = JSON.stringify([f.via ?? [], f.field]);
      const field = h(
        "select",
        {
          class: "input select",
          "aria-label": `Field of filter ${index + 1}`,
          testid: "filter-field",
          "data-key": `${key}-field`,
        },
        h("option", { value: "" }, "— field —"),
        reachable.map((option) =>
          h(
            "optgroup",
            { label: option.label },
            (M.tableOf(this.tables, option.table)?.fields ?? []).map((fieldShape) => {
              const value = JSON.stringify([option.via, fieldShape.name]);
              return h(
                "option",
                { value, selected: value === chosen },
                option.via.length
                  ? `${option.table}.${fieldShape.name}`
                  : fieldShape.name,
              );
            }),
          ),
        ),
      );
      field.addEventListener("change", () => {
        if (!field.value) return;
        const [via, name] = JSON.parse(field.value) as [string[], string];
        this.commit(M.setFilter(this.def, action.id, index, { via, field: name }));
      });
      const op = h(
        "select",
        {
          class: "input select",
          "aria-label": `Operator of filter ${index + 1}`,
          testid: "filter-op",
          "data-key": `${key}-op`,
        },
        M.OPERATORS.map((o) =>
          h("option", { value: o.op, selected: o.op === f.op }, o.label),
        ),
      );
      op.addEventListener("change", () =>
        this.commit(
          M.setFilter(this.def, action.id, index, { op: op.value as M.Operator }),
        ),
      );
      parts.push(field, op);
      if (M.takesValue(f.op)) {
        const value = h(
          "select",
          {
            class: "input select",
            "aria-label": `Value of filter ${index + 1}`,
            testid: "filter-value",
            "data-key": `${key}-value`,
          },
          this.valueOptions(action, f.value),
        );
        value.addEventListener("change", () =>
          this.commit(
            M.setFilter(this.def, action.id, index, {
              value: unref(value.value) ?? undefined,
            }),
          ),
        );
        parts.push(value);
      }
      const remove = button(icon("trash", 14), {
        variant: "ghost",
        size: "sm",
        "aria-label": `Remove filter ${index + 1}`,
        testid: "filter-remove",
        "data-key": `${key}-remove`,
      });
      remove.addEventListener("click", () =>
        this.commit(M.removeFilter(this.def, action.id, index)),
      );
      parts.push(remove);
      return h("li", { class: "am-filter", testid: "filter-row" }, parts);
    });
    const add = (join: "and" | "or", label: string): HTMLButtonElement => {
      const btn = button(label, {
        size: "sm",
        testid: `filter-add-${join}`,
        "data-key": `${action.id}-add-${join}`,
        "aria-label": `Add filter (${join.toUpperCase()}) to ${action.id}`,
      });
      btn.addEventListener("click", () =>
        this.commit(M.addFilter(this.def, action.id, join)),
      );
      return btn;
    };
    const adders = (action.filters ?? []).length
      ? [add("and", "AND"), add("or", "OR")]
      : [add("and", "(add filter)")];
    return h(
      "div",
      { class: "am-box" },
      h("h3", { class: "am-box-title" }, "Filtering by"),
      h("ul", { class: "am-rows" }, rows),
      h("div", { class: "am-adders" }, adders),
      (action.filters ?? []).length > 1
        ? h(
            "p",
            { class: "muted small" },
            "AND binds tighter than OR: a AND b OR c means (a AND b) OR c.",
          )
        : null,
    );
  }

  private allBox(action: M.Action): HTMLElement | null {
    if ((action.filters ?? []).length) return null;
    const box = h("input", {
      type: "checkbox",
      checked: Boolean(action.all),
      testid: "action-all",
      "data-key": `all-${action.id}`,
      id: uniqueId("all"),
    });
    box.addEventListener("change", () =>
      this.commit(
        M.updateAction(this.def, action.id, (a) => ({ ...a, all: box.checked })),
      ),
    );
    return h(
      "label",
      { class: "am-all" },
      box,
      action.type === "update"
        ? " Change every record (no filter)"
        : " Delete every record (no filter)",
    );
  }

  private sortBox(action: M.Action): HTMLElement {
    const fields = M.tableOf(this.tables, action.table)?.fields ?? [];
    const sort = action.sort ?? [];
    const rows = sort.map((s, index) => {
      const field = h(
        "select",
        {
          class: "input select",
          "aria-label": `Sort field ${index + 1}`,
          testid: "sort-field",
          "data-key": `${action.id}-s${index}`,
        },
        fields.map((f) =>
          h("option", { value: f.name, selected: f.name === s.field }, f.name),
        ),
      );
      const direction = h(
        "select",
        {
          class: "input select",
          "aria-label": `Sort direction ${index + 1}`,
          testid: "sort-direction",
          "data-key": `${action.id}-sd${index}`,
        },
        h("option", { value: "asc", selected: s.direction === "asc" }, "ascending"),
        h("option", { value: "desc", selected: s.direction === "desc" }, "descending"),
      );
      const change = (): void =>
        this.commit(
          M.setSort(
            this.def,
            action.id,
            sort.map((k, i) =>
              i === index
                ? { field: field.value, direction: direction.value as "asc" | "desc" }
                : k,
            ),
          ),
        );
      field.addEventListener("change", change);
      direction.addEventListener("change", change);
      const remove = button(icon("trash", 14), {
        variant: "ghost",
        size: "sm",
        "aria-label": `Remove sort ${index + 1}`,
      });
      remove.addEventListener("click", () =>
        this.commit(
          M.setSort(
            this.def,
            action.id,
            sort.filter((_, i) => i !== index),
          ),
        ),
      );
      return h("li", { class: "am-row" }, field, direction, remove);
    });
    const add = button("Add sort", {
      size: "sm",
      testid: "sort-add",
      "data-key": `${action.id}-sort-add`,
    });
    add.addEventListener("click", () =>
      this.commit(
        M.setSort(this.def, action.id, [
          ...sort,
          { field: fields[0]?.name ?? "", direction: "asc" },
        ]),
      ),
    );
    return h(
      "div",
      { class: "am-box" },
      h("h3", { class: "am-box-title" }, "Sorting"),
      h("ul", { class: "am-rows" }, rows),
      h("div", { class: "am-adders" }, add),
    );
  }

  private limitsBox(action: M.Action): HTMLElement {
    const pickParam = (label: string, key: "limit" | "offset"): HTMLElement => {
      const select = h(
        "select",
        {
          class: "input select",
          "aria-label": label,
          testid: `select-${key}`,
          "data-key": `${action.id}-${key}`,
        },
        h("option", { value: "" }, key === "limit" ? "all records" : "the first"),
        M.declaredParams(this.def, this.tables).map((p) => {
          const value = ref({ param: p.name });
          return h(
            "option",
            { value, selected: value === ref(action[key]) },
            `param: ${p.name}`,
          );
        }),
      );
      select.addEventListener("change", () =>
        this.commit(
          M.updateAction(this.def, action.id, (a) => ({
            ...a,
            [key]: unref(select.value),
          })),
        ),
      );
      return h("label", { class: "am-row" }, h("span", null, label), select);
    };
    return h(
      "div",
      { class: "am-box" },
      h("h3", { class: "am-box-title" }, "Number of records"),
      pickParam("Limit", "limit"),
      pickParam("Starting at record", "offset"),
    );
  }

  private relatedBox(action: M.Action): HTMLElement | null {
    const options = M.relatedOptions(this.tables, action.table).filter(
      (o) => action.type === "select" || o.ref.table !== undefined,
    );
    if (!options.length) return null;
    const ticked = action.related ?? [];
    return h(
      "div",
      { class: "am-box" },
      h(
        "h3",
        { class: "am-box-title" },
        action.type === "select" ? "Related data" : "Also delete related data",
      ),
      options.map((o) => {
        const on = ticked.some(
          (r) => r.field === o.ref.field && (r.table ?? null) === (o.ref.table ?? null),
        );
        const key = `${action.id}-rel-${o.ref.table ?? ""}-${o.ref.field}`;
        const box = h("input", {
          type: "checkbox",
          checked: on,
          "data-key": key,
          testid: `related-${o.ref.table ?? o.ref.field}`,
        });
        box.addEventListener("change", () =>
          this.commit(M.toggleRelated(this.def, action.id, o.ref, box.checked)),
        );
        return h("label", { class: "am-check" }, box, ` ${o.label}`);
      }),
    );
  }

  private aggregateBox(action: M.Action): HTMLElement {
    const fn = h(
      "select",
      {
        class: "input select",
        "aria-label": `Aggregate of ${action.id}`,
        testid: "aggregate-function",
        "data-key": `${action.id}-fn`,
      },
      M.AGGREGATES.map((a) =>
        h("option", { value: a.fn, selected: a.fn === action.function }, a.label),
      ),
    );
    const field = h(
      "select",
      {
        class: "input select",
        "aria-label": `Field to aggregate (${action.id})`,
        testid: "aggregate-field",
        "data-key": `${action.id}-agg-field`,
      },
      h("option", { value: "" }, "—"),
      (M.tableOf(this.tables, action.table)?.fields ?? []).map((f) =>
        h("option", { value: f.name, selected: f.name === action.field }, f.name),
      ),
    );
    const change = (): void =>
      this.commit(
        M.updateAction(this.def, action.id, (a) => {
          const next: M.Action = { ...a, function: fn.value as M.AggregateFunction };
          if (field.value && fn.value !== "count") next.field = field.value;
          else delete next.field;
          return next;
        }),
      );
    fn.addEventListener("change", change);
    field.addEventListener("change", change);
    return h(
      "div",
      { class: "am-box" },
      h("h3", { class: "am-box-title" }, "Aggregate"),
      h("div", { class: "am-row" }, fn, action.function === "count" ? null : field),
    );
  }

  // ── the side panel: palette, returned action, signature ─────────────────────

  private renderSide(): void {
    const palette = h(
      "ul",
      {
        class: "am-palette",
        "data-palette": "true",
        testid: "palette",
        "aria-label": "Action types",
      },
      M.ACTION_TYPES.map((t) => {
        const item = h(
          "li",
          {
            class: `am-palette-item am-${t.type}`,
            "data-type": t.type,
            testid: `palette-${t.type}`,
          },
          h("span", { class: "am-drag" }, "⠿"),
          h("strong", null, t.label),
          h("span", { class: "muted small" }, t.hint),
        );
        return item;
      }),
    );
    this.sortables.push(
      Sortable.create(palette, {
        group: { name: "actions", pull: "clone", put: false },
        sort: false,
        forceFallback: true,
        fallbackOnBody: true,
      }),
    );
    const returnedSelect = h(
      "select",
      {
        class: "input select",
        testid: "returned-action",
        "aria-label": "Returned action",
        "data-key": "returned",
      },
      h(
        "option",
        { value: "", selected: this.def.returned === null },
        "The last top-level action",
      ),
      M.returnable(this.def).map((a) =>
        h(
          "option",
          { value: a.id, selected: a.id === this.def.returned },
          `${a.id}: ${a.type} on ${a.table}`,
        ),
      ),
    );
    returnedSelect.addEventListener("change", () =>
      this.commit(M.setReturned(this.def, returnedSelect.value || null)),
    );
    const sig = M.signature(this.title, this.def, this.tables);
    this.el.side.replaceChildren(
      h(
        "section",
        { class: "card section" },
        h("h2", { class: "section-title" }, "Actions"),
        palette,
      ),
      h(
        "section",
        { class: "card section" },
        h("h2", { class: "section-title" }, "Returned action"),
        returnedSelect,
        h(
          "p",
          { class: "muted small" },
          "Not an action nested in a select: those run once per row.",
        ),
      ),
      h(
        "section",
        { class: "card section", testid: "signature" },
        h("h2", { class: "section-title" }, "Method preview"),
        h(
          "pre",
          { class: "am-signature mono", testid: "signature-text" },
          `${sig.name || "(untitled)"}(${sig.params.map((p) => `${p.name}: ${p.type}`).join(", ")})\n→ ${sig.returns}`,
        ),
      ),
    );
  }

  // ── Run ───────────────────────────────────────────────────────────────────

  private renderRun(): void {
    const params = M.declaredParams(this.def, this.tables);
    const inputs = params.map((p) => {
      const key = `run-${p.name}`;
      const control =
        p.type === "boolean"
          ? h(
              "select",
              { class: "input select", testid: `run-param-${p.name}`, "data-key": key },
              h("option", { value: "" }, "(not passed)"),
              h("option", { value: "true" }, "true"),
              h("option", { value: "false" }, "false"),
            )
          : h("input", {
              class: "input mono",
              type: p.type === "datetime" ? "datetime-local" : "text",
              step: p.type === "datetime" ? "1" : undefined,
              testid: `run-param-${p.name}`,
              "data-key": key,
              placeholder: p.type === "data" ? "base64" : p.type,
            });
      control.value = String(this.runInputs[p.name] ?? "");
      control.addEventListener("input", () => {
        this.runInputs[p.name] = control.value;
      });
      control.addEventListener("change", () => {
        this.runInputs[p.name] = control.value;
      });
      return h(
        "label",
        { class: "am-row" },
        h("span", { class: "mono" }, `${p.name} (${p.type})`),
        control,
      );
    });
    const run = button([icon("play", 14), "Run"], {
      variant: "primary",
      testid: "run",
      "data-key": "run",
    });
    run.addEventListener("click", () => {
      const { values, errors } = convertParams(params, this.runInputs);
      if (Object.keys(errors).length) {
        this.runOutput.replaceChildren(
          h(
            "p",
            { class: "field-error" },
            Object.entries(errors).map(([n, e]) => `${n}: ${e} `),
          ),
        );
        return;
      }
      void withBusy(run, async () => {
        if (!(await this.autosaver.flush()))
          throw new Error("The method is not saved; fix what stops it first.");
        return apiMethodApi.run(this.app.id, this.methodId, values);
      }).then(
        (result) => this.showRun(result),
        (err: unknown) =>
          this.runOutput.replaceChildren(
            h("p", { class: "field-error", testid: "run-error" }, errorText(err)),
          ),
      );
    });
    this.el.run.replaceChildren(
      h("div", { class: "section-head" }, h("h2", { class: "section-title" }, "Run")),
      h(
        "p",
        { class: "muted small" },
        "Runs the latest draft (saved first) on your data. Clients still get the deployed revision.",
      ),
      h("div", { class: "am-run-inputs" }, inputs),
      h("div", { class: "am-adders" }, run),
      this.runOutput,
    );
  }

  private showRun(result: ApiRunResult): void {
    const statements = h(
      "details",
      { class: "am-sql", open: true, testid: "run-sql" },
      h("summary", null, `SQL that ran (${result.statements.length})`),
      result.statements.map((s) =>
        h(
          "div",
          { class: "am-statement" },
          h(
            "div",
            { class: "muted small" },
            `${s.action} · ${s.ms ?? "?"} ms · ${s.rows ?? 0} rows${s.error ? ` · ${s.error}` : ""}`,
          ),
          h("pre", { class: "mono" }, s.sql),
        ),
      ),
    );
    if (!result.ok) {
      this.runOutput.replaceChildren(
        h(
          "p",
          { class: "field-error", testid: "run-error" },
          `${result.error.type}: ${result.error.message}`,
        ),
        statements,
      );
      return;
    }
    this.runOutput.replaceChildren(
      h(
        "p",
        { class: "muted small", testid: "run-time" },
        `Ran in ${result.duration_ms} ms.`,
      ),
      h("div", { testid: "run-result" }, resultView(result.result)),
      statements,
    );
  }
}

/** A result as the Run panel shows it: records as a table (related data expandable), else the value. */
function resultView(value: unknown): HTMLElement {
  if (
    Array.isArray(value) &&
    value.every((v) => v && typeof v === "object" && !Array.isArray(v))
  ) {
    const records = value as Record<string, unknown>[];
    if (!records.length) return h("p", { class: "muted" }, "No records.");
    const columns = Object.keys(records[0] ?? {});
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table am-result", testid: "run-records" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            columns.map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          null,
          records.map((r) =>
            h(
              "tr",
              null,
              columns.map((c) => h("td", null, cell(r[c]))),
            ),
          ),
        ),
      ),
    );
  }
  return h("pre", { class: "mono am-value", testid: "run-value" }, JSON.stringify(value));
}

function cell(value: unknown): Child {
  if (value !== null && typeof value === "object") {
    const count = Array.isArray(value)
      ? `${value.length} record${value.length === 1 ? "" : "s"}`
      : "record";
    return h(
      "details",
      null,
      h("summary", null, count),
      resultView(Array.isArray(value) ? value : [value]),
    );
  }
  return value === null || value === undefined
    ? h("span", { class: "muted" }, "null")
    : String(value);
}

function pick(revision: ApiMethodRevision): Def {
  return {
    table: revision.table,
    params: revision.params,
    actions: revision.actions,
    returned: revision.returned,
  };
}
