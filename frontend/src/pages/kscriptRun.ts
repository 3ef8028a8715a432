/**
 * The Run It! panel: typed inputs for the parameters; while a run goes on, its log lines as
 * they arrive, the time it has taken and Stop (which replaces Run It!); then the result,
 * logs and errors.
 */
import { button, h, uniqueId } from "../dom";
import { icon } from "../icons";
import type { LogEntry, Param, RunError, RunResult } from "../kscriptApi";
import { convertParams } from "../kscriptLogic";
import { errorText } from "../format";
import {
  addLines,
  askStop,
  elapsedText,
  newRunId,
  setLive,
  startRun,
  type LiveRun,
} from "../liveRun";
import type { RunSocket } from "../runSocket";

export interface RunPanelOptions {
  /** Saves the draft, runs it with `values` as run `runId`; rejects with a readable error. */
  run: (values: Record<string, unknown>, runId: string) => Promise<RunResult>;
  /** The app's runs socket: live lines and Stop. */
  socket: RunSocket;
  /** The error's place in this method's code (to mark it in the editor). */
  onError: (error: RunError | null) => void;
  methodName: () => string;
  goTo: (line: number, column: number) => void;
}

export interface RunPanel {
  el: HTMLElement;
  setParams(params: Param[]): void;
  trigger(): void;
  /** Asks to stop the run going on; false when none is (or it cannot be stopped). */
  stop(): boolean;
}

const isMac = /Mac|iPhone|iPad/.test(navigator.platform);

export function runPanel(options: RunPanelOptions): RunPanel {
  let params: Param[] = [];
  const raw: Record<string, string | boolean> = {};
  const inputs = h("div", { class: "ks-run-inputs", testid: "run-params" });
  const errors: Record<string, HTMLElement> = {};
  const runBtn = button([icon("play", 14), "Run It!"], {
    variant: "primary",
    testid: "run",
    title: `Run the current draft (${isMac ? "⌘" : "Ctrl"}+Enter)`,
  });
  const stopBtn = button([icon("stop", 14), "Stop"], {
    variant: "danger",
    testid: "run-stop",
    title: "Stop the run (Esc)",
    hidden: true,
  });
  const shortcut = h("span", { class: "hint" }, `${isMac ? "⌘" : "Ctrl"}+Enter`);
  const output = h("div", {
    class: "ks-run-output",
    testid: "run-output",
    "aria-live": "polite",
  });
  output.append(
    h(
      "p",
      { class: "muted small" },
      "Runs the latest draft (saved first). Clients still get the deployed revision.",
    ),
  );

  const inputFor = (param: Param): HTMLElement => {
    const field = paramField(param, raw);
    errors[param.name] = field.error;
    return field.el;
  };

  const setParams = (next: Param[]): void => {
    params = next;
    inputs.replaceChildren(
      ...(params.length
        ? params.map(inputFor)
        : [h("p", { class: "muted small" }, "This method takes no parameters.")]),
    );
  };

  const showResult = (result: RunResult, ms: number): void => {
    const parts: HTMLElement[] = [];
    if (result.ok) {
      options.onError(null);
      parts.push(
        h(
          "p",
          { class: "ks-run-status", "data-state": "ok", testid: "run-status" },
          h("span", { class: "badge badge-success" }, "OK"),
          ` ${result.duration_ms.toFixed(1)} ms in V8 · ${Math.round(ms)} ms round trip`,
        ),
        h("h3", { class: "ks-run-heading" }, "Result"),
        h(
          "pre",
          { class: "ks-pre", testid: "run-result" },
          JSON.stringify(result.result, null, 2),
        ),
      );
    } else if (result.error.type === "ScriptStopped") {
      options.onError(null);
      parts.push(
        h(
          "p",
          { class: "ks-run-status", "data-state": "stopped", testid: "run-status" },
          h("span", { class: "badge" }, "Stopped"),
          ` after ${Math.round(ms)} ms`,
        ),
        h(
          "div",
          { class: "ks-run-error ks-run-stopped", role: "status", testid: "run-error" },
          h("div", null, `${result.error.message}. Nothing it wrote was kept.`),
        ),
      );
    } else {
      const error = result.error;
      options.onError(error);
      const here = error.line && (!error.method || error.method === options.methodName());
      const where = error.line
        ? `${error.method && !here ? `${error.method}, ` : ""}Line ${error.line}${error.column ? `, column ${error.column}` : ""}`
        : "";
      const goto = here
        ? button("Go to line", { size: "sm", variant: "ghost", testid: "run-error-goto" })
        : null;
      goto?.addEventListener("click", () =>
        options.goTo(error.line ?? 1, error.column ?? 1),
      );
      parts.push(
        h(
          "p",
          { class: "ks-run-status", "data-state": "error", testid: "run-status" },
          h("span", { class: "badge badge-danger" }, error.type),
          ` failed after ${Math.round(ms)} ms`,
        ),
        h(
          "div",
          { class: "ks-run-error", role: "alert", testid: "run-error" },
          where ? h("strong", { testid: "run-error-where" }, where) : null,
          h("div", { class: "mono" }, error.message),
          goto,
        ),
      );
    }
    parts.push(h("h3", { class: "ks-run-heading" }, `Logs (${result.logs.length})`));
    parts.push(
      result.logs.length
        ? h(
            "ol",
            { class: "ks-logs", testid: "run-logs" },
            result.logs.map((entry) => logLine(entry, options.methodName())),
          )
        : h(
            "p",
            { class: "muted small", testid: "run-logs" },
            "Nothing logged. Use K.log(…) to write here.",
          ),
    );
    if (result.ok && result.logs_dropped) {
      parts.push(
        h("p", { class: "hint" }, `${result.logs_dropped} more log lines were dropped.`),
      );
    }
    output.replaceChildren(...parts);
  };

  // The run going on, and what of it is on screen.
  let live: LiveRun | null = null;
  let shownLines = 0;
  let ticker = 0;
  const elapsed = h("span", { class: "mono", testid: "run-elapsed" });
  const statusText = h("span");
  const liveHeading = h("h3", { class: "ks-run-heading" });
  const liveLines = h("ol", { class: "ks-logs", testid: "run-logs" });
  const liveEmpty = h("p", { class: "muted small" }, "Nothing logged yet.");
  const liveNote = h("p", { class: "hint", testid: "run-live-note", hidden: true });

  const startLiveView = (): void => {
    shownLines = 0;
    liveLines.replaceChildren();
    output.replaceChildren(
      h(
        "p",
        {
          class: "ks-run-status",
          "data-state": "running",
          testid: "run-status",
          role: "status",
        },
        h("span", { class: "spinner" }),
        statusText,
        elapsed,
      ),
      liveHeading,
      liveEmpty,
      liveLines,
      liveNote,
    );
  };

  const paintLive = (): void => {
    if (!live) return;
    statusText.textContent = live.stopping ? "Stopping…" : "Running…";
    elapsed.textContent = elapsedText(performance.now() - live.startedAt);
    liveHeading.textContent = `Logs (${live.lines.length})`;
    const atBottom =
      liveLines.scrollTop + liveLines.clientHeight >= liveLines.scrollHeight - 4;
    for (const entry of live.lines.slice(shownLines))
      liveLines.append(logLine(entry, options.methodName()));
    shownLines = live.lines.length;
    liveEmpty.hidden = shownLines > 0;
    liveLines.hidden = shownLines === 0;
    if (atBottom) liveLines.scrollTop = liveLines.scrollHeight;
    stopBtn.disabled = live.stopping || live.live !== "on";
    stopBtn.replaceChildren(icon("stop", 14), live.stopping ? "Stopping…" : "Stop");
    if (live.live === "off") {
      liveNote.hidden = false;
      liveNote.textContent = `Live logs and Stop are not available (${
        options.socket.refused ?? "the live connection did not answer"
      }); the logs come with the result.`;
    }
  };

  const setRunning = (on: boolean): void => {
    runBtn.hidden = on;
    shortcut.hidden = on;
    stopBtn.hidden = !on;
    if (on) ticker = window.setInterval(paintLive, 100);
    else window.clearInterval(ticker);
  };

  const stop = (): boolean => {
    if (!live || live.stopping || live.live !== "on") return false;
    live = askStop(live);
    if (!options.socket.stop(live.runId)) live = { ...live, stopping: false };
    paintLive();
    return live.stopping;
  };
  stopBtn.addEventListener("click", () => void stop());

  const trigger = (): void => {
    if (live) return;
    for (const el of Object.values(errors)) el.hidden = true;
    const { values, errors: bad } = convertParams(params, raw);
    const names = Object.keys(bad);
    if (names.length) {
      for (const name of names) {
        const el = errors[name];
        if (el) {
          el.textContent = bad[name] ?? "";
          el.hidden = false;
        }
      }
      return;
    }
    const runId = newRunId(crypto.getRandomValues(new Uint8Array(16)));
    const started = performance.now();
    live = startRun(runId, started);
    startLiveView();
    setRunning(true);
    paintLive();
    const watched = options.socket.watch(runId, (message) => {
      if (live && message.kind === "logs") {
        live = addLines(live, message.run, message.logs);
        paintLive();
      }
    });
    void watched
      .then((ok) => {
        if (live?.runId !== runId) return;
        live = setLive(live, ok ? "on" : "off");
        paintLive();
        return options.run(values, runId);
      })
      .then(
        (result) => {
          if (result) showResult(result, performance.now() - started);
        },
        (err: unknown) => {
          output.replaceChildren(
            h(
              "div",
              { class: "ks-run-error", role: "alert", testid: "run-error" },
              h("strong", null, "Not run"),
              h("div", null, errorText(err)),
            ),
          );
        },
      )
      .finally(() => {
        options.socket.unwatch(runId);
        live = null;
        setRunning(false);
      });
  };
  runBtn.addEventListener("click", trigger);

  const el = h(
    "div",
    { class: "ks-run", testid: "run-panel" },
    inputs,
    h("div", { class: "ks-run-actions" }, runBtn, stopBtn, shortcut),
    output,
  );
  el.addEventListener("keydown", (event: KeyboardEvent) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      trigger();
    }
  });
  return { el, setParams, trigger, stop };
}

/**
 * One log line of a run, as Run It! and the run histories (schedules, automations, the
 * log) show it: where it was logged (`script:line` when another method than `method`
 * logged it), then its values.
 */
export function logLine(entry: LogEntry, method: string): HTMLElement {
  const text = entry.args
    .map((a) => (typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ");
  const where =
    entry.line !== null
      ? `${entry.script && entry.script !== method ? `${entry.script}:` : ""}${entry.line}`
      : "";
  return h(
    "li",
    { class: `ks-log ks-log-${entry.level}`, testid: "run-log" },
    h("span", { class: "ks-log-where" }, where),
    h("span", { class: "ks-log-text" }, text),
  );
}

/**
 * A labelled input for one parameter, typed by its declared type (KScript Run It! and the
 * API method editor's Run): what is typed goes into `raw[param.name]`; `error` is where
 * the caller shows why the value does not convert.
 */
export function paramField(
  param: Param,
  raw: Record<string, string | boolean>,
): { el: HTMLElement; error: HTMLElement } {
  const id = uniqueId(`run-${param.name}`);
  const common = {
    id,
    class: "input mono",
    testid: `run-param-${param.name}`,
    autocomplete: "off",
    spellcheck: "false",
  };
  let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  switch (param.type) {
    case "boolean":
      control = h(
        "select",
        { ...common, class: "input select" },
        h("option", { value: "" }, "(not passed)"),
        h("option", { value: "true" }, "true"),
        h("option", { value: "false" }, "false"),
      );
      break;
    case "text":
    case "data":
      control = h("textarea", {
        ...common,
        class: "input mono ks-textarea",
        rows: 3,
        placeholder: param.type === "data" ? "base64" : "",
      });
      break;
    case "datetime":
      control = h("input", { ...common, type: "datetime-local", step: "1" });
      break;
    default:
      control = h("input", {
        ...common,
        type: "text",
        inputmode:
          param.type === "integer"
            ? "numeric"
            : param.type === "float"
              ? "decimal"
              : undefined,
        placeholder: param.type === "integer" ? "0" : param.type === "float" ? "0.0" : "",
      });
  }
  const previous = raw[param.name];
  if (typeof previous === "string") control.value = previous;
  control.addEventListener("input", () => {
    raw[param.name] = control.value;
  });
  const error = h("p", { class: "field-error", hidden: true });
  const el = h(
    "div",
    { class: "field" },
    h(
      "label",
      { for: id, class: "label" },
      h("span", { class: "mono" }, param.name),
      h("span", { class: "hint" }, ` ${param.type}`),
    ),
    control,
    error,
  );
  return { el, error };
}
