/** The Run panel of the API method editor: typed inputs, the result, the time, the SQL that ran. */
import type { ApiRunResult, ResultTypes } from "../apiMethodApi";
import { button, h, withBusy, type Child } from "../dom";
import { errorText, formatDateTime } from "../format";
import { icon } from "../icons";
import type { ParamType } from "../kscriptApi";
import { convertParams } from "../kscriptLogic";
import { paramField } from "./kscriptRun";

export interface RunPanelOptions {
  /** Saves the draft and runs it with `values`; rejects with a readable error. */
  run: (values: Record<string, unknown>) => Promise<ApiRunResult>;
}

export class RunPanel {
  readonly el = h("section", {
    class: "card section am-run",
    id: "run",
    testid: "api-run",
  });
  private readonly inputs: Record<string, string | boolean> = {};
  private readonly output: HTMLElement = h("div", {
    testid: "run-output",
    "aria-live": "polite",
  });

  constructor(private readonly options: RunPanelOptions) {}

  /** Re-draw the inputs for the method's parameters (what was typed is kept). */
  render(params: { name: string; type: ParamType }[]): void {
    // The KScript Run It! inputs, typed by each parameter's declared type.
    const fields = params.map((p) => paramField(p, this.inputs));
    fields.forEach(({ el }, i) => {
      // The editor puts focus back by this key when it re-draws.
      const control = el.querySelector<HTMLElement>("input, select, textarea");
      if (control) control.dataset.key = `run-${params[i]?.name ?? i}`;
    });
    const errors = new Map(params.map((p, i) => [p.name, fields[i]?.error]));
    const run = button([icon("play", 14), "Run"], {
      variant: "primary",
      testid: "run",
      "data-key": "run",
    });
    run.addEventListener("click", () => {
      const { values, errors: bad } = convertParams(params, this.inputs);
      for (const [name, error] of errors) {
        if (!error) continue;
        error.textContent = bad[name] ?? "";
        error.hidden = !bad[name];
      }
      if (Object.keys(bad).length) return;
      void withBusy(run, async () => {
        return this.options.run(values);
      }).then(
        (result) => this.show(result),
        (err: unknown) =>
          this.output.replaceChildren(
            h("p", { class: "field-error", testid: "run-error" }, errorText(err)),
          ),
      );
    });
    this.el.replaceChildren(
      h("div", { class: "section-head" }, h("h2", { class: "section-title" }, "Run")),
      h(
        "p",
        { class: "muted small" },
        "Runs the latest draft (saved first) on your data. Clients still get the deployed revision.",
      ),
      h(
        "div",
        { class: "am-run-inputs" },
        fields.map((f) => f.el),
      ),
      h("div", { class: "am-adders" }, run),
      this.output,
    );
  }

  private show(result: ApiRunResult): void {
    const statements = h(
      "details",
      { class: "am-sql", open: true, testid: "run-sql" },
      h("summary", null, `SQL that ran (${result.statements.length})`),
      result.statements.map((s) =>
        h(
          "div",
          { class: "am-statement" },
          h(
            "div",
            { class: "muted small" },
            `${s.action} · ${s.ms ?? "?"} ms · ${s.rows ?? 0} rows${s.error ? ` · ${s.error}` : ""}`,
          ),
          h("pre", { class: "mono" }, s.sql),
        ),
      ),
    );
    if (!result.ok) {
      this.output.replaceChildren(
        h(
          "p",
          { class: "field-error", testid: "run-error" },
          `${result.error.type}: ${result.error.message}`,
        ),
        statements,
      );
      return;
    }
    this.output.replaceChildren(
      h(
        "p",
        { class: "muted small", testid: "run-time" },
        `Ran in ${result.duration_ms} ms.`,
      ),
      h(
        "div",
        { testid: "run-result" },
        resultView(result.result, result.result_types ?? null),
      ),
      statements,
    );
  }
}

/**
 * A result as the Run panel shows it: records as a table (related data expandable), else
 * the value; dates (`types`) in the console's date format, their epoch seconds on hover.
 */
function resultView(value: unknown, types: ResultTypes): HTMLElement {
  if (
    Array.isArray(value) &&
    value.every((v) => v && typeof v === "object" && !Array.isArray(v))
  ) {
    const records = value as Record<string, unknown>[];
    if (!records.length) return h("p", { class: "muted" }, "No records.");
    const columns = Object.keys(records[0] ?? {});
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table am-result", testid: "run-records" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            columns.map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          null,
          records.map((r) =>
            h(
              "tr",
              null,
              columns.map((c) => h("td", null, cell(r[c], fieldTypes(types, c)))),
            ),
          ),
        ),
      ),
    );
  }
  if (types === "datetime" && typeof value === "number") {
    return h("p", { class: "am-value", testid: "run-value" }, dateValue(value));
  }
  return h("pre", { class: "mono am-value", testid: "run-value" }, JSON.stringify(value));
}

function fieldTypes(types: ResultTypes, field: string): ResultTypes {
  return types !== null && typeof types === "object" ? (types[field] ?? null) : null;
}

/** A date sent as epoch seconds: shown in the console's format, the seconds on hover. */
function dateValue(seconds: number): HTMLElement {
  const iso = new Date(seconds * 1000).toISOString();
  return h(
    "time",
    { datetime: iso, title: `${seconds} (epoch seconds)`, testid: "run-date" },
    formatDateTime(iso, { seconds: true }),
  );
}

function cell(value: unknown, types: ResultTypes): Child {
  if (value !== null && typeof value === "object") {
    const count = Array.isArray(value)
      ? `${value.length} record${value.length === 1 ? "" : "s"}`
      : "record";
    return h(
      "details",
      null,
      h("summary", null, count),
      resultView(Array.isArray(value) ? value : [value], types),
    );
  }
  if (value === null || value === undefined) return h("span", { class: "muted" }, "null");
  return types === "datetime" && typeof value === "number"
    ? dateValue(value)
    : String(value);
}
