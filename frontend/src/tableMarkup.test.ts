import { describe, expect, it } from "vitest";
import { h } from "./dom";
import { ACTIONS_COLUMN, dataTable } from "./tableMarkup";

describe("dataTable", () => {
  it("wraps a captioned table with one header row and the given rows", () => {
    const row = h("tr", null, h("td", null, "a"));
    const wrap = dataTable({
      testid: "things-table",
      caption: "All things",
      columns: ["Name", { label: "Count", class: "num" }, ACTIONS_COLUMN],
      rows: [row],
    });
    expect(wrap.outerHTML).toBe(
      '<div class="table-wrap"><table class="table" data-testid="things-table">' +
        '<caption class="sr-only">All things</caption>' +
        '<thead><tr><th scope="col">Name</th><th scope="col" class="num">Count</th>' +
        '<th scope="col" class="col-actions"><span class="sr-only">Actions</span></th></tr></thead>' +
        "<tbody><tr><td>a</td></tr></tbody></table></div>",
    );
  });

  it("skips left-out columns and the caption, and adds extra classes", () => {
    const wrap = dataTable({
      testid: "t",
      columns: ["User", false, null],
      rows: [],
      tableClass: "fields-table",
      wrapClass: "table-wrap-flush",
    });
    expect(wrap.className).toBe("table-wrap table-wrap-flush");
    expect(wrap.querySelector("table")?.className).toBe("table fields-table");
    expect(wrap.querySelector("caption")).toBeNull();
    expect(Array.from(wrap.querySelectorAll("th")).map((th) => th.textContent)).toEqual([
      "User",
    ]);
  });
});
