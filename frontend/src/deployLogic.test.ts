import { describe, expect, it } from "vitest";
import {
  canConfirm,
  changeCount,
  confirmLabel,
  diffSides,
  headline,
  revisionText,
  summaryLine,
  whatText,
} from "./deployLogic";
import type { ChangeEntry, DeployPreview } from "./kscriptApi";

const GREET: ChangeEntry = {
  name: "greet",
  kind: "kscript",
  revision: 5,
  from_revision: 2,
  from_kind: "kscript",
  what: ["code", "parameters"],
};

function preview(over: Partial<DeployPreview> = {}): DeployPreview {
  return {
    live: {
      number: 3,
      created_at: "2026-11-22T10:00:00Z",
      created_by: "olivia",
      restored_from: null,
    },
    target: { kind: "deploy" },
    added: [{ name: "newOne", kind: "kscript", revision: 1 }],
    removed: [{ name: "oldOne", kind: "apimethod", revision: 2 }],
    changed: [
      {
        name: "greet",
        kind: "kscript",
        revision: 5,
        from_revision: 2,
        from_kind: "kscript",
        what: ["code", "parameters"],
      },
    ],
    unchanged: [{ name: "same", kind: "kscript", revision: 1 }],
    problems: [],
    ...over,
  };
}

describe("deploy review wording", () => {
  it("counts and summarises the changes", () => {
    expect(changeCount(preview())).toBe(3);
    expect(summaryLine(preview())).toBe("1 changed · 1 added · 1 removed · 1 unchanged");
    expect(
      summaryLine(preview({ added: [], removed: [], changed: [], unchanged: [] })),
    ).toBe("No methods");
  });

  it("gives revision numbers per group", () => {
    expect(revisionText(GREET, "changed")).toBe("rev 2 → rev 5");
    expect(revisionText({ name: "newOne", kind: "kscript", revision: 1 }, "added")).toBe(
      "rev 1",
    );
    expect(
      revisionText({ name: "oldOne", kind: "apimethod", revision: 2 }, "removed"),
    ).toBe("rev 2");
    expect(revisionText({ name: "x", kind: "kscript", revision: null }, "added")).toBe(
      "—",
    );
  });

  it("says what changed in words", () => {
    const entry = GREET;
    expect(whatText(entry, "changed")).toBe("code and parameters changed");
    expect(whatText({ ...entry, what: ["code"] }, "changed")).toBe("code changed");
    expect(
      whatText({ ...entry, what: ["code", "parameters", "return type"] }, "changed"),
    ).toBe("code, parameters and return type changed");
    expect(whatText({ ...entry, what: [] }, "changed")).toBe(
      "same code, another revision",
    );
    expect(
      whatText(
        { ...entry, kind: "apimethod", from_kind: "kscript", what: ["kind"] },
        "changed",
      ),
    ).toBe("now API method (was KScript)");
    expect(whatText(entry, "removed")).toBe("clients can no longer call it");
  });

  it("offers to deploy only when something changes and nothing stops it", () => {
    expect(canConfirm(preview())).toBe(true);
    expect(
      canConfirm(preview({ problems: ["greet: Line 2, column 9: SyntaxError"] })),
    ).toBe(false);
    expect(canConfirm(preview({ added: [], removed: [], changed: [] }))).toBe(false);
    expect(confirmLabel(preview())).toBe("Deploy 3 changes");
    expect(confirmLabel(preview({ added: [], removed: [] }))).toBe("Deploy 1 change");
  });

  it("describes a rollback and diffs against that deployment", () => {
    const rollback = preview({
      target: {
        kind: "rollback",
        number: 1,
        created_at: "x",
        created_by: "devon",
        restored_from: null,
      },
    });
    expect(confirmLabel(rollback)).toBe("Roll back to #1");
    expect(diffSides(rollback)).toEqual({ before: "live", after: "1" });
    expect(diffSides(preview())).toEqual({ before: "live", after: "current" });
    expect(headline(rollback)).toBe(
      "Clients now get deployment #3. Rolling back makes deployment #1's methods live again, as a new deployment; your drafts stay as they are.",
    );
    expect(headline(preview({ live: null }))).toBe(
      "Nothing is live yet. Deploying freezes the latest revision of every method.",
    );
  });
});
