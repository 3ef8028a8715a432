/** Pure logic of the events, users and automations pages: the chart's series and the
 * automation editor's model (changed only by these functions, then re-rendered). */
import type {
  AudienceFilter,
  AudienceOp,
  AutomationDefinition,
  AutomationRule,
  DayCount,
} from "./eventsApi";

export interface DayColumn {
  day: string;
  total: number;
  /** Count per charted type, in `ChartSeries.types` order ("other" last when present). */
  parts: number[];
}

export interface ChartSeries {
  types: string[];
  days: DayColumn[];
  max: number;
}

export const OTHER = "other";

/** Every day from `since` for `days` days (UTC), with the `top` busiest types apart and
 * the rest summed as "other". */
export function chartSeries(
  counts: DayCount[],
  since: string,
  days: number,
  top = 5,
): ChartSeries {
  const totals = new Map<string, number>();
  for (const c of counts) totals.set(c.type, (totals.get(c.type) ?? 0) + c.count);
  const ranked = [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type]) => type);
  const shown = ranked.slice(0, top);
  const types = ranked.length > top ? [...shown, OTHER] : shown;
  const start = Date.parse(`${since}T00:00:00Z`);
  const columns: DayColumn[] = [];
  for (let i = 0; i < days; i++) {
    const day = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    columns.push({ day, total: 0, parts: types.map(() => 0) });
  }
  const byDay = new Map(columns.map((c) => [c.day, c]));
  for (const c of counts) {
    const column = byDay.get(c.day);
    if (!column) continue;
    let index = types.indexOf(c.type);
    if (index < 0) index = types.length - 1;
    column.parts[index] = (column.parts[index] ?? 0) + c.count;
    column.total += c.count;
  }
  return { types, days: columns, max: Math.max(0, ...columns.map((c) => c.total)) };
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export function emptyRule(method = ""): AutomationRule {
  return { event_type: "", audience: [], methods: method ? [method] : [] };
}

export function emptyAutomation(method = ""): AutomationDefinition {
  return {
    name: "",
    enabled: true,
    available_from: null,
    available_until: null,
    weekdays: [],
    timezone: "UTC",
    late_events: "fire",
    late_after_minutes: null,
    rules: [emptyRule(method)],
  };
}

function audienceOf(def: AutomationDefinition, index: number): AudienceFilter[] {
  return def.rules[index]?.audience ?? [];
}

export function addRule(def: AutomationDefinition, method = ""): AutomationDefinition {
  return { ...def, rules: [...def.rules, emptyRule(method)] };
}

export function removeRule(
  def: AutomationDefinition,
  index: number,
): AutomationDefinition {
  return { ...def, rules: def.rules.filter((_, i) => i !== index) };
}

export function setRule(
  def: AutomationDefinition,
  index: number,
  change: Partial<AutomationRule>,
): AutomationDefinition {
  return {
    ...def,
    rules: def.rules.map((r, i) => (i === index ? { ...r, ...change } : r)),
  };
}

export function addAudienceFilter(
  def: AutomationDefinition,
  index: number,
): AutomationDefinition {
  const filter: AudienceFilter = { attribute: "", op: "$eq", value: "" };
  return setRule(def, index, { audience: [...audienceOf(def, index), filter] });
}

export function setAudienceFilter(
  def: AutomationDefinition,
  index: number,
  at: number,
  change: Partial<AudienceFilter>,
): AutomationDefinition {
  const audience = audienceOf(def, index).map((f, i) =>
    i === at ? { ...f, ...change } : f,
  );
  return setRule(def, index, { audience });
}

export function removeAudienceFilter(
  def: AutomationDefinition,
  index: number,
  at: number,
): AutomationDefinition {
  return setRule(def, index, {
    audience: audienceOf(def, index).filter((_, i) => i !== at),
  });
}

export function toggleWeekday(
  def: AutomationDefinition,
  day: number,
): AutomationDefinition {
  const weekdays = def.weekdays.includes(day)
    ? def.weekdays.filter((d) => d !== day)
    : [...def.weekdays, day].sort((a, b) => a - b);
  return { ...def, weekdays };
}

/** What a typed audience value means: a number or a boolean when it reads as one. */
export function audienceValue(text: string): string | number | boolean {
  const trimmed = text.trim();
  if (trimmed === "true") return true;
  if (trimmed === "false") return false;
  if (trimmed !== "" && /^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return text;
}

export const AUDIENCE_OPS: { value: AudienceOp; label: string }[] = [
  { value: "$eq", label: "=" },
  { value: "$lt", label: "<" },
  { value: "$lte", label: "≤" },
  { value: "$gt", label: ">" },
  { value: "$gte", label: "≥" },
];

/** "Mon–Fri" style summary of the availability for the list. */
export function availabilityText(def: AutomationDefinition): string {
  const days = def.weekdays.length
    ? def.weekdays.map((d) => WEEKDAYS[d - 1]).join(", ")
    : "every day";
  const from = def.available_from ? def.available_from.slice(0, 10) : null;
  const until = def.available_until ? def.available_until.slice(0, 10) : null;
  const dates =
    from && until
      ? `${from} to ${until}`
      : from
        ? `from ${from}`
        : until
          ? `until ${until}`
          : "always";
  return `${dates}, ${days}`;
}
