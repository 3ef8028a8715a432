/** /platform/schedules (staff only): every app's schedules, and the switch that turns an
 * app's scheduling off (like KScript's). */
import "./schedules.css";
import { ApiError } from "../api";
import type { PageContext } from "../context";
import { badge, cardSection, errorAlert, h, loadingStatus, pageHead } from "../dom";
import { formatRelative } from "../format";
import { platformOnly } from "./platform";
import { formatDue } from "../scheduleLogic";
import { schedulesApi, type PlatformSchedulingApp } from "../schedulesApi";
import { dataTable } from "../tableMarkup";
import { toast, toastError } from "../toast";
import { sparkline, statusDot } from "./scheduleViews";

function schedulingSwitch(
  app: PlatformSchedulingApp,
  onSaved: (app: PlatformSchedulingApp) => void,
): HTMLElement {
  const id = `scheduling-switch-${app.id}`;
  const input = h("input", {
    id,
    type: "checkbox",
    role: "switch",
    class: "switch",
    checked: app.scheduling_enabled,
    testid: "scheduling-switch",
    "data-app-id": String(app.id),
  });
  const status = h("span", { class: "switch-status", "aria-live": "polite" });
  const wrap = h(
    "div",
    { class: "switch-cell", "data-state": "idle" },
    input,
    h(
      "label",
      { for: id, class: "sched-switch-label" },
      "Scheduling",
      h("span", { class: "sr-only" }, ` enabled for ${app.name}`),
    ),
    status,
  );
  input.addEventListener("change", () => {
    const value = input.checked;
    input.disabled = true;
    wrap.dataset.state = "saving";
    status.textContent = "Saving…";
    schedulesApi.setScheduling(app.id, value).then(
      (saved) => {
        input.disabled = false;
        wrap.dataset.state = "saved";
        status.textContent = "Saved";
        toast(
          `Scheduling ${saved.scheduling_enabled ? "switched on" : "switched off"} for ${saved.name}.`,
          "success",
        );
        onSaved(saved);
      },
      (err: unknown) => {
        input.disabled = false;
        input.checked = !value;
        wrap.dataset.state = "error";
        status.textContent = "Failed";
        if (!(err instanceof ApiError && err.network))
          toastError(err, `Could not update ${app.name}`);
      },
    );
  });
  return wrap;
}

function appSection(app: PlatformSchedulingApp): HTMLElement {
  const body = h("div");
  const paint = (current: PlatformSchedulingApp): void => {
    body.replaceChildren(
      current.schedules.length
        ? dataTable({
            testid: "platform-schedules-table",
            caption: `Schedules of ${current.name}`,
            columns: ["Schedule", "When", "Next run", "Last run", "Recent runs"],
            rows: current.schedules.map((s) =>
              h(
                "tr",
                { testid: "platform-schedule-row", "data-name": s.name },
                h(
                  "td",
                  null,
                  h("div", { class: "cell-title" }, s.name),
                  h("code", { class: "ks-name" }, s.method),
                  s.enabled ? null : h("span", null, " ", badge("off", "neutral")),
                ),
                h("td", null, s.description),
                h(
                  "td",
                  null,
                  s.enabled &&
                    s.next_due_at &&
                    current.scheduling_enabled &&
                    !current.suspended
                    ? formatDue(s.next_due_at, s.timezone)
                    : h("span", { class: "muted" }, "—"),
                ),
                h(
                  "td",
                  null,
                  s.last_run
                    ? h(
                        "div",
                        null,
                        statusDot(s.last_run.status),
                        h(
                          "div",
                          { class: "muted small" },
                          formatRelative(s.last_run.due_at),
                        ),
                      )
                    : h("span", { class: "muted" }, "Never run"),
                ),
                h("td", null, sparkline(s.recent)),
              ),
            ),
          })
        : h("p", { class: "muted small" }, "No schedules."),
    );
  };
  paint(app);
  return cardSection(
    {
      title: app.name,
      testid: "platform-scheduling-app",
      id: `platform-scheduling-${app.id}`,
      description: app.suspended ? "Suspended: nothing runs." : undefined,
      actions: schedulingSwitch(app, paint),
    },
    body,
  );
}

export async function platformSchedulesPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Schedules · Platform");
  ctx.setCrumbs([{ label: "Platform", href: "/platform" }, { label: "Schedules" }]);
  if (!ctx.user.is_staff) {
    ctx.main.replaceChildren(platformOnly());
    return;
  }
  ctx.main.replaceChildren(loadingStatus("Loading schedules…"));
  let apps: PlatformSchedulingApp[];
  try {
    apps = await schedulesApi.platformList();
  } catch (err: unknown) {
    if (ctx.signal.aborted) return;
    ctx.main.replaceChildren(errorAlert(err));
    return;
  }
  if (ctx.signal.aborted) return;
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page sched-page" },
      pageHead({
        title: "Schedules",
        lead: "Every app's scheduled KScripts. Switching an app's scheduling off stops its runs; switched back on, its schedules start over from then.",
      }),
      ...(apps.length
        ? apps.map(appSection)
        : [h("p", { class: "muted empty-inline" }, "No apps have been created yet.")]),
    ),
  );
}
