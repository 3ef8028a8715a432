/** /apps/<id>/logs: the app's invocation log — client calls of deployed methods beside
 * scheduled and automation runs, newest first, filtered (kept in the URL), a page at a
 * time; a row opens to its logs and error. */
import "./schedules.css";
import "./events.css";
import "./logs.css";
import type { Id } from "../api";
import type { PageContext } from "../context";
import {
  badge,
  button,
  cardSection,
  h,
  inputField,
  loadingStatus,
  pageHead,
  selectField,
  uniqueId,
} from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { logsApi, type LogDetail, type LogRow } from "../logsApi";
import {
  errorSummary,
  filterFromQuery,
  filterToQuery,
  isoFromLocal,
  KIND_OPTIONS,
  kindLabel,
  localFromIso,
  STATUS_OPTIONS,
  type LogFilter,
  type LogKind,
  type LogStatus,
} from "../logsLogic";
import { formatDuration } from "../scheduleLogic";
import type { RunDetail } from "../schedulesApi";
import { dataTable } from "../tableMarkup";
import { formatMoment, withBody } from "./events";
import { runDetails, statusDot } from "./scheduleViews";
import { sectionCrumbs } from "./apps";

const COLUMNS = 6;
const METHOD_TYPES: Record<string, string> = {
  kscript: "KScript method",
  apimethod: "API method",
  refused: "Refused before any method ran",
};

function methodCell(row: LogRow): HTMLElement {
  const what = [
    row.source,
    row.kind === "client" && row.method_type === "apimethod" ? "API method" : "",
  ].filter(Boolean);
  return h(
    "td",
    null,
    h("code", null, row.method),
    h(
      "div",
      { class: "logs-kind" },
      badge(kindLabel(row.kind), row.kind === "client" ? "accent" : "neutral"),
      what.length ? h("span", { class: "muted small" }, what.join(" · ")) : null,
    ),
  );
}

function statusCell(row: LogRow): HTMLElement {
  return h(
    "td",
    null,
    statusDot(row.status),
    row.code !== null && row.code !== 1
      ? h(
          "span",
          { class: "muted small logs-code", title: row.code_text ?? "" },
          ` code ${row.code}`,
        )
      : null,
  );
}

/** What the shared run view (scheduleViews.runDetails) needs, from any entry. */
function asRun(detail: LogDetail): RunDetail {
  return {
    ...detail,
    due_at: detail.at,
    trigger: "schedule",
    queued_at: detail.at,
    finished_at: null,
    worker: detail.worker ?? "",
    revision: detail.revision ?? null,
    start_delay_ms: detail.kind === "scheduled" ? (detail.start_delay_ms ?? null) : null,
    missed_count: 0,
    missed_until: null,
    result: detail.result,
    result_bytes: detail.result_bytes ?? null,
  };
}

function entryDetails(detail: LogDetail): HTMLElement {
  const facts =
    detail.kind === "client"
      ? [
          `Response code ${detail.code ?? "—"}${detail.code_text ? ` (${detail.code_text})` : ""}`,
          METHOD_TYPES[detail.method_type] ?? "KScript method",
          formatDuration(detail.duration_ms),
        ]
      : [
          `${kindLabel(detail.kind)} ${detail.source}`,
          formatDuration(detail.duration_ms),
        ];
  return h(
    "div",
    { class: "logs-details" },
    h("p", { class: "small", testid: "log-facts" }, facts.join(" · ")),
    runDetails(asRun(detail), detail.method),
  );
}

function filterForm(
  filter: LogFilter,
  methods: string[],
  onApply: (filter: LogFilter) => void,
): HTMLElement {
  const method = inputField({
    label: "Method",
    name: "method",
    testid: "logs-method",
    placeholder: "any",
    value: filter.method ?? "",
  });
  const suggestions = h(
    "datalist",
    { id: uniqueId("logs-methods"), testid: "logs-method-names" },
    methods.map((name) => h("option", { value: name })),
  );
  method.input.setAttribute("list", suggestions.id);
  method.wrap.append(suggestions);
  const kind = selectField({
    label: "Kind",
    name: "kind",
    testid: "logs-kind",
    options: KIND_OPTIONS,
    value: filter.kind ?? "",
  });
  const status = selectField({
    label: "Status",
    name: "status",
    testid: "logs-status",
    options: STATUS_OPTIONS,
    value: filter.status ?? "",
  });
  const since = inputField({
    label: "From",
    name: "since",
    type: "datetime-local",
    testid: "logs-since",
    value: localFromIso(filter.since),
  });
  const until = inputField({
    label: "To",
    name: "until",
    type: "datetime-local",
    testid: "logs-until",
    value: localFromIso(filter.until),
  });
  const text = inputField({
    label: "Error contains",
    name: "q",
    testid: "logs-q",
    placeholder: "e.g. null",
    value: filter.q ?? "",
  });
  const form = h(
    "form",
    { class: "events-filter logs-filter", testid: "logs-filter" },
    method.wrap,
    kind.wrap,
    status.wrap,
    since.wrap,
    until.wrap,
    text.wrap,
    button("Apply", { type: "submit", variant: "primary", testid: "logs-apply" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    onApply({
      method: method.input.value.trim() || undefined,
      kind: (kind.input.value || undefined) as LogKind | undefined,
      status: (status.input.value || undefined) as LogStatus | undefined,
      since: isoFromLocal(since.input.value),
      until: isoFromLocal(until.input.value),
      q: text.input.value.trim() || undefined,
    });
  });
  return form;
}

export async function logsPage(ctx: PageContext): Promise<void> {
  const appId: Id = ctx.params.id ?? "";
  void sectionCrumbs(ctx, String(appId), "Logs");
  ctx.main.replaceChildren(loadingStatus("Loading the log…"));

  let filter = filterFromQuery(ctx.query);
  let next: string | null = null;
  let methods: string[] = [];
  const open = new Set<string>();
  const body = h("tbody");
  const status = h("p", {
    class: "muted small",
    role: "status",
    testid: "logs-status-line",
  });
  const more = button("Older entries", { testid: "logs-more", hidden: true });
  const lead = h("p", { class: "muted" });

  const rowFor = (row: LogRow): HTMLElement[] => {
    const key = `${row.kind}-${row.id}`;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "sched-toggle",
        "aria-expanded": "false",
        testid: "log-toggle",
        title: "Show logs and details",
      },
      icon("arrowDown", 14),
      h("span", { class: "sr-only" }, `Details of ${row.method} at ${row.at}`),
    );
    const tr = h(
      "tr",
      {
        testid: "log-row",
        "data-kind": row.kind,
        "data-status": row.status,
        "data-method": row.method,
        class: "clickable",
      },
      h("td", null, toggle),
      h(
        "td",
        { class: "logs-time", title: new Date(row.at).toString() },
        formatMoment(row.at),
      ),
      methodCell(row),
      statusCell(row),
      h("td", { class: "num" }, formatDuration(row.duration_ms)),
      h(
        "td",
        { class: "muted small", title: errorSummary(row.error) },
        h("div", { class: "logs-error" }, errorSummary(row.error)),
      ),
    );
    const detailsRow = h(
      "tr",
      { class: "sched-run-details-row", testid: "log-details-row", hidden: true },
      h("td", { colspan: COLUMNS }),
    );
    const show = (expanded: boolean): void => {
      detailsRow.hidden = !expanded;
      tr.classList.toggle("sched-run-open", expanded);
      toggle.setAttribute("aria-expanded", expanded ? "true" : "false");
      toggle.replaceChildren(
        icon(expanded ? "arrowUp" : "arrowDown", 14),
        h("span", { class: "sr-only" }, `Details of ${row.method} at ${row.at}`),
      );
      if (!expanded || detailsRow.dataset.loaded) return;
      const cell = detailsRow.firstElementChild as HTMLElement;
      cell.replaceChildren(loadingStatus("Loading the logs…"));
      logsApi.entry(appId, row.kind, row.id).then(
        (detail) => {
          detailsRow.dataset.loaded = "1";
          cell.replaceChildren(entryDetails(detail));
        },
        (err: unknown) =>
          cell.replaceChildren(h("p", { class: "form-error" }, errorText(err))),
      );
    };
    tr.addEventListener("click", () => {
      if (open.has(key)) open.delete(key);
      else open.add(key);
      show(open.has(key));
    });
    if (open.has(key)) show(true);
    return [tr, detailsRow];
  };

  const load = async (append: boolean): Promise<boolean> => {
    status.textContent = "Loading…";
    try {
      const page = await logsApi.list(appId, filterToQuery(filter, append ? next : null));
      if (ctx.signal.aborted) return false;
      if (!append) body.replaceChildren();
      body.append(...page.entries.flatMap(rowFor));
      next = page.next;
      methods = page.methods;
      more.hidden = !next;
      lead.textContent = `Client calls of deployed methods, scheduled runs and automation runs, newest first. Client calls are kept ${page.retention_days} days; times are in your browser's time zone.`;
      status.textContent = body.children.length ? "" : "Nothing matches.";
      return true;
    } catch (err: unknown) {
      status.textContent = errorText(err);
      return false;
    }
  };

  more.addEventListener("click", () => void load(true));
  const loaded = await load(false);
  if (ctx.signal.aborted) return;
  if (!loaded) {
    // No such app, or no longer allowed: say so instead of an empty page.
    ctx.main.replaceChildren(
      h(
        "p",
        { class: "form-error", role: "alert", testid: "logs-error" },
        status.textContent,
      ),
    );
    return;
  }
  // Made after the first page: it suggests the method names that page brought.
  const form = filterForm(filter, methods, (chosen) => {
    filter = chosen;
    open.clear();
    const search = filterToQuery(filter).toString();
    // Replace, not push: a changed filter is not a step for Back to undo.
    window.history.replaceState(
      window.history.state,
      "",
      `${window.location.pathname}${search ? `?${search}` : ""}`,
    );
    void load(false);
  });
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page logs-page" },
      pageHead({ title: "Logs", titleTestid: "logs-title", lead }),
      cardSection(
        { title: "Invocations", testid: "logs-card", id: "logs-title-list" },
        form,
        withBody(
          dataTable({
            testid: "logs-table",
            caption: "Invocations, newest first",
            columns: [
              { label: "Details", hidden: true },
              "Time",
              "Method",
              "Status",
              { label: "Duration", class: "num" },
              "Error",
            ],
            rows: [],
            wrapClass: "logs-wrap",
          }),
          body,
        ),
        status,
        more,
      ),
    ),
  );
}
