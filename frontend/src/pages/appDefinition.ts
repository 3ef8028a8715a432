/**
 * The "App definition" card of the settings page: download the app's definition
 * (tables, relations, indexes, KScripts; docs/app-format.md) as JSON, and — for owners —
 * import such a file, which makes the app match it in one transaction.
 */
import { ApiError, request, type AppDetail, type Id } from "../api";
import { button, cardSection, checkboxField, h, withBusy } from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import { toast } from "../toast";

const enc = encodeURIComponent;

export function definitionUrl(appId: Id): string {
  return `/api/apps/${enc(String(appId))}/definition/`;
}

/** A file name for the download: "Photo Share" → "photo-share.kiln.json". */
export function definitionFileName(appName: string): string {
  const slug = appName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `${slug || "app"}.kiln.json`;
}

/** Every message of a refused import, "where: what" per line (DRF's field errors). */
export function importErrorLines(error: unknown): string[] {
  if (error instanceof ApiError && Object.keys(error.fields).length > 0) {
    return Object.entries(error.fields).map(([where, messages]) =>
      where === "non_field_errors"
        ? messages.join(" ")
        : `${where}: ${messages.join(" ")}`,
    );
  }
  return [errorText(error)];
}

export function definitionCard(app: AppDetail): HTMLElement {
  const download = h(
    "a",
    {
      class: "btn btn-secondary",
      href: definitionUrl(app.id),
      download: definitionFileName(app.name),
      testid: "definition-download",
    },
    icon("download", 16),
    "Download definition",
  );
  const body: HTMLElement[] = [h("div", { class: "definition-actions" }, download)];
  if (app.role === "owner") body.push(importForm(app));
  return cardSection(
    {
      title: "App definition",
      id: "card-definition",
      testid: "definition-card",
      description:
        "Tables, fields, relations, indexes and KScript methods as one JSON file — not the data. Keep it in version control, or import it into another app.",
    },
    ...body,
  );
}

function importForm(app: AppDetail): HTMLElement {
  const file = h("input", {
    type: "file",
    accept: ".json,application/json",
    id: "definition-file",
    testid: "definition-file",
  });
  const drop = checkboxField({
    label: "Also remove what the file lacks",
    name: "drop",
    testid: "definition-drop",
    hint: "Tables, fields, indexes and KScript methods of this app that the file does not list are deleted.",
  });
  const submit = button("Import definition", {
    variant: "primary",
    testid: "definition-import",
    disabled: true,
  });
  const result = h("div", {
    class: "definition-result",
    testid: "definition-result",
    role: "status",
  });
  file.addEventListener("change", () => {
    submit.disabled = !file.files?.length;
    result.replaceChildren();
  });

  submit.addEventListener("click", () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    void withBusy(submit, async () => {
      result.replaceChildren();
      let document: unknown;
      try {
        document = JSON.parse(await chosen.text());
      } catch {
        showErrors(result, [`${chosen.name} is not a JSON file.`]);
        return;
      }
      const query = drop.input.checked ? "?drop=true" : "";
      try {
        const answer = await request<{ changes: string[] }>(
          "PUT",
          definitionUrl(app.id) + query,
          document,
        );
        showChanges(result, answer.changes);
        toast(
          answer.changes.length
            ? `Imported ${chosen.name}: ${answer.changes.length} change${answer.changes.length === 1 ? "" : "s"}.`
            : "The app already matches this definition.",
          "success",
        );
      } catch (error) {
        showErrors(result, ["Nothing was changed.", ...importErrorLines(error)]);
      }
    });
  });

  return h(
    "div",
    { class: "definition-import stack" },
    h("h3", { class: "subsection-title" }, "Import a definition"),
    h(
      "div",
      { class: "field" },
      h("label", { class: "label", for: "definition-file" }, "Definition file (.json)"),
      file,
    ),
    drop.wrap,
    h("div", null, submit),
    result,
  );
}

function showChanges(target: HTMLElement, changes: string[]): void {
  if (changes.length === 0) {
    target.replaceChildren(
      h(
        "p",
        { class: "muted", testid: "definition-nothing" },
        "Nothing to change: the app already matches.",
      ),
    );
    return;
  }
  target.replaceChildren(
    h("p", null, `${changes.length} change${changes.length === 1 ? "" : "s"} applied:`),
    h(
      "ul",
      { class: "definition-changes" },
      changes.map((change) => h("li", { testid: "definition-change" }, change)),
    ),
  );
}

function showErrors(target: HTMLElement, lines: string[]): void {
  target.replaceChildren(
    h(
      "div",
      {
        class: "form-error definition-errors",
        role: "alert",
        testid: "definition-error",
      },
      lines.map((line) => h("div", null, line)),
    ),
  );
}
