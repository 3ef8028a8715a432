import { describe, expect, it } from "vitest";
import {
  automaticIndexNote,
  badCellValues,
  labelsById,
  parentIdChunks,
  base64Size,
  base64ToBytes,
  bytesToBase64,
  countLabel,
  epochToLocalInput,
  filterOpsFor,
  filterValueForApi,
  valueListForApi,
  formatBytes,
  formatCell,
  KeysetPager,
  labelFields,
  recordLabel,
  localInputToEpoch,
  nextSort,
  toApiValue,
  toEditorValue,
} from "./tableValues";
import { browseSearch } from "./tablesApi";

describe("date-time conversion", () => {
  it("round-trips epoch seconds through the datetime-local text", () => {
    for (const seconds of [0, 1763790000, -86400, -2208988800, 253402300799]) {
      const text = epochToLocalInput(seconds);
      expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
      expect(localInputToEpoch(text)).toBe(seconds);
    }
  });

  it("reads the text as local time", () => {
    const expected = new Date(2024, 1, 29, 13, 5, 9).getTime() / 1000;
    expect(localInputToEpoch("2024-02-29T13:05:09")).toBe(expected);
    expect(localInputToEpoch("2024-02-29T13:05")).toBe(expected - 9);
  });

  it("keeps years before 100 as written", () => {
    const seconds = localInputToEpoch("0050-06-01T00:00:00");
    expect(seconds).not.toBeNull();
    expect(new Date((seconds ?? 0) * 1000).getFullYear()).toBe(50);
    expect(epochToLocalInput(seconds)).toBe("0050-06-01T00:00:00");
  });

  it("refuses text that is not a real date-time", () => {
    expect(localInputToEpoch("")).toBeNull();
    expect(localInputToEpoch("yesterday")).toBeNull();
    expect(localInputToEpoch("2023-02-31T10:00")).toBeNull();
    expect(localInputToEpoch("2023-13-01T10:00")).toBeNull();
  });

  it("gives no text for empty values", () => {
    expect(epochToLocalInput(null)).toBe("");
  });
});

describe("editor values to the API", () => {
  it("converts numbers and refuses what is not one", () => {
    expect(toApiValue("integer", " 42 ")).toEqual({ ok: true, value: 42 });
    expect(toApiValue("integer", "-7")).toEqual({ ok: true, value: -7 });
    expect(toApiValue("integer", "9223372036854775807")).toEqual({
      ok: true,
      value: "9223372036854775807",
    });
    expect(toApiValue("integer", "4.5")).toEqual({
      ok: false,
      error: "Enter a whole number.",
    });
    expect(toApiValue("float", "3.25")).toEqual({ ok: true, value: 3.25 });
    expect(toApiValue("float", "1e3")).toEqual({ ok: true, value: 1000 });
    expect(toApiValue("float", "abc")).toEqual({
      ok: false,
      error: "Enter a number, like 3.14.",
    });
  });

  it("sends empty numbers, dates, data and links as null", () => {
    expect(toApiValue("integer", "")).toEqual({ ok: true, value: null });
    expect(toApiValue("float", "  ")).toEqual({ ok: true, value: null });
    expect(toApiValue("datetime", "")).toEqual({ ok: true, value: null });
    expect(toApiValue("data", null)).toEqual({ ok: true, value: null });
    expect(toApiValue("belongs_to", null)).toEqual({ ok: true, value: null });
  });

  it("keeps text as typed, empty included, and checks String's length", () => {
    expect(toApiValue("string", "")).toEqual({ ok: true, value: "" });
    expect(toApiValue("text", " two\nlines ")).toEqual({
      ok: true,
      value: " two\nlines ",
    });
    const long = toApiValue("string", "x".repeat(256));
    expect(long.ok).toBe(false);
  });

  it("converts booleans and date-times", () => {
    expect(toApiValue("boolean", true)).toEqual({ ok: true, value: true });
    expect(toApiValue("boolean", false)).toEqual({ ok: true, value: false });
    const seconds = new Date(1969, 11, 31, 12, 0, 0).getTime() / 1000;
    expect(toApiValue("datetime", "1969-12-31T12:00:00")).toEqual({
      ok: true,
      value: seconds,
    });
    expect(toApiValue("datetime", "soon")).toEqual({
      ok: false,
      error: "Pick a date and a time.",
    });
  });

  it("turns API values into editor values", () => {
    expect(toEditorValue("integer", 5)).toBe("5");
    expect(toEditorValue("integer", null)).toBe("");
    expect(toEditorValue("boolean", true)).toBe(true);
    expect(toEditorValue("boolean", null)).toBeNull();
    expect(toEditorValue("belongs_to", null)).toBeNull();
    expect(toEditorValue("belongs_to", 12)).toBe("12");
    expect(toEditorValue("datetime", -86400)).toBe(epochToLocalInput(-86400));
  });
});

describe("cells and labels", () => {
  it("formats each type for the grid", () => {
    expect(formatCell("boolean", false)).toBe("false");
    expect(formatCell("belongs_to", 4)).toBe("#4");
    expect(formatCell("data", "aGVsbG8=")).toBe("5 bytes");
    expect(formatCell("string", null)).toBe("");
    expect(formatCell("text", "first line\nsecond")).toBe("first line…");
    expect(formatCell("datetime", 0)).toMatch(/^19(69-12-31|70-01-01) \d\d:\d\d:\d\d$/);
  });

  it("measures and converts base64", () => {
    expect(base64Size("")).toBe(0);
    expect(base64Size("aGk=")).toBe(2);
    expect(formatBytes(2048)).toBe("2.0 KB");
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    expect(Array.from(base64ToBytes(bytesToBase64(bytes)))).toEqual(Array.from(bytes));
  });

  it("says when a count is an estimate", () => {
    expect(countLabel(1, true, false)).toBe("1 record");
    expect(countLabel(1523, true, false)).toBe("1,523 records");
    expect(countLabel(1000000, false, false)).toBe("about 1,000,000 records");
    expect(countLabel(10000, false, true)).toBe("10,000+ records");
  });

  it("flips the direction when the same header is clicked again", () => {
    const first = nextSort({ field: "photoID", direction: "asc" }, "title");
    expect(first).toEqual({ field: "title", direction: "asc" });
    expect(nextSort(first, "title")).toEqual({ field: "title", direction: "desc" });
  });

  it("offers only sensible filter operators", () => {
    expect(filterOpsFor("data")).toEqual(["is_null", "not_null"]);
    expect(filterOpsFor("string")).toContain("contains");
    expect(filterOpsFor("integer")).not.toContain("contains");
    expect(filterOpsFor("integer")).toContain("in");
    expect(filterOpsFor("string")).toContain("in");
    expect(filterOpsFor("datetime")).not.toContain("in");
    expect(filterOpsFor("boolean")).not.toContain("in");
  });

  it("sends an is-one-of list as one CSV line", () => {
    expect(valueListForApi("4, 9 ,12")).toEqual({ ok: true, value: "4,9,12" });
    expect(valueListForApi('"Smith, J", Lee')).toEqual({
      ok: true,
      value: '"Smith, J",Lee',
    });
    expect(valueListForApi('"say ""hi""",x')).toEqual({
      ok: true,
      value: '"say ""hi""",x',
    });
    expect(valueListForApi("solo")).toEqual({ ok: true, value: "solo" });
    expect(valueListForApi("a,,b").ok).toBe(false);
    expect(valueListForApi("").ok).toBe(false);
    expect(valueListForApi('"open').ok).toBe(false);
    expect(valueListForApi('"a" b').ok).toBe(false);
    expect(filterValueForApi("integer", "1, 2", "in")).toEqual({
      ok: true,
      value: "1,2",
    });
  });

  it("sends date filters as epoch seconds", () => {
    const seconds = localInputToEpoch("2020-01-01T00:00:00");
    expect(filterValueForApi("datetime", "2020-01-01T00:00:00")).toEqual({
      ok: true,
      value: String(seconds),
    });
    expect(filterValueForApi("datetime", "-5")).toEqual({ ok: true, value: "-5" });
  });

  it("leaves empty parameters out of a records query", () => {
    expect(
      browseSearch({ sort: "title", direction: "desc", limit: 50, after: null }),
    ).toBe("?sort=title&direction=desc&limit=50");
    expect(browseSearch({ filter_field: "", offset: 0 })).toBe("");
    expect(
      browseSearch({ filter_field: "title", filter_op: "eq", filter_value: "" }),
    ).toBe("?filter_field=title&filter_op=eq&filter_value=");
  });
});

describe("keyset paging", () => {
  it("walks forward with the tokens it learns and back with the ones it kept", () => {
    const pager = new KeysetPager();
    expect(pager.token).toBeNull();
    expect(pager.hasNext).toBe(false);
    pager.learn("t2");
    expect(pager.forward()).toBe(true);
    expect(pager.page).toBe(2);
    expect(pager.token).toBe("t2");
    pager.learn("t3");
    pager.forward();
    expect(pager.token).toBe("t3");
    pager.learn(null);
    expect(pager.hasNext).toBe(false);
    expect(pager.forward()).toBe(false);
    pager.back();
    pager.back();
    expect(pager.page).toBe(1);
    expect(pager.token).toBeNull();
    // The tokens seen are kept: forward again without learning.
    expect(pager.forward()).toBe(true);
    expect(pager.token).toBe("t2");
  });

  it("forgets later tokens when a page answers a different next token", () => {
    const pager = new KeysetPager();
    pager.learn("a");
    pager.forward();
    pager.learn("b");
    pager.back();
    pager.learn("a2");
    pager.forward();
    expect(pager.token).toBe("a2");
    expect(pager.hasNext).toBe(false);
  });

  it("numbers rows across pages and resets to page one", () => {
    const pager = new KeysetPager();
    pager.learn("x");
    pager.forward();
    expect(pager.rowRange(50, 20)).toEqual({ from: 51, to: 70 });
    pager.reset();
    expect(pager.page).toBe(1);
    expect(pager.hasPrevious).toBe(false);
    expect(pager.rowRange(50, 0)).toEqual({ from: 0, to: 0 });
  });
});

describe("record labels", () => {
  const photos = {
    id_field: "photoID",
    fields: [
      { name: "size", type: "integer" as const },
      { name: "caption", type: "text" as const },
      { name: "title", type: "string" as const },
    ],
  };

  it("prefers String fields, then Text, and skips empty ones", () => {
    expect(labelFields(photos)).toEqual(["title", "caption"]);
    expect(recordLabel(photos, { photoID: 1, title: "Beach", caption: "x" })).toBe(
      "Beach",
    );
    expect(
      recordLabel(photos, { photoID: 1, title: " ", caption: "Dunes\nat dusk" }),
    ).toBe("Dunes");
    expect(recordLabel(photos, { photoID: 1, title: null, caption: null })).toBe("");
  });
});

describe("parent labels", () => {
  const columns = [
    { name: "commentID", type: "integer" as const },
    { name: "photo", type: "belongs_to" as const, targetId: 2 },
    { name: "cover", type: "belongs_to" as const, targetId: 2 },
    { name: "author", type: "belongs_to" as const, targetId: 5 },
    { name: "gone", type: "belongs_to" as const },
  ];

  it("asks once per parent table for every ID the page links to", () => {
    const records = [
      { commentID: 1, photo: 9, cover: 3, author: null, gone: 4 },
      { commentID: 2, photo: 3, cover: null, author: 7, gone: null },
      { commentID: 3, photo: 9, cover: "12", author: 7, gone: 1 },
    ];
    expect(parentIdChunks(columns, records)).toEqual(
      new Map([
        [2, [[3, 9, 12]]],
        [5, [[7]]],
      ]),
    );
  });

  it("leaves out parent tables nothing links to and splits long lists", () => {
    const records = Array.from({ length: 7 }, (_, i) => ({ photo: i + 1, author: null }));
    expect(parentIdChunks(columns, records, 3)).toEqual(
      new Map([[2, [[1, 2, 3], [4, 5, 6], [7]]]]),
    );
    expect(parentIdChunks(columns, [])).toEqual(new Map());
  });

  it("labels parents by their first text, skipping those without one", () => {
    const photos = {
      id_field: "photoID",
      fields: [
        { name: "rating", type: "integer" as const },
        { name: "title", type: "string" as const },
      ],
    };
    const labels = labelsById(photos, [
      { photoID: 3, rating: 5, title: "Beach" },
      { photoID: 9, rating: 1, title: "  " },
      { photoID: 12, rating: 2, title: "Dunes\nat dawn" },
    ]);
    expect(labels).toEqual(
      new Map([
        [3, "Beach"],
        [12, "Dunes"],
      ]),
    );
  });
});

describe("indexes and CSV errors", () => {
  const comments = {
    fields: [
      { name: "body", type: "text" as const, target: null },
      { name: "photo", type: "belongs_to" as const, target: { name: "photos" } },
    ],
  };

  it("says which Belongs To link an automatic index serves", () => {
    expect(automaticIndexNote(comments, { fields: ["photo"] })).toBe(
      "For the Belongs To link photo → photos; goes with the field",
    );
    expect(automaticIndexNote(comments, { fields: ["body"] })).toBe(
      "Made by the database; goes with its field",
    );
  });

  it("keys the raw text of failing cells by row and field", () => {
    const found = badCellValues([
      { row: 3, field: "Age", value: "old" },
      { row: 4, field: null, value: null },
      { row: 5, field: "age" },
      { row: null, field: null, value: null },
      { row: 6, field: "name", value: "" },
    ]);
    expect(found).toEqual(
      new Map([
        ["3:age", "old"],
        ["6:name", ""],
      ]),
    );
  });
});
