/**
 * /apps/<id>/api: the app's methods clients call — drag-and-drop API methods and, when
 * KScript is on, KScript methods — in one list with a kind badge, the latest and the
 * deployed revision and a Run link; creating API methods and deploying.
 */
import "./apiMethods.css";
import { api, ApiError, type AppDetail } from "../api";
import { apiMethodApi, type ApiMethodSummary } from "../apiMethodApi";
import { emptyDefinition } from "../apiMethodModel";
import type { PageContext } from "../context";
import { confirmDialog, formDialog } from "../dialog";
import {
  badge,
  button,
  h,
  inputField,
  loadingStatus,
  pageHead,
  selectField,
  withBusy,
} from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { kscriptApi, type Deployment, type MethodSummary } from "../kscriptApi";
import { deployState, methodName } from "../kscriptLogic";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { tablesApi } from "../tablesApi";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import { deploymentLine, kscriptsPath } from "./kscripts";

export const apiPath = (appId: string | number): string =>
  `/apps/${encodeURIComponent(String(appId))}/api`;

/** The deployed state of a method as a badge (the same states as the KScript list). */
export function deployBadge(latest: number, deployed: number | null): HTMLElement {
  const state = deployState(latest, deployed);
  const el =
    state === "live"
      ? badge(`Live · rev ${deployed}`, "success", "method-live")
      : state === "changed"
        ? badge(`Changed since deploy (live: rev ${deployed})`, "accent", "method-live")
        : badge("Not deployed", "neutral", "method-live");
  el.dataset.state = state;
  return el;
}

interface Row {
  kind: "apimethod" | "kscript";
  id: number;
  name: string;
  title: string;
  latest: number;
  deployed: number | null;
  returns: string;
  problems: number;
  href: string;
}

function apiRow(app: AppDetail, m: ApiMethodSummary): Row {
  const returns = m.signature ? m.signature.returns.type : "?";
  return {
    kind: "apimethod",
    id: m.id,
    name: m.name,
    title: m.title,
    latest: m.latest_revision,
    deployed: m.deployed_revision,
    returns: returns === "records" ? `${m.table} records` : returns,
    problems: Object.keys(m.problems).length,
    href: `${apiPath(app.id)}/${m.id}`,
  };
}

function kscriptRow(app: AppDetail, m: MethodSummary): Row {
  return {
    kind: "kscript",
    id: m.id,
    name: m.name,
    title: m.title,
    latest: m.latest_revision,
    deployed: m.deployed_revision,
    returns: m.return_type,
    problems: 0,
    href: `${kscriptsPath(app.id)}/${m.id}`,
  };
}

export async function apiMethodsPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("API");
  ctx.main.replaceChildren(loadingStatus("Loading API methods…"));
  const app = await api.getApp(ctx.params.id ?? "");
  if (ctx.signal.aborted) return;
  ctx.setTitle(`${app.name} · API`);
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: "API" },
  ]);

  let rows: Row[] = [];
  let live: Deployment | undefined;
  const load = async (): Promise<void> => {
    const [methods, scripts, deployments] = await Promise.all([
      apiMethodApi.list(app.id),
      app.kscript_enabled ? kscriptApi.list(app.id) : Promise.resolve([]),
      kscriptApi.deployments(app.id),
    ]);
    rows = [
      ...methods.map((m) => apiRow(app, m)),
      ...scripts.map((m) => kscriptRow(app, m)),
    ];
    rows.sort((a, b) => a.name.localeCompare(b.name));
    live = deployments.find((d) => d.live);
  };
  await load();
  if (ctx.signal.aborted) return;

  const reload = async (): Promise<void> => {
    await load();
    if (!ctx.signal.aborted) render();
  };

  const newMethod = async (): Promise<void> => {
    const tables = await tablesApi.list(app.id);
    if (!tables.length) {
      toast("Create a table first: an API method works on a table.", "error");
      return;
    }
    const title = inputField({
      label: "Title",
      name: "title",
      testid: "api-title",
      required: true,
    });
    // As in the KScript dialog: the name clients will call, under the title as it is typed.
    const preview = h("code", { testid: "api-name-preview" }, "…");
    title.wrap.insertBefore(
      h("p", { class: "hint" }, "Clients call it as ", preview),
      title.wrap.querySelector(".field-error"),
    );
    title.input.addEventListener("input", () => {
      preview.textContent = methodName(title.input.value) || "…";
    });
    const table = selectField({
      label: "Table",
      name: "table",
      testid: "api-table",
      options: tables.map((t) => ({ value: t.name, label: t.name })),
    });
    const form = formDialog({
      title: "New API method",
      testid: "api-new-dialog",
      formClass: "dialog-form",
      fields: [title.wrap, table.wrap],
      submitLabel: "Create method",
      submitTestid: "api-create",
      errorTestid: "api-new-error",
      onSubmit: () => {
        // Every field of the table is offered as a parameter in the editor; none is on yet.
        const definition = emptyDefinition(table.input.value);
        void withBusy(form.submit, () =>
          apiMethodApi.create(app.id, { title: title.input.value, ...definition }),
        ).then(
          (created) => {
            form.dialog.close();
            toast(`Created ${created.name}.`, "success");
            ctx.navigate(`${apiPath(app.id)}/${created.id}`);
          },
          (err: unknown) => {
            if (err instanceof ApiError && err.fieldMessage("title")) {
              title.setError(err.fieldMessage("title"));
            } else {
              form.showError(errorText(err));
            }
          },
        );
      },
    });
  };

  const deploy = (btn: HTMLButtonElement): void => {
    void withBusy(btn, () => kscriptApi.deploy(app.id)).then(
      (deployment) => {
        toast(`Deployment #${deployment.number} is live.`, "success");
        void reload();
      },
      (err: unknown) => toastError(err, "Deploy failed"),
    );
  };

  const rowEl = (row: Row): HTMLElement => {
    const remove = button(icon("trash", 14), {
      variant: "ghost",
      size: "sm",
      testid: "method-delete",
      "aria-label": `Delete ${row.title}`,
      title: "Delete",
    });
    remove.addEventListener("click", () => {
      void confirmDialog({
        title: `Delete ${row.title}?`,
        message: h(
          "p",
          null,
          "The method ",
          h("code", null, row.name),
          " and all its revisions are deleted.",
          row.deployed !== null
            ? " Clients keep the deployed copy until the next deploy."
            : "",
        ),
        confirmLabel: "Delete method",
        confirmTestid: "method-delete-confirm",
        danger: true,
        action: async () => {
          await (row.kind === "apimethod"
            ? apiMethodApi.remove(app.id, row.id)
            : kscriptApi.remove(app.id, row.id));
          toast(`Deleted ${row.name}.`, "success");
          await reload();
        },
      });
    });
    return h(
      "tr",
      { testid: "method-row", "data-name": row.name, "data-kind": row.kind },
      h(
        "td",
        null,
        h("a", { href: row.href, testid: "method-open" }, row.title),
        h("div", { class: "ks-name mono" }, row.name),
      ),
      h(
        "td",
        null,
        badge(
          row.kind === "apimethod" ? "API method" : "KScript",
          "neutral",
          "method-kind",
        ),
      ),
      h("td", null, row.returns),
      h(
        "td",
        null,
        `rev ${row.latest} `,
        deployBadge(row.latest, row.deployed),
        row.problems
          ? badge(
              `Broken: ${row.problems} problem${row.problems === 1 ? "" : "s"}`,
              "danger",
              "method-problems",
            )
          : null,
      ),
      h(
        "td",
        { class: "col-actions" },
        h(
          "a",
          {
            href: `${row.href}#run`,
            class: "btn btn-ghost btn-sm",
            testid: "method-run",
          },
          "Run",
        ),
        remove,
      ),
    );
  };

  const render = (): void => {
    const create = button([icon("plus", 14), "New API method"], {
      variant: "primary",
      testid: "new-api-method",
    });
    create.addEventListener(
      "click",
      () => void newMethod().catch((e: unknown) => toastError(e)),
    );
    const deployBtn = button([icon("rocket", 14), "Deploy"], { testid: "deploy" });
    deployBtn.addEventListener("click", () => deploy(deployBtn));
    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page ks-page", testid: "api-page" },
        pageHead({
          title: "API",
          lead: h("p", { testid: "live-deployment" }, deploymentLine(live)),
          actions: h("div", { class: "ks-head-actions" }, create, deployBtn),
        }),
        rows.length
          ? dataTable({
              testid: "method-table",
              caption: "Methods",
              columns: ["Method", "Kind", "Returns", "Revision", ACTIONS_COLUMN],
              rows: rows.map(rowEl),
            })
          : h(
              "div",
              { class: "card empty", testid: "api-empty" },
              h(
                "p",
                { class: "muted" },
                "No methods yet. Create an API method to let clients reach your tables.",
              ),
            ),
      ),
    );
  };
  render();
}
