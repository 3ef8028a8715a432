import { describe, expect, it } from "vitest";
import {
  addAudienceFilter,
  addRule,
  audienceValue,
  availabilityText,
  chartSeries,
  emptyAutomation,
  removeAudienceFilter,
  removeRule,
  setAudienceFilter,
  setRule,
  toggleWeekday,
} from "./eventLogic";

describe("chartSeries", () => {
  it("fills every day and keeps the busiest types apart", () => {
    const series = chartSeries(
      [
        { day: "2026-01-01", type: "k.fg", count: 5 },
        { day: "2026-01-01", type: "buy", count: 1 },
        { day: "2026-01-03", type: "k.fg", count: 2 },
        { day: "2026-01-03", type: "k.bg", count: 1 },
      ],
      "2026-01-01",
      3,
      2,
    );
    expect(series.types).toEqual(["k.fg", "buy", "other"]);
    expect(series.days).toEqual([
      { day: "2026-01-01", total: 6, parts: [5, 1, 0] },
      { day: "2026-01-02", total: 0, parts: [0, 0, 0] },
      { day: "2026-01-03", total: 3, parts: [2, 0, 1] },
    ]);
    expect(series.max).toBe(6);
  });

  it("is empty without events", () => {
    expect(chartSeries([], "2026-01-01", 2)).toEqual({
      types: [],
      days: [
        { day: "2026-01-01", total: 0, parts: [] },
        { day: "2026-01-02", total: 0, parts: [] },
      ],
      max: 0,
    });
  });
});

describe("the automation model", () => {
  it("adds, edits and removes rules and audience filters without touching the input", () => {
    const start = emptyAutomation("welcome");
    let def = setRule(start, 0, { event_type: "k.*" });
    def = addAudienceFilter(def, 0);
    def = setAudienceFilter(def, 0, 0, { attribute: "age", op: "$lt", value: 30 });
    def = addRule(def, "welcome");
    expect(def.rules).toEqual([
      {
        event_type: "k.*",
        audience: [{ attribute: "age", op: "$lt", value: 30 }],
        methods: ["welcome"],
      },
      { event_type: "", audience: [], methods: ["welcome"] },
    ]);
    expect(start.rules).toEqual([{ event_type: "", audience: [], methods: ["welcome"] }]);
    expect(removeAudienceFilter(def, 0, 0).rules[0]?.audience).toEqual([]);
    expect(removeRule(def, 0).rules.map((r) => r.event_type)).toEqual([""]);
  });

  it("toggles weekdays in order", () => {
    let def = toggleWeekday(emptyAutomation(), 5);
    def = toggleWeekday(def, 1);
    expect(def.weekdays).toEqual([1, 5]);
    expect(toggleWeekday(def, 5).weekdays).toEqual([1]);
  });

  it("reads audience values as numbers and booleans when they look like them", () => {
    expect([
      audienceValue("30"),
      audienceValue("-1.5"),
      audienceValue("true"),
      audienceValue("NY"),
    ]).toEqual([30, -1.5, true, "NY"]);
  });

  it("summarises availability", () => {
    expect(availabilityText(emptyAutomation())).toBe("always, every day");
    expect(
      availabilityText({
        ...emptyAutomation(),
        available_from: "2026-12-01T00:00:00+00:00",
        weekdays: [1, 2],
      }),
    ).toBe("from 2026-12-01, Mon, Tue");
  });
});
