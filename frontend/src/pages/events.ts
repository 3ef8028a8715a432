/** /apps/<id>/events: the app's client events (what the SDKs upload): counts per type per
 * day as a chart, and the recent events, filtered by type (with `*` wildcards) and time. */
import "./schedules.css";
import "./events.css";
import type { Id } from "../api";
import type { PageContext } from "../context";
import {
  button,
  cardSection,
  errorAlert,
  h,
  inputField,
  loadingStatus,
  pageHead,
} from "../dom";
import { chartSeries, type ChartSeries } from "../eventLogic";
import { eventsApi, type ClientEvent, type EventFilter } from "../eventsApi";
import { errorText, formatDateTime } from "../format";
import { dataTable } from "../tableMarkup";
import { sectionCrumbs } from "./apps";

const SVG = "http://www.w3.org/2000/svg";
const DAYS = 14;
const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#6b7280"];

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

/** Stacked bars, one per day; a hand-drawn SVG like the schedules' sparkline (no chart
 * library for one small chart). */
function chart(series: ChartSeries): HTMLElement {
  if (series.max === 0) {
    return h(
      "p",
      { class: "muted", testid: "events-chart-empty" },
      `No events in the last ${DAYS} days.`,
    );
  }
  const width = 640;
  const height = 160;
  const gap = 4;
  const barWidth = (width - gap * (series.days.length - 1)) / series.days.length;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height + 18}`,
    class: "events-chart",
    role: "img",
    "aria-label": `Events per day over the last ${DAYS} days`,
    "data-testid": "events-chart",
    width: "100%",
  });
  series.days.forEach((day, i) => {
    const x = i * (barWidth + gap);
    let top = height;
    day.parts.forEach((count, t) => {
      if (!count) return;
      const tall = (count / series.max) * (height - 4);
      top -= tall;
      const rect = svg("rect", {
        x,
        y: top,
        width: barWidth,
        height: tall,
        fill: COLOURS[t % COLOURS.length] ?? "currentColor",
        "data-type": series.types[t] ?? "",
      });
      const title = document.createElementNS(SVG, "title");
      title.textContent = `${day.day}: ${count} ${series.types[t]}`;
      rect.appendChild(title);
      root.appendChild(rect);
    });
    if (i % 2 === 0 || series.days.length <= 7) {
      const label = svg("text", {
        x: x + barWidth / 2,
        y: height + 14,
        "text-anchor": "middle",
        "font-size": 10,
        fill: "currentColor",
      });
      label.textContent = day.day.slice(5);
      root.appendChild(label);
    }
  });
  const legend = h(
    "ul",
    { class: "events-legend", testid: "events-legend" },
    series.types.map((type, t) =>
      h(
        "li",
        null,
        h("span", {
          class: "events-swatch",
          style: `background:${COLOURS[t % COLOURS.length]}`,
        }),
        type,
      ),
    ),
  );
  return h("div", null, root, legend);
}

function eventRow(event: ClientEvent): HTMLElement {
  const data =
    event.data === null || event.data === undefined ? "" : JSON.stringify(event.data);
  return h(
    "tr",
    { testid: "event-row", "data-type": event.type },
    h(
      "td",
      { title: `received ${formatMoment(event.received_at)}` },
      formatMoment(event.happened_at),
    ),
    h("td", null, h("code", null, event.type)),
    h("td", null, event.user ?? h("span", { class: "muted" }, "—")),
    h("td", { class: "mono small" }, event.install_id),
    h(
      "td",
      { class: "mono small events-data", title: data },
      data.length > 120 ? `${data.slice(0, 120)}…` : data,
    ),
  );
}

/** Date and time to the second, in the browser's zone (events come seconds apart). */
export function formatMoment(iso: string): string {
  return formatDateTime(iso, { seconds: true });
}

/** The table with `body` as its tbody, which the page refills as pages load. */
export function withBody(table: HTMLElement, body: HTMLTableSectionElement): HTMLElement {
  table.querySelector("tbody")?.replaceWith(body);
  return table;
}

function isoFromLocal(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

async function eventList(ctx: PageContext, appId: Id): Promise<HTMLElement> {
  const type = inputField({
    label: "Event type",
    name: "type",
    testid: "events-type",
    placeholder: "k.* or checkout.completed",
  });
  const since = inputField({
    label: "From",
    name: "since",
    type: "datetime-local",
    testid: "events-since",
  });
  const until = inputField({
    label: "To",
    name: "until",
    type: "datetime-local",
    testid: "events-until",
  });
  const body = h("tbody");
  const status = h("p", { class: "muted small", role: "status" });
  const more = button("Older events", { testid: "events-more", hidden: true });
  let filter: EventFilter = {};
  let next: string | null = null;

  const load = async (append: boolean): Promise<void> => {
    status.textContent = "Loading…";
    try {
      const page = await eventsApi.events(
        appId,
        append && next ? { ...filter, before: next } : filter,
      );
      if (ctx.signal.aborted) return;
      if (!append) body.replaceChildren();
      body.append(...page.events.map(eventRow));
      next = page.next;
      more.hidden = !next;
      status.textContent = body.children.length ? "" : "No events match.";
    } catch (err: unknown) {
      status.textContent = errorText(err);
    }
  };
  const form = h(
    "form",
    { class: "events-filter", testid: "events-filter" },
    type.wrap,
    since.wrap,
    until.wrap,
    button("Apply", { type: "submit", variant: "primary", testid: "events-apply" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    filter = {
      type: type.input.value.trim() || undefined,
      since: isoFromLocal(since.input.value),
      until: isoFromLocal(until.input.value),
    };
    void load(false);
  });
  more.addEventListener("click", () => void load(true));
  await load(false);
  return cardSection(
    {
      title: "Recent events",
      testid: "events-recent",
      id: "events-recent-title",
      description: "Newest first.",
    },
    form,
    withBody(
      dataTable({
        testid: "events-table",
        caption: "Recent events",
        columns: ["Happened", "Type", "User", "Install", "Data"],
        rows: [],
      }),
      body,
    ),
    status,
    more,
  );
}

export async function eventsPage(ctx: PageContext): Promise<void> {
  const appId = ctx.params.id ?? "";
  void sectionCrumbs(ctx, String(appId), "Events");
  ctx.main.replaceChildren(loadingStatus("Loading events…"));
  let counts;
  try {
    counts = await eventsApi.counts(appId, DAYS);
  } catch (err: unknown) {
    if (ctx.signal.aborted) return;
    ctx.main.replaceChildren(errorAlert(err));
    return;
  }
  if (ctx.signal.aborted) return;
  const list = await eventList(ctx, appId);
  if (ctx.signal.aborted) return;
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page events-page" },
      pageHead({
        title: "Events",
        titleTestid: "events-title",
        lead: "Analytics events your apps upload through the Kumulos SDKs. Scripts read them with K.analytics.getEventStream; automations run scripts when they arrive.",
      }),
      cardSection(
        {
          title: `Events per day (last ${DAYS} days, UTC)`,
          testid: "events-counts",
          id: "events-counts-title",
        },
        chart(chartSeries(counts.counts, counts.since, DAYS)),
      ),
      list,
    ),
  );
}
