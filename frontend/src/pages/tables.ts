/**
 * /apps/<id>/tables: an app's tables (alias, fields, record count), creating and
 * deleting them; plus the pieces the table pages share (header, tabs, delete flow).
 */
import "../tables.css";
import { ApiError, type App } from "../api";
import { copyWithToast } from "../clipboard";
import type { PageContext } from "../context";
import { confirmDialog, formDialog } from "../dialog";
import {
  button,
  emptyState,
  h,
  inputField,
  loadingStatus,
  pageHead,
  withBusy,
  type Child,
} from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { tablesApi, type Table } from "../tablesApi";
import { countLabel } from "../tableValues";
import { toast } from "../toast";
import { appHome } from "./apps";
import { apiMethodImpactNote } from "../apiMethodImpact";

export const tablesPath = (appId: string | number): string =>
  `/apps/${encodeURIComponent(String(appId))}/tables`;
export const tablePath = (appId: string | number, tableId: number): string =>
  `${tablesPath(appId)}/${tableId}`;
export const tableDataPath = (appId: string | number, tableId: number): string =>
  `${tablePath(appId, tableId)}/data`;

/** The app of the page, from the shell's cache; a 404 when the user has no such app. */
export async function pageApp(ctx: PageContext): Promise<App> {
  const id = ctx.params.id ?? "";
  const apps = await ctx.apps.list();
  const app = apps.find((a) => String(a.id) === id);
  if (!app) throw new ApiError(404, "No such app.");
  return app;
}

/**
 * Opens a page of the tables area: a provisional title and crumbs and a loading line
 * until the page's app is known.
 */
export async function startTablesAreaPage(
  ctx: PageContext,
  title: string,
  loadingText: string,
): Promise<App> {
  ctx.setTitle(title);
  ctx.setCrumbs([{ label: "Apps", href: "/apps" }, { label: "…" }, { label: "Tables" }]);
  ctx.main.replaceChildren(loadingStatus(loadingText));
  return pageApp(ctx);
}

/** The page's table id; a 404 when it is not a number. */
export function pageTableId(ctx: PageContext): number {
  const tableId = Number(ctx.params.table);
  if (!Number.isInteger(tableId)) throw new ApiError(404, "No such table.");
  return tableId;
}

/** An alias in a code chip with a copy button: K.query uses it as the SQL table name. */
export function aliasChip(alias: string, testid = "table-alias"): HTMLElement {
  const copy = button(icon("copy", 13), {
    size: "sm",
    variant: "ghost",
    class: "btn-icon",
    "aria-label": `Copy alias ${alias}`,
    title: "Copy alias",
    testid: `${testid}-copy`,
  });
  copy.addEventListener("click", (event: Event) => {
    event.preventDefault();
    void copyWithToast(alias, "Alias");
  });
  return h(
    "span",
    { class: "alias" },
    h("code", { class: "alias-code", testid, title: "Use this name in K.query" }, alias),
    copy,
  );
}

export function tableCount(table: Table): string {
  return countLabel(table.count, table.count_exact, false);
}

/**
 * Deletes a table, asking first. When other tables belong to it (known now, or learnt
 * from the server's 409) a second question lists them; their links become Integer
 * fields. Resolves true when the table is gone.
 */
export async function deleteTableFlow(
  app: App,
  table: Table,
  onDeleted: () => void,
): Promise<boolean> {
  const gone = (): void => {
    toast(`Deleted table ${table.name}.`, "success");
    onDeleted();
  };
  let children = table.has_many;
  if (children.length === 0) {
    let conflict = false;
    const done = await confirmDialog({
      title: `Delete table ${table.name}?`,
      message: h(
        "div",
        null,
        h(
          "p",
          null,
          "The table and ",
          h("strong", null, tableCount(table)),
          " are deleted for good. API methods and KScripts using ",
          h("code", null, table.alias),
          " stop working.",
        ),
        apiMethodImpactNote(app.id, table.name, null, "delete").el,
      ),
      confirmLabel: "Delete table",
      confirmTestid: "delete-table-confirm",
      testid: "delete-table-dialog",
      danger: true,
      action: async () => {
        try {
          await tablesApi.remove(app.id, table.id);
        } catch (error) {
          if (error instanceof ApiError && error.status === 409) {
            conflict = true;
            return;
          }
          throw error;
        }
      },
    });
    if (!done) return false;
    if (!conflict) {
      gone();
      return true;
    }
    // Someone linked a table to it meanwhile: learn which and ask again.
    children = (await tablesApi.get(app.id, table.id)).has_many;
  }
  const done = await confirmDialog({
    title: `Delete table ${table.name}?`,
    message: h(
      "div",
      { class: "stack-sm" },
      h(
        "p",
        null,
        "Other tables belong to ",
        h("strong", null, table.name),
        ". Deleting it turns these links into plain Integer fields (their values stay):",
      ),
      h(
        "ul",
        { class: "relation-list", testid: "delete-table-children" },
        children.map((c) => h("li", null, h("code", null, `${c.table.name}.${c.field}`))),
      ),
      h(
        "p",
        null,
        "The table and ",
        h("strong", null, tableCount(table)),
        " are deleted.",
      ),
      apiMethodImpactNote(app.id, table.name, null, "delete").el,
    ),
    confirmLabel: "Delete and unlink",
    confirmTestid: "delete-table-confirm",
    testid: "delete-table-dialog",
    danger: true,
    action: () => tablesApi.remove(app.id, table.id, true),
  });
  if (done) gone();
  return done;
}

/** Asks for a table name; errors from the API appear under the field. */
export function tableNameDialog(options: {
  title: string;
  submitLabel: string;
  value?: string;
  testid: string;
  description?: Child;
  submit: (name: string) => Promise<void>;
}): void {
  const name = inputField({
    label: "Table name",
    name: "name",
    value: options.value,
    testid: `${options.testid}-name`,
    autocomplete: "off",
    hint: "Letters, digits and underscores; usually a plural noun like photos.",
  });
  name.input.classList.add("mono");
  const { dialog, submit, showError, hideError } = formDialog({
    title: options.title,
    description: options.description,
    testid: `${options.testid}-dialog`,
    formClass: "dialog-form",
    fields: [name.wrap],
    submitLabel: options.submitLabel,
    submitTestid: `${options.testid}-submit`,
    cancelTestid: `${options.testid}-cancel`,
    onSubmit: () => {
      name.setError("");
      hideError();
      const value = name.input.value.trim();
      if (!value) {
        name.setError("Give the table a name.");
        name.input.focus();
        return;
      }
      void withBusy(submit, () => options.submit(value)).then(
        () => dialog.close(),
        (err: unknown) => {
          if (err instanceof ApiError && err.fields.name) {
            name.setError(err.fieldMessage("name"));
            name.input.focus();
          } else {
            showError(errorText(err));
          }
        },
      );
    },
  });
}

/** Title, alias, count and the Structure / Data tabs of a table's pages. */
export function tableHeader(
  app: App,
  table: Table,
  active: "structure" | "data",
  actions: Child,
): HTMLElement {
  const tab = (
    href: string,
    label: string,
    which: "structure" | "data",
    ic: Parameters<typeof icon>[0],
  ): HTMLElement =>
    h(
      "a",
      {
        href,
        class: active === which ? "tab active" : "tab",
        "aria-current": active === which ? "page" : undefined,
        testid: `tab-${which}`,
      },
      icon(ic, 14),
      label,
    );
  return h(
    "div",
    { class: "table-head" },
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        { class: "table-title-block" },
        h(
          "h1",
          { class: "page-title table-title", testid: "table-title" },
          icon("table", 20),
          table.name,
        ),
        h(
          "div",
          { class: "table-meta" },
          aliasChip(table.alias),
          h("span", { class: "meta-dot", "aria-hidden": "true" }, "·"),
          h("span", { class: "muted", testid: "table-count" }, tableCount(table)),
          h("span", { class: "meta-dot", "aria-hidden": "true" }, "·"),
          h(
            "span",
            { class: "muted" },
            `${table.fields.length} field${table.fields.length === 1 ? "" : "s"}`,
          ),
        ),
      ),
      h("div", { class: "page-actions" }, actions),
    ),
    h(
      "nav",
      { class: "tabs", "aria-label": "Table views" },
      tab(tablePath(app.id, table.id), "Structure", "structure", "settings"),
      tab(tableDataPath(app.id, table.id), "Data", "data", "table"),
    ),
  );
}

export function setTableCrumbs(ctx: PageContext, app: App, table?: Table): void {
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: "Tables", href: tablesPath(app.id) },
    ...(table ? [{ label: table.name }] : []),
  ]);
}

export async function tablesPage(ctx: PageContext): Promise<void> {
  const app = await startTablesAreaPage(ctx, "Tables", "Loading tables…");
  let tables = await tablesApi.list(app.id, ctx.signal);
  if (ctx.signal.aborted) return;
  ctx.setTitle(`${app.name} · Tables`);
  setTableCrumbs(ctx, app);

  const newTable = (): void => {
    tableNameDialog({
      title: "New table",
      submitLabel: "Create table",
      testid: "new-table",
      description:
        "Every table gets an ID field named after its singular (photos → photoID) and timeCreated / timeUpdated.",
      submit: async (name) => {
        const created = await tablesApi.create(app.id, name);
        toast(`Created table ${created.name}.`, "success");
        ctx.navigate(tablePath(app.id, created.id));
      },
    });
  };

  const render = (): void => {
    const create = button([icon("plus", 14), "New table"], {
      variant: "primary",
      testid: "new-table",
    });
    create.addEventListener("click", newTable);
    const head = pageHead({
      title: "Tables",
      lead: [
        "Your app's data. Each table has an alias: the name KScript's ",
        h("code", null, "K.query"),
        " uses for it in SQL.",
      ],
      actions: tables.length ? create : null,
    });

    if (tables.length === 0) {
      const first = button([icon("plus", 14), "Create your first table"], {
        variant: "primary",
        testid: "new-table",
      });
      first.addEventListener("click", newTable);
      ctx.main.replaceChildren(
        h(
          "div",
          { class: "page page-wide" },
          head,
          emptyState({
            testid: "tables-empty",
            frame: "card",
            icon: icon("table", 22),
            title: "No tables yet",
            lead: [
              "Create a table such as ",
              h("code", null, "photos"),
              ", add fields, then browse, add or import its records.",
            ],
            actions: first,
          }),
        ),
      );
      return;
    }

    const rows = tables.map((table) => {
      const del = button(icon("trash", 14), {
        size: "sm",
        variant: "ghost",
        class: "btn-icon",
        "aria-label": `Delete table ${table.name}`,
        title: "Delete table",
        testid: "delete-table",
      });
      del.addEventListener("click", () => {
        void deleteTableFlow(app, table, () => {
          tables = tables.filter((t) => t.id !== table.id);
          render();
        });
      });
      const relations = table.fields
        .filter((f) => f.type === "belongs_to" && f.target)
        .map((f) => f.target?.name ?? "");
      return h(
        "tr",
        { testid: "table-row", "data-table": table.name },
        h(
          "td",
          null,
          h(
            "a",
            {
              href: tablePath(app.id, table.id),
              class: "cell-title table-link",
              testid: "table-link",
            },
            table.name,
          ),
          relations.length
            ? h("div", { class: "muted small" }, `belongs to ${relations.join(", ")}`)
            : null,
        ),
        h("td", null, aliasChip(table.alias, "table-row-alias")),
        h("td", { class: "num" }, String(table.fields.length)),
        h("td", { class: "num", testid: "table-row-count" }, tableCount(table)),
        h(
          "td",
          { class: "col-actions" },
          h(
            "a",
            {
              href: tableDataPath(app.id, table.id),
              class: "btn btn-secondary btn-sm",
              testid: "browse-table",
            },
            "Browse data",
          ),
          del,
        ),
      );
    });

    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page page-wide" },
        head,
        h(
          "div",
          { class: "card" },
          dataTable({
            testid: "tables-table",
            caption: "Tables of this app",
            columns: [
              "Name",
              "Alias (for K.query)",
              { label: "Fields", class: "num" },
              { label: "Records", class: "num" },
              ACTIONS_COLUMN,
            ],
            rows,
            wrapClass: "table-wrap-flush",
          }),
        ),
      ),
    );
  };
  render();
}
