/**
 * The CSV import dialog of the data browser: choose a file, preview it (columns, first
 * rows, per-row errors), then import all or nothing, polling the import's progress
 * while a worker runs a long one.
 */
import type { App } from "../api";
import { openDialog } from "../dialog";
import { append, button, clear, errorAlert, h, withBusy, type Child } from "../dom";
import { errorText } from "../format";
import { icon } from "../icons";
import {
  tablesApi,
  type CsvImport,
  type CsvPreview,
  type CsvRowError,
  type Table,
} from "../tablesApi";
import { badCellValues, formatCell, typeLabel } from "../tableValues";
import { toast } from "../toast";

const POLL_MS = 1000;

function errorList(
  errors: CsvRowError[],
  total: number,
  testid: string,
  title: string,
): HTMLElement {
  return h(
    "div",
    { class: "csv-errors", role: "alert", testid },
    h(
      "p",
      { class: "csv-errors-title" },
      `${total.toLocaleString("en")} problem${total === 1 ? "" : "s"} ${title}`,
    ),
    h(
      "ul",
      null,
      errors
        .slice(0, 50)
        .map((e) =>
          h(
            "li",
            { testid: "csv-error" },
            h(
              "span",
              { class: "mono csv-error-where" },
              e.row === null ? "file" : `row ${e.row}${e.field ? ` · ${e.field}` : ""}`,
            ),
            h("span", null, e.message),
          ),
        ),
      total > 50 ? h("li", { class: "muted" }, `…and ${total - 50} more`) : null,
    ),
  );
}

function previewTable(table: Table, preview: CsvPreview): HTMLElement {
  const types = new Map(table.fields.map((f) => [f.name.toLowerCase(), f]));
  const bad = new Set(
    preview.errors.map((e) => `${e.row ?? ""}:${(e.field ?? "").toLowerCase()}`),
  );
  const badValues = badCellValues(preview.errors);
  const badRows = new Set(preview.errors.map((e) => e.row));
  const columns = preview.columns.map((name) => {
    const field = types.get(name.toLowerCase());
    return { name, field };
  });
  return h(
    "div",
    { class: "csv-preview-wrap" },
    h(
      "table",
      { class: "table grid csv-preview", testid: "csv-preview-table" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", { scope: "col", class: "num" }, "Row"),
          columns.map((c) =>
            h(
              "th",
              { scope: "col" },
              h(
                "span",
                { class: "col-name" },
                c.name,
                h(
                  "span",
                  { class: "col-type" },
                  c.field ? typeLabel(c.field.type) : "ignored",
                ),
              ),
            ),
          ),
        ),
      ),
      h(
        "tbody",
        null,
        preview.rows.map((row, i) =>
          h(
            "tr",
            {
              testid: "csv-preview-row",
              class: badRows.has(i + 2) ? "row-error" : undefined,
            },
            h("td", { class: "num muted" }, String(i + 2)),
            columns.map((c) => {
              const key = `${i + 2}:${c.name.toLowerCase()}`;
              const flagged = bad.has(key);
              const badValue = badValues.get(key);
              const value = row[c.name] ?? row[c.field?.name ?? ""] ?? null;
              const text = c.field
                ? formatCell(c.field.type, value)
                : String(value ?? "");
              // A failing cell has no value: show the text the file has there.
              const shown =
                badValue !== undefined
                  ? h(
                      "span",
                      { class: "bad-value mono", testid: "csv-bad-value" },
                      badValue,
                    )
                  : value === null || text === ""
                    ? h("span", { class: "null" }, "—")
                    : text;
              return h(
                "td",
                {
                  class: flagged ? "cell-error" : undefined,
                  title: flagged
                    ? preview.errors.find(
                        (e) => `${e.row ?? ""}:${(e.field ?? "").toLowerCase()}` === key,
                      )?.message
                    : undefined,
                },
                shown,
              );
            }),
          ),
        ),
      ),
    ),
  );
}

/** Opens the import dialog; `onImported` runs after a successful import. */
export function csvImportDialog(app: App, table: Table, onImported: () => void): void {
  let text = "";
  let polling = 0;
  let closed = false;

  const file = h("input", {
    id: "csv-file",
    type: "file",
    accept: ".csv,text/csv",
    class: "sr-only",
    testid: "csv-file",
  });
  const chooser = h(
    "div",
    { class: "csv-drop" },
    h("span", { class: "empty-icon" }, icon("upload", 20)),
    file,
    h(
      "label",
      { for: "csv-file", class: "btn btn-secondary file-btn" },
      icon("upload", 14),
      "Choose a CSV file",
    ),
    h(
      "p",
      { class: "hint" },
      "The first row names the fields (",
      table.fields.map((f, i) => [i ? ", " : "", h("code", null, f.name)]),
      "). ID and time columns are ignored; DateTime is epoch seconds, YYYY-MM-DD HH:MM:SS (UTC) or ISO 8601; Data is base64.",
    ),
  );
  const stage = h("div", { class: "csv-stage", testid: "csv-stage" }, chooser);
  const footer = h("div", { class: "dialog-footer" });
  const dialog = openDialog({
    title: `Import CSV into ${table.name}`,
    description: "All or nothing: if any row has a problem, no row is imported.",
    body: h("div", { class: "csv-dialog" }, stage, footer),
    testid: "csv-dialog",
    onClose: () => {
      closed = true;
      if (polling) {
        window.clearTimeout(polling);
        toast("The import goes on in the background; refresh to see its rows.", "info");
      }
    },
  });
  dialog.panel.classList.add("dialog-wide");

  const setFooter = (...children: Child[]): void => {
    footer.replaceChildren(
      ...children.filter((c): c is HTMLElement => c instanceof HTMLElement),
    );
  };
  const cancel = (): HTMLElement => {
    const btn = button("Cancel", { testid: "csv-cancel" });
    btn.addEventListener("click", () => dialog.close());
    return btn;
  };
  setFooter(cancel());

  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    stage.replaceChildren(
      h(
        "div",
        { class: "loading" },
        h("span", { class: "spinner" }),
        `Reading ${chosen.name}…`,
      ),
    );
    void chosen
      .text()
      .then((content) => {
        text = content;
        return tablesApi.previewCsv(app.id, table.id, content);
      })
      .then(
        (preview) => {
          if (!closed) showPreview(chosen.name, preview);
        },
        (error: unknown) => {
          if (closed) return;
          stage.replaceChildren(
            h(
              "p",
              { class: "form-error", role: "alert", testid: "csv-error-message" },
              errorText(error),
            ),
            chooser,
          );
          file.value = "";
        },
      );
  });

  function showPreview(name: string, preview: CsvPreview): void {
    const again = button("Choose another file", { testid: "csv-again" });
    again.addEventListener("click", () => {
      file.value = "";
      stage.replaceChildren(chooser);
      setFooter(cancel());
    });
    const ok = preview.error_count === 0 && preview.total_rows > 0;
    const start = button(
      [
        icon("upload", 14),
        `Import ${preview.total_rows.toLocaleString("en")} row${preview.total_rows === 1 ? "" : "s"}`,
      ],
      { variant: "primary", testid: "csv-import" },
    );
    start.disabled = !ok;
    start.addEventListener("click", () => {
      void withBusy(start, () => tablesApi.startImport(app.id, table.id, text)).then(
        (job) => follow(job),
        (error: unknown) => {
          stage.prepend(errorAlert(error));
        },
      );
    });
    clear(stage);
    append(
      stage,
      h(
        "div",
        { class: "csv-summary", testid: "csv-summary" },
        h("strong", null, name),
        h(
          "span",
          { class: "muted" },
          ` · ${preview.total_rows.toLocaleString("en")} row${preview.total_rows === 1 ? "" : "s"} · ${preview.columns.length} column${preview.columns.length === 1 ? "" : "s"}`,
        ),
        preview.error_count === 0 && preview.total_rows > 0
          ? h("span", { class: "badge badge-success" }, "Ready to import")
          : null,
      ),
      preview.total_rows === 0
        ? h("p", { class: "muted" }, "The file has a header but no rows.")
        : null,
      Object.keys(preview.datetime_formats ?? {}).length
        ? h(
            "p",
            { class: "muted csv-formats", testid: "csv-datetime-formats" },
            Object.entries(preview.datetime_formats).map(([field, forms], i) => [
              i ? "; " : "",
              h("code", null, field),
              ` read as ${forms.join(" and ")}`,
            ]),
          )
        : null,
      preview.error_count
        ? errorList(
            preview.errors,
            preview.error_count,
            "csv-preview-errors",
            "to fix in the file before it can be imported",
          )
        : null,
      preview.rows.length
        ? h(
            "div",
            null,
            h(
              "p",
              { class: "subhead" },
              preview.total_rows > preview.rows.length
                ? `First ${preview.rows.length} rows`
                : "Rows",
            ),
            previewTable(table, preview),
          )
        : null,
    );
    setFooter(again, h("span", { class: "spacer" }), cancel(), start);
  }

  function follow(job: CsvImport): void {
    const bar = h("progress", {
      class: "progress",
      max: 1,
      value: job.progress,
      testid: "csv-progress",
      "aria-label": "Import progress",
    });
    const label = h("p", { class: "muted", testid: "csv-progress-text" });
    const paint = (current: CsvImport): void => {
      bar.value = current.progress;
      label.textContent =
        current.status === "pending"
          ? "Waiting for a worker…"
          : `Imported ${current.imported_rows.toLocaleString("en")} of ${current.total_rows.toLocaleString("en")} rows`;
    };
    stage.replaceChildren(h("div", { class: "csv-progress" }, bar, label));
    const hide = button("Close", { testid: "csv-hide" });
    hide.addEventListener("click", () => dialog.close());
    setFooter(hide);
    paint(job);

    const finish = (current: CsvImport): void => {
      polling = 0;
      const close = button("Close", { variant: "primary", testid: "csv-close" });
      close.addEventListener("click", () => dialog.close());
      if (current.status === "done") {
        stage.replaceChildren(
          h(
            "div",
            { class: "csv-done", role: "status", testid: "csv-done" },
            h("span", { class: "badge badge-success" }, "Done"),
            `Imported ${current.total_rows.toLocaleString("en")} row${current.total_rows === 1 ? "" : "s"} into ${table.name}.`,
          ),
        );
        toast(`Imported ${current.total_rows.toLocaleString("en")} rows.`, "success");
        onImported();
      } else {
        stage.replaceChildren(
          current.errors.length
            ? errorList(
                current.errors,
                current.errors.length,
                "csv-import-errors",
                "— nothing was imported",
              )
            : h(
                "p",
                { class: "form-error", role: "alert", testid: "csv-import-errors" },
                "The import failed; nothing was imported.",
              ),
        );
      }
      setFooter(close);
    };

    const tick = (current: CsvImport): void => {
      if (closed) return;
      paint(current);
      if (current.status === "done" || current.status === "failed") {
        finish(current);
        return;
      }
      polling = window.setTimeout(() => {
        tablesApi
          .importStatus(app.id, table.id, current.id)
          .then(tick, (error: unknown) => {
            if (closed) return;
            label.textContent = `Could not check the import: ${errorText(error)} Retrying…`;
            polling = window.setTimeout(() => tick(current), POLL_MS * 3);
          });
      }, POLL_MS);
    };
    tick(job);
  }
}
