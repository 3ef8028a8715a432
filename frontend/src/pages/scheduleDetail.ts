/** /apps/<id>/schedules/<schedule>: one schedule's timing, next five runs and its run
 * history; a row opens the run's logs, error and result. Polls while a run is going. */
import "./schedules.css";
import type { AppDetail } from "../api";
import type { PageContext } from "../context";
import { badge, button, cardSection, h, loadingStatus, pageHead } from "../dom";
import { errorText, formatRelative } from "../format";
import { icon } from "../icons";
import { kscriptApi, type MethodSummary } from "../kscriptApi";
import { formatDue, formatDuration, isUnfinished } from "../scheduleLogic";
import { schedulesApi, type RunSummary } from "../schedulesApi";
import { dataTable } from "../tableMarkup";
import { toast } from "../toast";
import { appHome } from "./apps";
import { loadKScriptApp } from "./kscripts";
import { scheduleDialog } from "./scheduleForm";
import { deleteSchedule, runNow, schedulesPath, stateBanners } from "./schedules";
import { enabledSwitch, runDetails, statusDot } from "./scheduleViews";

// Polled often while a run is queued or running, now and then otherwise (the next
// scheduled run shows up without a reload).
const POLL_MS = 1500;
const IDLE_POLL_MS = 15_000;

export async function scheduleDetailPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Schedule");
  const app = await loadKScriptApp(ctx);
  if (!app) return;
  const scheduleId = ctx.params.schedule ?? "";
  const [first, firstPage, firstMethods, firstList] = await Promise.all([
    schedulesApi.get(app.id, scheduleId),
    schedulesApi.runs(app.id, scheduleId),
    kscriptApi.list(app.id),
    schedulesApi.list(app.id),
  ]);
  if (ctx.signal.aborted) return;
  let schedule = first;
  let methods = firstMethods;
  let list = firstList;
  let runs: RunSummary[] = firstPage.runs;
  let more = firstPage.more;
  const open = new Set<number>();
  const detailsCache = new Map<number, HTMLElement>();

  const crumbs = (): void => {
    ctx.setTitle(`${schedule.name} · Schedules · ${app.name}`);
    ctx.setCrumbs([
      { label: "Apps", href: "/apps" },
      { label: app.name, href: appHome(app) },
      { label: "Schedules", href: schedulesPath(app.id) },
      { label: schedule.name },
    ]);
  };

  const refresh = async (): Promise<void> => {
    const [fresh, first] = await Promise.all([
      schedulesApi.get(app.id, scheduleId),
      schedulesApi.runs(app.id, scheduleId),
    ]);
    if (ctx.signal.aborted) return;
    schedule = fresh;
    // Keep the older pages the person loaded; replace the newest with the fresh one.
    const oldest = first.runs[first.runs.length - 1];
    const kept = oldest ? runs.filter((r) => r.due_at < oldest.due_at) : [];
    // A run that was going has news: its cached details (logs so far) are stale.
    for (const run of runs) if (isUnfinished(run.status)) detailsCache.delete(run.id);
    runs = [...first.runs, ...kept];
    if (!kept.length) more = first.more;
    render();
  };

  let timer = 0;
  const schedulePoll = (): void => {
    window.clearTimeout(timer);
    if (ctx.signal.aborted) return;
    const busy = runs.some((r) => isUnfinished(r.status));
    timer = window.setTimeout(
      () => {
        if (document.hidden && !busy) schedulePoll();
        else refresh().then(schedulePoll, schedulePoll);
      },
      busy ? POLL_MS : IDLE_POLL_MS,
    );
  };
  ctx.signal.addEventListener("abort", () => window.clearTimeout(timer));

  const loadDetails = (run: RunSummary, into: HTMLElement): void => {
    const cached = detailsCache.get(run.id);
    if (cached && !isUnfinished(run.status)) {
      into.replaceChildren(cached);
      return;
    }
    into.replaceChildren(loadingStatus("Loading the run…"));
    schedulesApi.run(app.id, schedule.id, run.id).then(
      (detail) => {
        const view = runDetails(detail, schedule.method);
        detailsCache.set(run.id, view);
        into.replaceChildren(view);
      },
      (err: unknown) =>
        into.replaceChildren(h("p", { class: "form-error" }, errorText(err))),
    );
  };

  const runRows = (run: RunSummary): HTMLElement[] => {
    const expanded = open.has(run.id);
    const toggle = h(
      "button",
      {
        type: "button",
        class: "sched-toggle",
        "aria-expanded": expanded ? "true" : "false",
        testid: "run-toggle",
        title: expanded ? "Hide details" : "Show logs and details",
      },
      icon(expanded ? "arrowUp" : "arrowDown", 14),
      h("span", { class: "sr-only" }, `Details of the run due ${run.due_at}`),
    );
    const note =
      run.status === "missed"
        ? `${run.missed_count.toLocaleString()} due times, until ${formatDue(run.missed_until ?? run.due_at, schedule.timezone)}`
        : (run.error?.message ?? "");
    const row = h(
      "tr",
      {
        testid: "run-row",
        "data-run-id": String(run.id),
        "data-status": run.status,
        class: expanded ? "sched-run-open" : null,
      },
      h("td", null, toggle),
      h(
        "td",
        { title: new Date(run.due_at).toString() },
        formatDue(run.due_at, schedule.timezone),
        run.trigger === "manual"
          ? h("span", null, " ", badge("Run now", "accent"))
          : null,
      ),
      h("td", null, statusDot(run.status)),
      h("td", { class: "num" }, formatDuration(run.duration_ms)),
      h(
        "td",
        { class: "num muted" },
        run.start_delay_ms === null ? "—" : formatDuration(run.start_delay_ms),
      ),
      h("td", { class: "sched-note-cell muted small" }, note),
    );
    const onToggle = (): void => {
      if (open.has(run.id)) open.delete(run.id);
      else open.add(run.id);
      render();
    };
    toggle.addEventListener("click", onToggle);
    if (!expanded) return [row];
    const cell = h("td", { colspan: 6 });
    loadDetails(run, cell);
    return [
      row,
      h("tr", { class: "sched-run-details-row", testid: "run-details-row" }, cell),
    ];
  };

  const render = (): void => {
    crumbs();
    const runBtn = button([icon("play", 14), "Run now"], {
      variant: "primary",
      testid: "run-now",
    });
    runBtn.addEventListener("click", () => {
      void runNow(app, schedule, runBtn).then((ok) => {
        if (ok) void refresh().then(schedulePoll);
      });
    });
    const editBtn = button([icon("edit", 14), "Edit"], { testid: "schedule-edit" });
    editBtn.addEventListener("click", () => edit(app, methods));
    const deleteBtn = button([icon("trash", 14), "Delete"], {
      variant: "ghost",
      testid: "schedule-delete",
    });
    deleteBtn.addEventListener("click", () => {
      void deleteSchedule(app, schedule).then((deleted) => {
        if (deleted) ctx.navigate(schedulesPath(app.id));
      });
    });
    const methodLine = h(
      "span",
      { class: "sched-method" },
      "Runs ",
      h("code", null, schedule.method),
      schedule.method_deployed
        ? badge(`deployed rev ${schedule.deployed_revision ?? "?"}`, "success")
        : badge("not deployed: runs fail until you deploy", "danger"),
    );
    const params = Object.entries(schedule.params);
    const nextRuns = (schedule.next_runs ?? []).map((iso) =>
      h(
        "li",
        { testid: "schedule-next-run", title: new Date(iso).toString() },
        formatDue(iso, schedule.timezone),
      ),
    );
    const history = runs.length
      ? dataTable({
          testid: "runs-table",
          caption: "Run history",
          columns: [
            { label: "Details", hidden: true },
            "Due",
            "Status",
            { label: "Duration", class: "num" },
            { label: "Start delay", class: "num" },
            "Note",
          ],
          rows: runs.flatMap(runRows),
          tableClass: "sched-runs",
        })
      : h(
          "p",
          { class: "muted", testid: "runs-empty" },
          "No runs yet. The first comes at the next due time, or use Run now.",
        );
    const moreBtn = more
      ? button("Load older runs", { size: "sm", testid: "runs-more" })
      : null;
    moreBtn?.addEventListener("click", () => {
      const last = runs[runs.length - 1];
      if (!last) return;
      void schedulesApi.runs(app.id, schedule.id, last.id).then((older) => {
        runs = [...runs, ...older.runs];
        more = older.more;
        render();
      });
    });

    ctx.main.replaceChildren(
      h(
        "div",
        { class: "page sched-page" },
        pageHead({
          title: schedule.name,
          titleTestid: "schedule-title",
          lead: h(
            "div",
            { class: "sched-lead" },
            h(
              "p",
              { class: "sched-reading", testid: "schedule-description" },
              schedule.description,
            ),
            methodLine,
          ),
          actions: h(
            "div",
            { class: "sched-head-actions" },
            enabledSwitch(
              app.id,
              schedule,
              (saved) => {
                schedule = { ...schedule, ...saved };
                void refresh();
              },
              { visibleLabel: true },
            ),
            deleteBtn,
            editBtn,
            runBtn,
          ),
        }),
        ...stateBanners(list),
        h(
          "div",
          { class: "sched-facts" },
          cardSection(
            {
              title: "Next runs",
              testid: "schedule-next",
              id: "sched-next-title",
              description: schedule.enabled
                ? `In ${schedule.timezone}. Next ${schedule.next_due_at ? formatRelative(schedule.next_due_at) : "—"}.`
                : "Switched off: these are the times it would run.",
            },
            h("ol", { class: "sched-next", testid: "schedule-next-runs" }, nextRuns),
          ),
          cardSection(
            { title: "Parameters", testid: "schedule-params", id: "sched-params-title" },
            params.length
              ? h(
                  "dl",
                  { class: "sched-param-list" },
                  params.flatMap(([name, value]) => [
                    h("dt", { class: "mono" }, name),
                    h("dd", { class: "mono" }, JSON.stringify(value)),
                  ]),
                )
              : h(
                  "p",
                  { class: "muted small" },
                  "None: the method's parameters are not passed.",
                ),
          ),
        ),
        cardSection(
          {
            title: "History",
            testid: "schedule-history",
            id: "sched-history-title",
            description:
              "Newest first. Open a run for its logs, its error with line and column, and its result.",
          },
          history,
          moreBtn,
        ),
      ),
    );
    ctx.refreshNav();
  };

  const edit = (current: AppDetail, available: MethodSummary[]): void => {
    void scheduleDialog({
      appId: current.id,
      title: `Edit ${schedule.name}`,
      submitLabel: "Save schedule",
      methods: available,
      initial: schedule,
      submit: async (definition) => {
        schedule = await schedulesApi.save(current.id, schedule.id, definition);
        toast("Saved.", "success");
        [methods, list] = await Promise.all([
          kscriptApi.list(current.id),
          schedulesApi.list(current.id),
        ]);
        render();
      },
    });
  };

  render();
  schedulePoll();
}
