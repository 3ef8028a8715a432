/** /apps/<id>/kscripts: the app's KScript methods, what is live, and deploying. */
import "./kscripts.css";
import { api, ApiError, type AppDetail } from "../api";
import type { PageContext } from "../context";
import { confirmDialog } from "../dialog";
import {
  badge,
  button,
  emptyState,
  h,
  loadingStatus,
  pageHead,
  withBusy,
  type Child,
} from "../dom";
import { errorText, formatDateTime, formatRelative } from "../format";
import { icon } from "../icons";
import { kscriptApi, type Deployment, type MethodSummary } from "../kscriptApi";
import { deployState, formatSavedAt } from "../kscriptLogic";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import { reviewDeploy, showDeployFailure } from "./deployDialog";
import { definitionDialog } from "./kscriptForm";

export const kscriptsPath = (appId: string | number): string =>
  `/apps/${encodeURIComponent(String(appId))}/kscripts`;

/**
 * Loads the app; when its KScript switch is off, says so and returns null (the page
 * offers nothing else then).
 */
export async function loadKScriptApp(ctx: PageContext): Promise<AppDetail | null> {
  ctx.main.replaceChildren(loadingStatus("Loading KScript…"));
  const app = await api.getApp(ctx.params.id ?? "");
  if (ctx.signal.aborted) return null;
  if (app.kscript_enabled) return app;
  ctx.setTitle(`${app.name} · KScript`);
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: "KScript" },
  ]);
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page" },
      emptyState({
        testid: "kscript-disabled",
        frame: "card",
        heading: "h1",
        icon: icon("code", 22),
        title: "KScript is not enabled for this app",
        lead: ctx.user.is_staff
          ? "Server-side JavaScript is switched on per app by a platform administrator, which you are."
          : [
              "Server-side JavaScript is switched on per app by a platform administrator. Ask one to enable KScript for ",
              h("strong", null, app.name),
              ".",
            ],
        actions: ctx.user.is_staff ? enableKScriptButton(ctx, app) : null,
      }),
    ),
  );
  ctx.refreshNav();
  return null;
}

/** For a platform administrator: switch KScript on for the app here, then show the page
 * that asked (the same switch as on the Platform page). */
function enableKScriptButton(ctx: PageContext, app: AppDetail): HTMLButtonElement {
  const btn = button([icon("code", 16), `Enable KScript for ${app.name}`], {
    variant: "primary",
    testid: "enable-kscript",
  });
  btn.addEventListener("click", () => {
    void withBusy(btn, async () => {
      try {
        await api.updatePlatformApp(app.id, { kscript_enabled: true });
      } catch (error) {
        toastError(error, "KScript was not enabled");
        return;
      }
      ctx.apps.upsert({ ...app, kscript_enabled: true });
      toast(`KScript enabled for ${app.name}.`, "success");
      if (!ctx.signal.aborted)
        ctx.navigate(location.pathname + location.search, { replace: true });
    });
  });
  return btn;
}

export function liveBadge(method: MethodSummary): HTMLElement {
  const state = deployState(method.latest_revision, method.deployed_revision);
  const el =
    state === "live"
      ? badge(`Live · rev ${method.deployed_revision}`, "success", "kscript-live")
      : state === "changed"
        ? badge(
            `Changed since deploy (live: rev ${method.deployed_revision})`,
            "accent",
            "kscript-live",
          )
        : badge("Not deployed", "neutral", "kscript-live");
  el.dataset.state = state;
  return el;
}

export function deploymentLine(live: Deployment | undefined): Child {
  if (!live)
    return h(
      "span",
      { class: "muted" },
      "Nothing is deployed yet: clients cannot call any method.",
    );
  return h(
    "span",
    null,
    h("strong", null, `Deployment #${live.number}`),
    ` · ${live.created_by ?? "someone"} · ${formatSavedAt(live.created_at)} (${formatRelative(live.created_at)}) · `,
    `${live.methods.length} method${live.methods.length === 1 ? "" : "s"}`,
    live.restored_from !== null ? ` · rolled back to #${live.restored_from}` : "",
  );
}

export async function kscriptsPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("KScript");
  ctx.setCrumbs([{ label: "Apps", href: "/apps" }, { label: "…" }, { label: "KScript" }]);
  const app = await loadKScriptApp(ctx);
  if (!app) return;
  let [methods, deployments] = await Promise.all([
    kscriptApi.list(app.id),
    kscriptApi.deployments(app.id),
  ]);
  if (ctx.signal.aborted) return;
  ctx.setTitle(`${app.name} · KScript`);
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: "KScript" },
  ]);

  const reload = async (): Promise<void> => {
    [methods, deployments] = await Promise.all([
      kscriptApi.list(app.id),
      kscriptApi.deployments(app.id),
    ]);
    if (!ctx.signal.aborted) render();
  };

  const editorHref = (m: { id: number }): string => `${kscriptsPath(app.id)}/${m.id}`;

  const newMethod = (): void => {
    void definitionDialog({
      title: "New KScript method",
      submitLabel: "Create method",
      submit: async (definition) => {
        const created = await kscriptApi.create(app.id, {
          ...definition,
          code: "// K.params holds the inputs; K.setResponse(...) sets the result.\nK.setResponse({});\n",
        });
        toast(`Created ${created.name}.`, "success");
        ctx.navigate(editorHref(created));
      },
    });
  };

  /** Deploy the latest revisions, or roll back to `restore`, after a review. */
  const deploy = (btn: HTMLButtonElement, restore?: number): void => {
    void withBusy(btn, () => reviewDeploy({ appId: app.id, restore })).then(
      (deployment) => {
        if (!deployment) return;
        toast(
          deployment.restored_from !== null
            ? `Deployment #${deployment.number} is live: the methods of #${deployment.restored_from} again.`
            : `Deployment #${deployment.number} is live.`,
          "success",
        );
        void reload();
      },
      (err: unknown) => showDeployFailure(errorText(err)),
    );
  };

  const methodRow = (m: MethodSummary): HTMLElement => {
    const edit = button(icon("edit", 14), {
      variant: "ghost",
      size: "sm",
      testid: "kscript-edit",
      "aria-label": `Edit details of ${m.title}`,
      title: "Edit title, return type and parameters",
    });
    edit.addEventListener("click", () => {
      void definitionDialog({
        title: `Edit ${m.title}`,
        submitLabel: "Save details",
        initial: m,
        method: { appId: app.id, id: m.id },
        submit: async (definition) => {
          const latest = await kscriptApi.get(app.id, m.id);
          await kscriptApi.save(app.id, m.id, {
            ...definition,
            code: latest.code,
            base_revision: latest.revision,
            // Only the details change: code saved earlier that does not parse stays.
            allow_syntax_errors: true,
          });
          toast("Saved.", "success");
          await reload();
        },
      });
    });
    const remove = button(icon("trash", 14), {
      variant: "ghost",
      size: "sm",
      testid: "kscript-delete",
      "aria-label": `Delete ${m.title}`,
      title: "Delete",
    });
    remove.addEventListener("click", () => {
      void confirmDialog({
        title: `Delete ${m.title}?`,
        message: h(
          "p",
          null,
          "The method ",
          h("code", null, m.name),
          " and all its revisions are deleted. ",
          m.deployed_revision !== null
            ? "Clients keep calling the deployed copy until the next deploy."
            : "",
        ),
        confirmLabel: "Delete method",
        confirmTestid: "kscript-delete-confirm",
        testid: "kscript-delete-dialog",
        danger: true,
        action: async () => {
          await kscriptApi.remove(app.id, m.id);
          toast(`Deleted ${m.name}.`, "success");
          await reload();
        },
      });
    });
    const params = m.params.length
      ? m.params.map((p) =>
          h(
            "span",
            { class: "ks-chip" },
            p.name,
            h("span", { class: "muted" }, `: ${p.type}`),
          ),
        )
      : h("span", { class: "muted" }, "none");
    return h(
      "tr",
      { testid: "kscript-row", "data-name": m.name },
      h(
        "td",
        null,
        h(
          "a",
          { href: editorHref(m), class: "cell-title", testid: "kscript-open" },
          m.title,
        ),
        h("div", null, h("code", { class: "ks-name" }, m.name)),
      ),
      h("td", null, m.return_type),
      h("td", null, h("div", { class: "ks-chips" }, params)),
      h(
        "td",
        { class: "small" },
        h("div", null, `Revision ${m.latest_revision}`),
        h(
          "div",
          { class: "muted", title: formatDateTime(m.saved_at) },
          `${m.author ?? "someone"} · ${formatRelative(m.saved_at)}`,
        ),
      ),
      h("td", null, liveBadge(m)),
      h("td", { class: "col-actions" }, edit, remove),
    );
  };

  const render = (): void => {
    const create = button([icon("plus", 14), "New method"], {
      variant: "primary",
      testid: "new-kscript",
    });
    create.addEventListener("click", newMethod);
    const deployBtn = button([icon("rocket", 14), "Deploy"], { testid: "deploy" });
    deployBtn.addEventListener("click", () => deploy(deployBtn));
    const live = deployments.find((d) => d.live);
    const pending = methods.filter(
      (m) => deployState(m.latest_revision, m.deployed_revision) !== "live",
    ).length;

    const table = methods.length
      ? dataTable({
          testid: "kscript-table",
          caption: "KScript methods",
          columns: [
            "Method",
            "Returns",
            "Parameters",
            "Last saved",
            "Live",
            ACTIONS_COLUMN,
          ],
          rows: methods.map(methodRow),
        })
      : emptyState({
          testid: "kscript-empty",
          frame: "inline",
          heading: "p",
          icon: icon("code", 22),
          title: "No KScript methods yet",
          lead: "Write server-side JavaScript that clients call like any API method.",
        });

    const rollbackButton = (d: Deployment): HTMLElement | null => {
      if (d.live) return null;
      const btn = button([icon("history", 14), "Roll back"], {
        size: "sm",
        variant: "ghost",
        testid: "rollback",
        "aria-label": `Roll back to deployment #${d.number}`,
        title: `Make deployment #${d.number}'s methods live again`,
      });
      btn.addEventListener("click", () => deploy(btn, d.number));
      return btn;
    };
    const history = deployments.length
      ? dataTable({
          testid: "deployments-table",
          caption: "Deployments",
          columns: ["#", "When", "By", "Methods", ACTIONS_COLUMN],
          rows: deployments.map((d) =>
            h(
              "tr",
              { testid: "deployment-row", "data-number": String(d.number) },
              h(
                "td",
                null,
                `#${d.number} `,
                d.live ? badge("Live", "success") : null,
                d.restored_from !== null
                  ? h(
                      "div",
                      { class: "muted small", testid: "deployment-restored" },
                      `rollback to #${d.restored_from}`,
                    )
                  : null,
              ),
              h(
                "td",
                { title: formatDateTime(d.created_at) },
                formatSavedAt(d.created_at),
              ),
              h("td", null, d.created_by ?? "—"),
              h(
                "td",
                { class: "small" },
                Object.entries(d.revisions).length
                  ? Object.entries(d.revisions)
                      .map(([name, rev]) => `${name} (rev ${rev})`)
                      .join(", ")
                  : d.methods.join(", ") || "—",
              ),
              h("td", { class: "col-actions" }, rollbackButton(d)),
            ),
          ),
        })
      : null;

    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page ks-page" },
        pageHead({
          title: "KScript",
          lead: "Server-side JavaScript methods. Clients see only what is deployed.",
          actions: h("div", { class: "ks-head-actions" }, deployBtn, create),
        }),
        h(
          "section",
          { class: "card section", "aria-label": "Methods" },
          h(
            "div",
            { class: "section-head-row" },
            h("h2", { class: "section-title" }, "Methods"),
            pending && live
              ? h(
                  "span",
                  { class: "muted small", testid: "kscript-pending" },
                  `${pending} not live yet — deploy to publish`,
                )
              : null,
          ),
          table,
        ),
        h(
          "section",
          {
            class: "card section",
            "aria-labelledby": "ks-deploy-title",
            testid: "deployments",
          },
          h(
            "div",
            { class: "section-head" },
            h("h2", { class: "section-title", id: "ks-deploy-title" }, "Deployments"),
            h("p", { testid: "live-deployment" }, deploymentLine(live)),
          ),
          history,
        ),
      ),
    );
    ctx.refreshNav();
  };

  render();
}

export function isNetwork(err: unknown): boolean {
  return err instanceof ApiError && err.network;
}
