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
  classifyApiMethodSaveError,
  tableShapes,
  type ApiMethodRevision,
} from "../apiMethodApi";
import * as M from "../apiMethodModel";
import type { PageContext } from "../context";
import { openDialog } from "../dialog";
import { button, h, loadingStatus, pageHead, withBusy, type Child } from "../dom";
import { Autosaver, type SaveStatus } from "../autosave";
import { icon } from "../icons";
import { kscriptApi, PARAM_TYPES, type ParamType } from "../kscriptApi";
import { formatSavedAt, methodName } from "../kscriptLogic";
import { tablesApi } from "../tablesApi";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import {
  aggregateBox,
  allBox,
  filtersBox,
  limitsBox,
  relatedBox,
  sortBox,
  valuesBox,
  type BoxContext,
} from "./apiMethodBoxes";
import { RunPanel } from "./apiMethodRun";
import { apiPath, deployBadge } from "./apiMethods";

type Def = M.MethodDefinition;

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

class Editor implements BoxContext {
  def: Def;
  private title: string;
  private name: string;
  private deployed: number | null;
  private readonly autosaver: Autosaver<ApiMethodRevision>;
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
  };
  private readonly run = new RunPanel({
    run: async (values) => {
      if (!(await this.autosaver.flush())) {
        throw new Error("The method is not saved; fix what stops it first.");
      }
      return apiMethodApi.run(this.app.id, this.methodId, values);
    },
  });

  constructor(
    private readonly ctx: PageContext,
    private readonly app: AppDetail,
    loaded: ApiMethodRevision,
    readonly tables: M.Tables,
    deployed: number | null,
  ) {
    this.def = pick(loaded);
    this.title = loaded.title;
    this.name = loaded.name;
    this.deployed = deployed;
    this.problems = loaded.problems;
    // The KScript IDE's autosave, with this editor's reading of a failed save.
    this.autosaver = new Autosaver<ApiMethodRevision>({
      base: loaded,
      save: (base, overwrite) => this.save(base, overwrite),
      onStatus: (status) => this.showStatus(status),
      onSaved: (revision) => {
        this.name = revision.name;
        this.problems = {};
        this.renderHead();
        this.renderProblems();
      },
      classify: classifyApiMethodSaveError,
      delayMs: 800,
    });
    ctx.signal.addEventListener("abort", () => {
      void this.autosaver.flush();
      this.destroySortables();
    });
    this.mount();
    this.showStatus(this.autosaver.current); // the revision it opened
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

  private showStatus(status: SaveStatus<ApiMethodRevision>): void {
    const text =
      status.kind === "saved"
        ? `Saved · rev ${status.revision} · ${formatSavedAt(status.savedAt)}`
        : status.kind === "dirty"
          ? "Unsaved changes"
          : status.kind === "saving"
            ? "Saving…"
            : `Not saved: ${status.failure.message}`;
    this.el.status.textContent = text;
    this.el.status.dataset.state =
      status.kind === "failed" && status.failure.kind === "conflict"
        ? "conflict"
        : status.kind;
  }

  /** The definition changed: show it and save it soon. */
  commit(next: Def): void {
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
          h("div", { class: "am-main" }, this.el.params, this.el.actions, this.run.el),
          this.el.side,
        ),
      ),
    );
    this.render();
    if (location.hash === "#run") this.run.el.scrollIntoView();
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
    this.run.render(M.declaredParams(this.def, this.tables));
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
      body.push(valuesBox(this, action));
    if (action.type === "aggregate") body.push(aggregateBox(this, action));
    if (action.type !== "create") body.push(filtersBox(this, action));
    if (action.type === "update" || action.type === "delete")
      body.push(allBox(this, action));
    if (action.type === "select")
      body.push(sortBox(this, action), limitsBox(this, action));
    if (action.type === "select" || action.type === "delete")
      body.push(relatedBox(this, action));
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
}

function pick(revision: ApiMethodRevision): Def {
  return {
    table: revision.table,
    params: revision.params,
    actions: revision.actions,
    returned: revision.returned,
  };
}
