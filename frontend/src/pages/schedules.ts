/** /apps/<id>/schedules: the app's scheduled KScripts with their next run, last status
 * and recent durations; creating, switching, running now and deleting them. */
import "./schedules.css";
import type { AppDetail } from "../api";
import type { PageContext } from "../context";
import { confirmDialog } from "../dialog";
import { button, emptyState, h, pageHead, withBusy } from "../dom";
import { formatRelative } from "../format";
import { icon } from "../icons";
import { kscriptApi, type MethodSummary } from "../kscriptApi";
import { formatDue } from "../scheduleLogic";
import { schedulesApi, type Schedule, type ScheduleList } from "../schedulesApi";
import { ACTIONS_COLUMN, dataTable } from "../tableMarkup";
import { toast, toastError } from "../toast";
import { appHome } from "./apps";
import { kscriptsPath, loadKScriptApp } from "./kscripts";
import { scheduleDialog } from "./scheduleForm";
import { enabledSwitch, sparkline, statusDot } from "./scheduleViews";

export const schedulesPath = (appId: string | number): string =>
  `/apps/${encodeURIComponent(String(appId))}/schedules`;

// The list refreshes itself this often while it is open (last status, next run).
const REFRESH_MS = 10_000;

/** The banners above a schedules page: switched off by an admin, app suspended. */
export function stateBanners(
  list: Pick<ScheduleList, "scheduling_enabled" | "suspended">,
): HTMLElement[] {
  const banners: HTMLElement[] = [];
  if (!list.scheduling_enabled)
    banners.push(
      h(
        "p",
        { class: "banner banner-warning", role: "status", testid: "scheduling-off" },
        "A platform administrator switched scheduling off for this app: nothing runs until it is switched on again.",
      ),
    );
  if (list.suspended)
    banners.push(
      h(
        "p",
        { class: "banner banner-danger", role: "status" },
        "This app is suspended: schedules do not run.",
      ),
    );
  return banners;
}

/** Opens the editor for a new schedule; resolves to the created one (or null). */
export async function newScheduleDialog(
  app: AppDetail,
  methods: MethodSummary[],
): Promise<Schedule | null> {
  let created: Schedule | null = null;
  await scheduleDialog({
    appId: app.id,
    title: "New schedule",
    submitLabel: "Create schedule",
    methods,
    submit: async (definition) => {
      created = await schedulesApi.create(app.id, definition);
      toast(`Created ${created.name}: ${created.description}.`, "success");
    },
  });
  return created;
}

/** Asks, then deletes the schedule with its history; resolves true when deleted. */
export function deleteSchedule(app: AppDetail, schedule: Schedule): Promise<boolean> {
  return confirmDialog({
    title: `Delete ${schedule.name}?`,
    message: h(
      "p",
      null,
      "The schedule and its run history are deleted. A run in progress finishes.",
    ),
    confirmLabel: "Delete schedule",
    confirmTestid: "schedule-delete-confirm",
    testid: "schedule-delete-dialog",
    danger: true,
    action: async () => {
      await schedulesApi.remove(app.id, schedule.id);
      toast(`Deleted ${schedule.name}.`, "success");
    },
  });
}

export async function runNow(
  app: AppDetail,
  schedule: Schedule,
  btn: HTMLButtonElement,
): Promise<boolean> {
  try {
    await withBusy(btn, () => schedulesApi.runNow(app.id, schedule.id));
    toast(`${schedule.name} is queued to run now.`, "success");
    return true;
  } catch (err: unknown) {
    toastError(err, `Could not run ${schedule.name}`);
    return false;
  }
}

export async function schedulesPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Schedules");
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: "…" },
    { label: "Schedules" },
  ]);
  const app = await loadKScriptApp(ctx);
  if (!app) return;
  let [list, methods] = await Promise.all([
    schedulesApi.list(app.id),
    kscriptApi.list(app.id),
  ]);
  if (ctx.signal.aborted) return;
  ctx.setTitle(`${app.name} · Schedules`);
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: "Schedules" },
  ]);

  const reload = async (): Promise<void> => {
    [list, methods] = await Promise.all([
      schedulesApi.list(app.id),
      kscriptApi.list(app.id),
    ]);
    if (!ctx.signal.aborted) render();
  };
  const timer = window.setInterval(() => {
    // Quietly: a failed refresh leaves the page as it was.
    if (!document.hidden) reload().catch(() => undefined);
  }, REFRESH_MS);
  ctx.signal.addEventListener("abort", () => window.clearInterval(timer));

  const detailHref = (s: Schedule): string => `${schedulesPath(app.id)}/${s.id}`;

  const edit = (schedule: Schedule): void => {
    void scheduleDialog({
      appId: app.id,
      title: `Edit ${schedule.name}`,
      submitLabel: "Save schedule",
      methods,
      initial: schedule,
      submit: async (definition) => {
        await schedulesApi.save(app.id, schedule.id, definition);
        toast("Saved.", "success");
        await reload();
      },
    });
  };

  const row = (s: Schedule): HTMLElement => {
    const runBtn = button(icon("play", 14), {
      variant: "ghost",
      size: "sm",
      testid: "schedule-run-now",
      "aria-label": `Run ${s.name} now`,
      title: "Run now",
    });
    runBtn.addEventListener("click", () => {
      void runNow(app, s, runBtn).then((ok) => ok && ctx.navigate(detailHref(s)));
    });
    const editBtn = button(icon("edit", 14), {
      variant: "ghost",
      size: "sm",
      testid: "schedule-edit",
      "aria-label": `Edit ${s.name}`,
      title: "Edit",
    });
    editBtn.addEventListener("click", () => edit(s));
    const next =
      s.enabled && s.next_due_at
        ? h(
            "div",
            { testid: "schedule-next", title: new Date(s.next_due_at).toString() },
            h("div", { class: "sched-nowrap" }, formatDue(s.next_due_at, s.timezone)),
            h("div", { class: "muted small" }, formatRelative(s.next_due_at)),
          )
        : h("span", { class: "muted", testid: "schedule-next" }, "Off");
    const last = s.last_run
      ? h(
          "div",
          {
            class: "sched-last",
            testid: "schedule-last",
            "data-status": s.last_run.status,
          },
          statusDot(s.last_run.status),
          h("span", { class: "muted small" }, formatRelative(s.last_run.due_at)),
        )
      : h("span", { class: "muted small", testid: "schedule-last" }, "Never run");
    return h(
      "tr",
      { testid: "schedule-row", "data-name": s.name, "data-schedule-id": String(s.id) },
      h(
        "td",
        null,
        h(
          "a",
          { href: detailHref(s), class: "cell-title", testid: "schedule-open" },
          s.name,
        ),
        h(
          "div",
          { class: "sched-method" },
          h("code", { class: "ks-name" }, s.method),
          s.method_deployed
            ? null
            : h(
                "span",
                {
                  class: "badge badge-danger",
                  title: "Runs fail until the method is deployed",
                },
                "not deployed",
              ),
        ),
      ),
      h(
        "td",
        { class: "sched-when-cell", testid: "schedule-description" },
        s.description,
      ),
      h("td", null, next),
      h("td", null, h("div", { class: "sched-recent" }, last, sparkline(s.recent))),
      h(
        "td",
        { class: "col-actions" },
        h(
          "div",
          { class: "sched-row-actions" },
          enabledSwitch(app.id, s, () => void reload()),
          runBtn,
          editBtn,
        ),
      ),
    );
  };

  const render = (): void => {
    const create = button([icon("plus", 14), "New schedule"], {
      variant: "primary",
      testid: "new-schedule",
      disabled: methods.length === 0,
      title: methods.length === 0 ? "Write a KScript method first" : undefined,
    });
    create.addEventListener("click", () => {
      void newScheduleDialog(app, methods).then((created) => {
        if (created) ctx.navigate(detailHref(created));
      });
    });
    const body = list.schedules.length
      ? dataTable({
          testid: "schedules-table",
          caption: "Schedules",
          columns: ["Schedule", "When", "Next run", "Recent runs", ACTIONS_COLUMN],
          rows: list.schedules.map(row),
          tableClass: "sched-table",
        })
      : emptyState({
          testid: "schedules-empty",
          frame: "inline",
          heading: "p",
          icon: icon("history", 22),
          title: "No schedules yet",
          lead: methods.length
            ? "Run a KScript method every minute, every hour, or on a cron of your own."
            : [
                "Schedules run KScript methods: ",
                h("a", { href: kscriptsPath(app.id) }, "write one first"),
                ".",
              ],
        });
    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page sched-page" },
        pageHead({
          title: "Schedules",
          lead: "KScript methods on a timetable. Each run takes the deployed revision; its logs and result stay in the history.",
          actions: create,
        }),
        ...stateBanners(list),
        h("section", { class: "card section", "aria-label": "Schedules" }, body),
      ),
    );
    ctx.refreshNav();
  };

  render();
}
