import { describe, expect, it } from "vitest";
import { ApiError } from "../api";
import { definitionFileName, definitionUrl, importErrorLines } from "./appDefinition";

describe("app definition helpers", () => {
  it("names the download after the app", () => {
    expect(definitionFileName("Photo Share")).toBe("photo-share.kiln.json");
    expect(definitionFileName("  Ça va? 2 ")).toBe("a-va-2.kiln.json");
    expect(definitionFileName("!!!")).toBe("app.kiln.json");
  });

  it("points at the app's definition endpoint", () => {
    expect(definitionUrl(7)).toBe("/api/apps/7/definition/");
  });

  it("lists every refused place with its message", () => {
    const error = new ApiError(400, "Invalid input.", {
      "tables[0].fields[2].name": ["'select' is a reserved SQL word."],
      non_field_errors: ["Check the file."],
    });
    expect(importErrorLines(error)).toEqual([
      "tables[0].fields[2].name: 'select' is a reserved SQL word.",
      "Check the file.",
    ]);
    expect(importErrorLines(new ApiError(403, "Only owners can import."))).toEqual([
      "Only owners can import.",
    ]);
  });
});
