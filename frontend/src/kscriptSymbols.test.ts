import { describe, expect, it } from "vitest";
import type { Symbols } from "./kscriptApi";
import {
  filterItems,
  insertItems,
  insertionText,
  insideString,
  opensNameArgument,
} from "./kscriptSymbols";

const symbols: Symbols = {
  tables: [
    {
      name: "rides",
      alias: "7_1_rides",
      fields: [
        { name: "rideID", type: "integer" },
        { name: "distance", type: "float" },
      ],
    },
    { name: "users", alias: "7_2_users", fields: [{ name: "userID", type: "integer" }] },
  ],
  methods: [
    { name: "countRides", kind: "kscript" },
    { name: "listUsers", kind: "apimethod" },
  ],
};

describe("Insert picker", () => {
  it("lists each table with its fields, then the methods", () => {
    expect(insertItems(symbols).map((i) => [i.kind, i.text, i.detail])).toEqual([
      ["table", "7_1_rides", "table rides"],
      ["field", "rideID", "rides · integer"],
      ["field", "distance", "rides · float"],
      ["table", "7_2_users", "table users"],
      ["field", "userID", "users · integer"],
      ["method", "countRides", "KScript method"],
      ["method", "listUsers", "API method"],
    ]);
  });

  it("filters by every word, keeping a field's table and a table's fields", () => {
    const items = insertItems(symbols);
    expect(filterItems(items, "dist").map((i) => i.text)).toEqual([
      "7_1_rides",
      "distance",
    ]);
    expect(filterItems(items, "USERS").map((i) => i.text)).toEqual([
      "7_2_users",
      "userID",
      "listUsers",
    ]);
    expect(filterItems(items, "rides float").map((i) => i.text)).toEqual([
      "7_1_rides",
      "distance",
    ]);
    expect(filterItems(items, "api").map((i) => i.text)).toEqual(["listUsers"]);
    expect(filterItems(items, "  ")).toHaveLength(7);
    expect(filterItems(items, "nothing-like-it")).toEqual([]);
  });

  it("knows when the cursor is inside a string", () => {
    expect(insideString("K.select(")).toBe(false);
    expect(insideString("K.select('")).toBe(true);
    expect(insideString('K.query("SELECT * FROM ')).toBe(true);
    expect(insideString("K.select('a').filter(")).toBe(false);
    expect(insideString("var s = 'it\\'s ")).toBe(true);
    expect(insideString("var t = `x ")).toBe(true);
    expect(insideString("x(); // don't ")).toBe(false);
  });

  it("quotes outside strings and inserts bare inside them", () => {
    expect(insertionText("7_1_rides", false)).toBe("'7_1_rides'");
    expect(insertionText("7_1_rides", true)).toBe("7_1_rides");
  });
});

describe("opensNameArgument", () => {
  it("is true right after the opening quote of a name argument", () => {
    for (const text of [
      "var rows = K.select('",
      'K.insert("',
      "K . update ( '",
      "K.delete('",
      "K.callAPIMethod('",
      "include('",
      "K.select('7_1_rides').filter('",
      'q.sort( "',
    ]) {
      expect(opensNameArgument(text), text).toBe(true);
    }
  });

  it("is false elsewhere: other calls, later arguments, inside a name, closed strings", () => {
    for (const text of [
      "K.log('",
      "var s = '",
      "K.select('7_1",
      "K.select('a', '",
      "K.query('SELECT * FROM ",
      "K.select()",
      "myinclude('",
      "K.selects('",
    ]) {
      expect(opensNameArgument(text), text).toBe(false);
    }
  });
});
