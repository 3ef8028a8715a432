/** Pieces the Schedules pages share: the status dot, the durations sparkline, a run's
 * details (logs, error with its place, result) and the enable switch. */
import { ApiError, type Id } from "../api";
import { h } from "../dom";
import { formatDuration, sparkBars, statusLabel, statusTone } from "../scheduleLogic";
import {
  schedulesApi,
  type RecentRun,
  type RunDetail,
  type RunStatus,
  type Schedule,
} from "../schedulesApi";
import { toast, toastError } from "../toast";
import { logLine } from "./kscriptRun";

const SVG = "http://www.w3.org/2000/svg";

/** A coloured dot and the status in words (the words may be visually hidden). */
export function statusDot(
  status: RunStatus,
  options: { label?: boolean } = {},
): HTMLElement {
  const label = statusLabel(status);
  return h(
    "span",
    {
      class: "sched-status",
      "data-status": status,
      "data-tone": statusTone(status),
      title: label,
    },
    h("span", { class: "sched-dot", "aria-hidden": "true" }),
    options.label === false ? h("span", { class: "sr-only" }, label) : label,
  );
}

/** Recent durations as bars coloured by status (oldest left). */
export function sparkline(runs: readonly RecentRun[]): Element {
  const width = 100;
  const height = 24;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "sched-spark");
  svg.setAttribute("role", "img");
  const finished = runs.filter((r) => r.duration_ms !== null);
  svg.setAttribute(
    "aria-label",
    finished.length
      ? `Durations of the last ${runs.length} runs, up to ${formatDuration(Math.max(...finished.map((r) => r.duration_ms ?? 0)))}`
      : "No run durations yet",
  );
  svg.setAttribute("data-testid", "schedule-spark");
  const baseline = document.createElementNS(SVG, "line");
  baseline.setAttribute("x1", "0");
  baseline.setAttribute("x2", String(width));
  baseline.setAttribute("y1", String(height - 0.5));
  baseline.setAttribute("y2", String(height - 0.5));
  baseline.setAttribute("class", "sched-spark-base");
  svg.append(baseline);
  for (const bar of sparkBars(runs, { width, height, slots: 20, gap: 1.5 })) {
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", bar.x.toFixed(2));
    rect.setAttribute("y", bar.y.toFixed(2));
    rect.setAttribute("width", bar.width.toFixed(2));
    rect.setAttribute("height", bar.height.toFixed(2));
    rect.setAttribute("rx", "0.8");
    rect.setAttribute("data-tone", statusTone(bar.status));
    const title = document.createElementNS(SVG, "title");
    title.textContent = bar.title;
    rect.append(title);
    svg.append(rect);
  }
  return svg;
}

/** Everything about one run: why it failed (with line and column), logs, result. */
export function runDetails(run: RunDetail, method: string): HTMLElement {
  const parts: HTMLElement[] = [];
  const facts: string[] = [];
  if (run.worker) facts.push(`Ran on ${run.worker}`);
  if (run.revision !== null) facts.push(`revision ${run.revision}`);
  if (run.start_delay_ms !== null)
    facts.push(`started ${formatDuration(run.start_delay_ms)} after its due time`);
  if (facts.length) parts.push(h("p", { class: "muted small" }, `${facts.join(" · ")}.`));
  const error = run.error;
  if (error) {
    const where =
      error.line !== undefined && error.line !== null
        ? `${error.method && error.method !== method ? `${error.method}, ` : ""}Line ${error.line}${error.column ? `, column ${error.column}` : ""}`
        : "";
    parts.push(
      h(
        "div",
        {
          class:
            run.status === "skipped" || run.status === "missed"
              ? "sched-note"
              : "ks-run-error",
          role:
            run.status === "failed" || run.status === "timed_out" || run.status === "lost"
              ? "alert"
              : null,
          testid: "run-error",
        },
        h("strong", null, error.type),
        where ? h("span", { testid: "run-error-where" }, where) : null,
        h("div", { class: "mono" }, error.message),
      ),
    );
  }
  // Client calls (the Logs page) keep no result: `undefined` there.
  if (run.status === "ok" && run.result !== undefined) {
    parts.push(h("h3", { class: "ks-run-heading" }, "Result"));
    parts.push(
      run.result === null && run.result_bytes !== null && run.result_bytes > 2
        ? h(
            "p",
            { class: "muted small", testid: "run-result" },
            `The result (${run.result_bytes.toLocaleString()} bytes) is too big to keep in the history.`,
          )
        : h(
            "pre",
            { class: "ks-pre", testid: "run-result" },
            JSON.stringify(run.result, null, 2),
          ),
    );
  }
  if (run.started_at) {
    parts.push(h("h3", { class: "ks-run-heading" }, `Logs (${run.logs.length})`));
    parts.push(
      run.logs.length
        ? h(
            "ol",
            { class: "ks-logs", testid: "run-logs" },
            run.logs.map((entry) => logLine(entry, method)),
          )
        : h("p", { class: "muted small", testid: "run-logs" }, "Nothing logged."),
    );
    if (run.logs_dropped) {
      parts.push(
        h("p", { class: "hint" }, `${run.logs_dropped} more log lines were dropped.`),
      );
    }
  }
  return h("div", { class: "sched-run-details", testid: "run-detail" }, ...parts);
}

/** The schedule's on/off switch; `onSaved` gets the schedule as saved. */
export function enabledSwitch(
  appId: Id,
  schedule: Schedule,
  onSaved: (schedule: Schedule) => void,
  options: { visibleLabel?: boolean } = {},
): HTMLElement {
  const id = `schedule-switch-${schedule.id}`;
  const input = h("input", {
    id,
    type: "checkbox",
    role: "switch",
    class: "switch",
    checked: schedule.enabled,
    testid: "schedule-switch",
  });
  const wrap = h(
    "div",
    { class: "switch-cell", "data-state": "idle" },
    input,
    options.visibleLabel
      ? h(
          "label",
          { for: id, class: "sched-switch-label" },
          h("span", { class: "sr-only" }, `${schedule.name} `),
          "Enabled",
        )
      : h("label", { for: id, class: "sr-only" }, `${schedule.name} enabled`),
  );
  input.addEventListener("change", () => {
    const value = input.checked;
    input.disabled = true;
    wrap.dataset.state = "saving";
    schedulesApi.setEnabled(appId, schedule.id, value).then(
      (saved) => {
        input.disabled = false;
        wrap.dataset.state = "saved";
        toast(
          `${saved.name} ${saved.enabled ? "switched on" : "switched off"}.`,
          "success",
        );
        onSaved(saved);
      },
      (err: unknown) => {
        input.disabled = false;
        input.checked = !value;
        wrap.dataset.state = "error";
        if (!(err instanceof ApiError && err.network))
          toastError(err, `Could not change ${schedule.name}`);
      },
    );
  });
  return wrap;
}
