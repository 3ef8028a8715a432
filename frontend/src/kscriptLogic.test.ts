import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { RevisionConflict, type Revision } from "./kscriptApi";
import {
  classifySaveError,
  convertParams,
  convertParamValue,
  defaultComparison,
  deployState,
  methodName,
  parseCodeError,
  sideLabel,
} from "./kscriptLogic";

const theirs: Revision = {
  id: 3,
  name: "greet",
  title: "greet",
  return_type: "objects",
  params: [],
  code: "// theirs",
  revision: 7,
  latest_revision: 7,
  author: "bob",
  saved_at: "2026-11-22T10:40:00+00:00",
};

describe("methodName", () => {
  it.each([
    ["Get user by name", "getUserByName"],
    ["  send-welcome email ", "sendWelcomeEmail"],
    ["_init_", "_init_"],
    ["HTTPFetch now", "hTTPFetchNow"],
    ["!!!", ""],
  ])("%s -> %s (as the server derives it)", (title, name) => {
    expect(methodName(title)).toBe(name);
  });
});

describe("parseCodeError", () => {
  it("reads the server's syntax error", () => {
    expect(
      parseCodeError("Line 2, column 9: SyntaxError: Invalid or unexpected token"),
    ).toEqual({
      line: 2,
      column: 9,
      message: "SyntaxError: Invalid or unexpected token",
    });
  });

  it("gives null for other messages", () => {
    expect(parseCodeError("Another method is called x.")).toBeNull();
  });
});

describe("convertParamValue", () => {
  it("passes strings through and treats empty as not passed", () => {
    expect(convertParamValue("string", " Ann ")).toEqual({ value: " Ann " });
    expect(convertParamValue("text", "")).toEqual({ value: null });
  });

  it("keeps integers as strings so big values keep their digits", () => {
    expect(convertParamValue("integer", " 9007199254740993 ")).toEqual({
      value: "9007199254740993",
    });
    expect(convertParamValue("integer", "1.5")).toEqual({
      error: "Enter a whole number.",
    });
    expect(convertParamValue("integer", "")).toEqual({ value: null });
  });

  it("parses floats and refuses words", () => {
    expect(convertParamValue("float", "-2.5e3")).toEqual({ value: -2500 });
    expect(convertParamValue("float", "abc")).toEqual({ error: "Enter a number." });
    expect(convertParamValue("float", "Infinity")).toEqual({ error: "Enter a number." });
  });

  it("reads booleans from a select or a checkbox", () => {
    expect(convertParamValue("boolean", "true")).toEqual({ value: true });
    expect(convertParamValue("boolean", "0")).toEqual({ value: false });
    expect(convertParamValue("boolean", false)).toEqual({ value: false });
    expect(convertParamValue("boolean", "")).toEqual({ value: null });
    expect(convertParamValue("boolean", "maybe")).toEqual({
      error: "Enter true or false.",
    });
  });

  it("sends datetimes as epoch seconds", () => {
    const local = "2026-11-22T10:42:05";
    expect(convertParamValue("datetime", local)).toEqual({
      value: new Date(local).getTime() / 1000,
    });
    expect(convertParamValue("datetime", "1700000000")).toEqual({ value: 1700000000 });
    expect(convertParamValue("datetime", "soon")).toEqual({
      error: "Enter a date and time.",
    });
  });

  it("accepts base64 data and refuses other text", () => {
    expect(convertParamValue("data", "aGVs\nbG8=")).toEqual({ value: "aGVsbG8=" });
    expect(convertParamValue("data", "not base64!")).toEqual({
      error: "Enter base64-encoded data.",
    });
  });
});

describe("convertParams", () => {
  it("collects values and names the inputs that did not convert", () => {
    const params = [
      { name: "name", type: "string" as const },
      { name: "age", type: "integer" as const },
      { name: "vip", type: "boolean" as const },
      { name: "note", type: "text" as const },
    ];
    expect(convertParams(params, { name: "Ann", age: "x", vip: "true" })).toEqual({
      values: { name: "Ann", vip: true },
      errors: { age: "Enter a whole number." },
    });
  });
});

describe("classifySaveError", () => {
  it("a 409 conflict pauses saving and carries the newer revision", () => {
    const failure = classifySaveError(new RevisionConflict(theirs));
    expect(failure.kind).toBe("conflict");
    expect(failure.message).toBe("bob saved revision 7 meanwhile.");
  });

  it("a syntax error is invalid content with its place in the code", () => {
    const error = new ApiError(400, "code: Line 3, column 4: Unexpected end of input", {
      code: ["Line 3, column 4: Unexpected end of input"],
    });
    expect(classifySaveError(error)).toEqual({
      kind: "invalid",
      message: "Line 3, column 4: Unexpected end of input",
      location: { line: 3, column: 4, message: "Unexpected end of input" },
    });
  });

  it("other refusals are invalid without a place", () => {
    const error = new ApiError(400, "title: Another method is called x.", {
      title: ["Another method is called x."],
    });
    expect(classifySaveError(error)).toMatchObject({ kind: "invalid", location: null });
  });

  it("network and server trouble are worth retrying", () => {
    expect(classifySaveError(new ApiError(0, "offline", {}, true)).kind).toBe("retry");
    expect(classifySaveError(new ApiError(500, "boom")).kind).toBe("retry");
  });
});

describe("deployState", () => {
  it("tells live, changed and never deployed apart", () => {
    expect(deployState(3, 3)).toBe("live");
    expect(deployState(4, 3)).toBe("changed");
    expect(deployState(1, null)).toBe("not-deployed");
  });
});

describe("comparing revisions", () => {
  it("starts with your text against its base when it differs", () => {
    expect(defaultComparison([5, 4, 3], 4, true)).toEqual({ from: 4, to: "current" });
  });

  it("starts with the base against the one before it otherwise", () => {
    expect(defaultComparison([3, 5, 4], 5, false)).toEqual({ from: 4, to: 5 });
    expect(defaultComparison([1], 1, false)).toEqual({ from: 1, to: 1 });
  });

  it("labels each side", () => {
    expect(sideLabel(3, true, 4)).toBe("Revision 3");
    expect(sideLabel("current", true, 4)).toBe("Your text (not a revision yet)");
    expect(sideLabel("current", false, 4)).toBe("Your text (revision 4)");
  });
});
