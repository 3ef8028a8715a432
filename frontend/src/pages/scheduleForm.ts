/**
 * The schedule editor (a dialog): name, KScript method, when (every minute, every hour
 * or a cron expression in a time zone), fixed parameters typed like the method's, and
 * the on/off switch. Beside the timing it shows the server's reading of it ("every
 * weekday at 09:00 Europe/London") and the next five run times, as you type.
 */
import { ApiError, type Id } from "../api";
import { formDialog } from "../dialog";
import {
  checkboxField,
  h,
  inputField,
  selectField,
  uniqueId,
  withBusy,
  type Field,
} from "../dom";
import { errorText } from "../format";
import type { MethodSummary, Param } from "../kscriptApi";
import { convertParams } from "../kscriptLogic";
import { formatDue } from "../scheduleLogic";
import {
  schedulesApi,
  type ScheduleDefinition,
  type ScheduleKind,
  type ScheduleTiming,
} from "../schedulesApi";

const KINDS: { value: ScheduleKind; label: string }[] = [
  { value: "minute", label: "Every minute" },
  { value: "hour", label: "Every hour" },
  { value: "cron", label: "Cron expression" },
];

export interface ScheduleDialogOptions {
  appId: Id;
  title: string;
  submitLabel: string;
  methods: MethodSummary[];
  initial?: ScheduleDefinition;
  /** Saves; an ApiError's field messages are shown beside the fields. */
  submit: (definition: ScheduleDefinition) => Promise<void>;
}

let zones: Promise<string[]> | null = null;

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Resolves true when saved, false when cancelled. */
export function scheduleDialog(options: ScheduleDialogOptions): Promise<boolean> {
  let done = false;
  const initial: ScheduleDefinition = options.initial ?? {
    name: "",
    method: options.methods[0]?.name ?? "",
    kind: "minute",
    cron: "0 9 * * 1-5",
    timezone: browserZone(),
    params: {},
    enabled: true,
  };

  const name = inputField({
    label: "Name",
    name: "name",
    value: initial.name,
    testid: "schedule-name",
    autocomplete: "off",
    placeholder: "e.g. Nightly clean-up",
  });
  const method = selectField({
    label: "KScript method",
    name: "method",
    value: initial.method,
    testid: "schedule-method",
    options: options.methods.map((m) => ({
      value: m.name,
      label: m.deployed_revision === null ? `${m.name} (not deployed yet)` : m.name,
    })),
  });
  const methodHint = h(
    "p",
    { class: "hint" },
    "Runs always take the deployed revision of the method.",
  );
  method.wrap.insertBefore(methodHint, method.wrap.querySelector(".field-error"));

  const kind = selectField({
    label: "When",
    name: "kind",
    value: initial.kind,
    testid: "schedule-kind",
    options: KINDS,
  });
  const cron = inputField({
    label: "Cron expression",
    name: "cron",
    value: initial.kind === "cron" ? initial.cron : "0 9 * * 1-5",
    testid: "schedule-cron",
    autocomplete: "off",
    hint: "minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5 or */15 * * * *",
  });
  cron.input.classList.add("mono");
  const listId = uniqueId("zones");
  const zoneList = h("datalist", { id: listId });
  const timezone = inputField({
    label: "Time zone",
    name: "timezone",
    value: initial.timezone,
    testid: "schedule-timezone",
    autocomplete: "off",
    hint: "An IANA name such as Europe/London, America/New_York or UTC.",
  });
  timezone.input.setAttribute("list", listId);
  timezone.wrap.append(zoneList);
  zones ??= schedulesApi.timezones(options.appId).catch(() => {
    zones = null;
    return [];
  });
  void zones.then((names) =>
    zoneList.replaceChildren(...names.map((z) => h("option", { value: z }))),
  );

  const reading = h("p", { class: "sched-reading", testid: "schedule-reading" });
  const nextRuns = h("ol", { class: "sched-next", testid: "schedule-next-runs" });
  const preview = h(
    "div",
    { class: "sched-preview", testid: "schedule-preview", "aria-live": "polite" },
    reading,
    h("p", { class: "label" }, "Next five runs"),
    nextRuns,
  );

  // Parameters: one input per parameter of the chosen method, kept by name across
  // method changes so switching back and forth loses nothing.
  const raw: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(initial.params)) {
    raw[key] = value === null ? "" : String(value);
  }
  const paramFields = new Map<string, Field<HTMLInputElement | HTMLSelectElement>>();
  const paramsBox = h("div", { class: "sched-params", testid: "schedule-params" });
  const paramsError = h("p", {
    class: "field-error",
    hidden: true,
    testid: "schedule-params-error",
  });
  const params = h(
    "fieldset",
    { class: "field sched-params-set" },
    h("legend", { class: "label" }, "Parameters"),
    paramsBox,
    paramsError,
  );
  const paramsOf = (): Param[] =>
    options.methods.find((m) => m.name === method.input.value)?.params ?? [];
  const paintParams = (): void => {
    const list = paramsOf();
    paramFields.clear();
    if (!list.length) {
      paramsBox.replaceChildren(
        h("p", { class: "hint" }, "This method takes no parameters."),
      );
      return;
    }
    paramsBox.replaceChildren(
      ...list.map((param) => {
        let field: Field<HTMLInputElement | HTMLSelectElement>;
        if (param.type === "boolean") {
          field = selectField({
            label: `${param.name} (boolean)`,
            name: `param-${param.name}`,
            testid: `schedule-param-${param.name}`,
            value: String(raw[param.name] ?? ""),
            options: [
              { value: "", label: "(not passed)" },
              { value: "true", label: "true" },
              { value: "false", label: "false" },
            ],
          });
        } else {
          field = inputField({
            label: `${param.name} (${param.type})`,
            name: `param-${param.name}`,
            testid: `schedule-param-${param.name}`,
            value: String(raw[param.name] ?? ""),
            autocomplete: "off",
            placeholder:
              param.type === "datetime" ? "seconds since 1970" : "(not passed)",
          });
          field.input.classList.add("mono");
        }
        field.input.addEventListener("input", () => {
          raw[param.name] = field.input.value;
        });
        paramFields.set(param.name, field);
        return field.wrap;
      }),
    );
  };
  method.input.addEventListener("change", paintParams);
  paintParams();

  const enabled = checkboxField({
    label: "Enabled",
    name: "enabled",
    checked: initial.enabled,
    testid: "schedule-enabled",
    hint: "Off: nothing runs on the timetable; Run now still works.",
    switch: true,
  });

  // The reading and next runs, fetched as the timing changes (the last answer wins).
  let previewCall: AbortController | null = null;
  let previewTimer = 0;
  const timing = (): ScheduleTiming => ({
    kind: kind.input.value as ScheduleKind,
    cron: cron.input.value.trim(),
    timezone: timezone.input.value.trim(),
  });
  const refreshPreview = (): void => {
    cron.wrap.hidden = kind.input.value !== "cron";
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(() => {
      previewCall?.abort();
      const call = new AbortController();
      previewCall = call;
      const asked = timing();
      preview.dataset.state = "loading";
      schedulesApi.preview(options.appId, asked, call.signal).then(
        (answer) => {
          if (call.signal.aborted) return;
          cron.setError("");
          timezone.setError("");
          preview.dataset.state = "ok";
          reading.textContent = answer.description;
          nextRuns.replaceChildren(
            ...answer.next_runs.map((iso) =>
              h(
                "li",
                { testid: "schedule-next-run", title: new Date(iso).toString() },
                formatDue(iso, asked.timezone),
              ),
            ),
          );
        },
        (err: unknown) => {
          if (
            call.signal.aborted ||
            (err instanceof DOMException && err.name === "AbortError")
          )
            return;
          preview.dataset.state = "error";
          nextRuns.replaceChildren();
          if (err instanceof ApiError) {
            cron.setError(err.fieldMessage("cron"));
            timezone.setError(err.fieldMessage("timezone"));
            reading.textContent = "Fix the timing to see when it runs.";
          } else {
            reading.textContent = errorText(err);
          }
        },
      );
    }, 250);
  };
  kind.input.addEventListener("change", refreshPreview);
  cron.input.addEventListener("input", refreshPreview);
  timezone.input.addEventListener("input", refreshPreview);
  timezone.input.addEventListener("change", refreshPreview);

  const whenRow = h("div", { class: "sched-when" }, kind.wrap, timezone.wrap);
  const { dialog, submit, showError, hideError } = formDialog({
    title: options.title,
    testid: "schedule-dialog",
    formClass: "dialog-form",
    fields: [name.wrap, method.wrap, whenRow, cron.wrap, preview, params, enabled.wrap],
    submitLabel: options.submitLabel,
    submitTestid: "schedule-form-submit",
    cancelTestid: "dialog-cancel",
    errorTestid: "schedule-form-error",
    initialFocus: () => name.input,
    onSubmit: () => {
      clearErrors();
      const converted = convertParams(paramsOf(), raw);
      const bad = Object.entries(converted.errors);
      for (const [param, message] of bad) paramFields.get(param)?.setError(message);
      if (!name.input.value.trim()) name.setError("Give the schedule a name.");
      if (bad.length || !name.input.value.trim()) return;
      const definition: ScheduleDefinition = {
        ...timing(),
        name: name.input.value.trim(),
        method: method.input.value,
        params: converted.values,
        enabled: enabled.input.checked,
      };
      void withBusy(submit, () => options.submit(definition)).then(
        () => {
          done = true;
          dialog.close();
        },
        (err: unknown) => {
          if (err instanceof ApiError && Object.keys(err.fields).length) {
            const known = { name, method, kind, cron, timezone } as const;
            for (const [key, field] of Object.entries(known))
              field.setError(err.fieldMessage(key));
            paramsError.textContent = err.fieldMessage("params");
            paramsError.hidden = paramsError.textContent === "";
            const other = err.otherFieldMessages([...Object.keys(known), "params"]);
            if (other) showError(other);
          } else {
            showError(errorText(err));
          }
        },
      );
    },
  });
  dialog.panel.classList.add("sched-dialog");
  const clearErrors = (): void => {
    for (const field of [name, method, kind, cron, timezone, ...paramFields.values()])
      field.setError("");
    paramsError.hidden = true;
    hideError();
  };
  refreshPreview();
  return dialog.closed.then(() => {
    window.clearTimeout(previewTimer);
    previewCall?.abort();
    return done;
  });
}
