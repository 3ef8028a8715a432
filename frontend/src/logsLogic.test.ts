import { describe, expect, it } from "vitest";
import {
  errorSummary,
  filterFromQuery,
  filterToQuery,
  isoFromLocal,
  localFromIso,
} from "./logsLogic";

describe("the Logs page's filter", () => {
  it("round-trips through the URL in a fixed order", () => {
    const filter = {
      q: "null",
      kind: "client" as const,
      status: "failed" as const,
      method: "greet",
      since: "2026-12-01T12:00:00.000Z",
    };
    const query = filterToQuery(filter, "1796126400000000,client,7");
    expect(query.toString()).toBe(
      "kind=client&method=greet&status=failed&since=2026-12-01T12%3A00%3A00.000Z&q=null&before=1796126400000000%2Cclient%2C7",
    );
    expect(filterFromQuery(query)).toEqual(filter);
  });

  it("leaves out values that make no sense", () => {
    const query = new URLSearchParams(
      "kind=cron&status=maybe&since=yesterday&method=+&q=",
    );
    expect(filterFromQuery(query)).toEqual({});
  });

  it("converts datetime-local values both ways", () => {
    const iso = isoFromLocal("2026-12-01T13:45");
    expect(iso).toBeDefined();
    expect(localFromIso(iso)).toBe("2026-12-01T13:45");
    expect(isoFromLocal("")).toBeUndefined();
    expect(localFromIso("not a date")).toBe("");
  });
});

describe("errorSummary", () => {
  it("says the type, message and place", () => {
    expect(
      errorSummary({ type: "ScriptError", message: "user is null", line: 3, column: 17 }),
    ).toBe("ScriptError: user is null (line 3, column 17)");
    expect(errorSummary({ type: "DatabaseError", message: "gone" })).toBe(
      "DatabaseError: gone",
    );
    expect(errorSummary(null)).toBe("");
  });
});
