/** /apps/<id>/automations: automations with how many times they fired, the editor (rules:
 * an event type and an audience, then KScript methods to run), and each one's runs. */
import "./schedules.css";
import "./events.css";
import { ApiError, type Id } from "../api";
import type { PageContext } from "../context";
import { confirmDialog, formDialog } from "../dialog";
import {
  badge,
  button,
  cardSection,
  checkboxField,
  emptyState,
  errorAlert,
  h,
  inputField,
  loadingStatus,
  pageHead,
  selectField,
} from "../dom";
import {
  addAudienceFilter,
  addRule,
  AUDIENCE_OPS,
  audienceValue,
  availabilityText,
  emptyAutomation,
  removeAudienceFilter,
  removeRule,
  setAudienceFilter,
  setRule,
  toggleWeekday,
  WEEKDAYS,
} from "../eventLogic";
import {
  eventsApi,
  type Automation,
  type AutomationDefinition,
  type AutomationRunSummary,
} from "../eventsApi";
import { errorText } from "../format";
import { icon } from "../icons";
import { kscriptApi } from "../kscriptApi";
import { formatDuration } from "../scheduleLogic";
import type { RunDetail } from "../schedulesApi";
import { dataTable } from "../tableMarkup";
import { formatMoment, withBody } from "./events";
import { toast, toastError } from "../toast";
import { runDetails, statusDot } from "./scheduleViews";
import { sectionCrumbs } from "./apps";
import { kscriptsPath } from "./kscripts";

function localInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function definitionOf(a: Automation): AutomationDefinition {
  return {
    name: a.name,
    enabled: a.enabled,
    available_from: a.available_from,
    available_until: a.available_until,
    weekdays: [...a.weekdays],
    timezone: a.timezone,
    late_events: a.late_events,
    late_after_minutes: a.late_after_minutes,
    rules: a.rules.map((r) => ({
      event_type: r.event_type,
      audience: [...r.audience],
      methods: [...r.methods],
    })),
  };
}

function openEditor(
  appId: Id,
  methods: string[],
  current: Automation | null,
  onSaved: () => void,
): void {
  let def: AutomationDefinition = current
    ? definitionOf(current)
    : emptyAutomation(methods[0] ?? "");
  const name = inputField({
    label: "Name",
    name: "name",
    testid: "automation-name",
    value: def.name,
  });
  const enabled = checkboxField({
    label: "Enabled",
    name: "enabled",
    checked: def.enabled,
    testid: "automation-enabled",
    switch: true,
  });
  const from = inputField({
    label: "Available from",
    name: "available_from",
    type: "datetime-local",
    testid: "automation-from",
    value: localInput(def.available_from),
  });
  const until = inputField({
    label: "Available until",
    name: "available_until",
    type: "datetime-local",
    testid: "automation-until",
    value: localInput(def.available_until),
  });
  const zone = inputField({
    label: "Time zone (for weekdays)",
    name: "timezone",
    testid: "automation-timezone",
    value: def.timezone,
  });
  const late = selectField({
    label: "Late events (uploaded after they happened)",
    name: "late_events",
    testid: "automation-late",
    value: def.late_events,
    options: [
      { value: "fire", label: "Fire anyway" },
      { value: "drop", label: "Drop when older than…" },
    ],
  });
  const lateMinutes = inputField({
    label: "Minutes",
    name: "late_after_minutes",
    type: "number",
    testid: "automation-late-minutes",
    value: def.late_after_minutes === null ? "" : String(def.late_after_minutes),
  });
  const weekdays = h(
    "fieldset",
    { class: "field auto-weekdays", testid: "automation-weekdays" },
    h("legend", { class: "label" }, "Days (none ticked: every day)"),
  );
  WEEKDAYS.forEach((label, i) => {
    const box = h("input", {
      type: "checkbox",
      class: "checkbox",
      checked: def.weekdays.includes(i + 1),
      testid: `automation-weekday-${i + 1}`,
    });
    box.addEventListener("change", () => {
      def = toggleWeekday(def, i + 1);
    });
    weekdays.append(h("label", { class: "auto-day" }, box, label));
  });
  const rulesArea = h("div", { class: "auto-rules", testid: "automation-rules" });
  const methodOptions = methods.map((m) => ({ value: m, label: m }));

  const paintRules = (): void => {
    rulesArea.replaceChildren(
      ...def.rules.map((rule, index) => {
        const type = inputField({
          label: "When this event arrives",
          name: `event_type_${index}`,
          testid: "rule-event-type",
          value: rule.event_type,
          placeholder: "checkout.completed or k.*",
        });
        type.input.addEventListener("input", () => {
          def = setRule(def, index, { event_type: type.input.value });
        });
        const audience = h(
          "div",
          { class: "auto-audience" },
          h(
            "p",
            { class: "label" },
            rule.audience.length
              ? "from users whose attributes match all of:"
              : "from everyone",
          ),
          ...rule.audience.map((filter, at) => {
            const attribute = h("input", {
              class: "input",
              value: filter.attribute,
              placeholder: "attribute",
              testid: "audience-attribute",
              "aria-label": "Attribute",
            });
            attribute.addEventListener("input", () => {
              def = setAudienceFilter(def, index, at, { attribute: attribute.value });
            });
            const op = h(
              "select",
              {
                class: "input select",
                testid: "audience-op",
                "aria-label": "Comparison",
              },
              AUDIENCE_OPS.map((o) =>
                h("option", { value: o.value, selected: o.value === filter.op }, o.label),
              ),
            );
            op.addEventListener("change", () => {
              def = setAudienceFilter(def, index, at, {
                op: op.value as typeof filter.op,
              });
            });
            const value = h("input", {
              class: "input",
              value: String(filter.value),
              placeholder: "value",
              testid: "audience-value",
              "aria-label": "Value",
            });
            value.addEventListener("input", () => {
              def = setAudienceFilter(def, index, at, {
                value: audienceValue(value.value),
              });
            });
            const remove = button("Remove", {
              size: "sm",
              variant: "ghost",
              testid: "audience-remove",
            });
            remove.addEventListener("click", () => {
              def = removeAudienceFilter(def, index, at);
              paintRules();
            });
            return h("div", { class: "auto-filter" }, attribute, op, value, remove);
          }),
        );
        const addFilter = button("Add audience filter", {
          size: "sm",
          testid: "audience-add",
        });
        addFilter.addEventListener("click", () => {
          def = addAudienceFilter(def, index);
          paintRules();
        });
        const method = selectField({
          label: "Run KScript method",
          name: `method_${index}`,
          testid: "rule-method",
          value: rule.methods[0] ?? "",
          options: methodOptions,
        });
        method.input.addEventListener("change", () => {
          def = setRule(def, index, {
            methods: [method.input.value, ...(def.rules[index]?.methods.slice(1) ?? [])],
          });
        });
        const remove = button("Remove rule", {
          size: "sm",
          variant: "ghost",
          testid: "rule-remove",
          disabled: def.rules.length === 1,
        });
        remove.addEventListener("click", () => {
          def = removeRule(def, index);
          paintRules();
        });
        return h(
          "fieldset",
          { class: "auto-rule", testid: "rule" },
          h("legend", { class: "label" }, `Rule ${index + 1}`),
          type.wrap,
          audience,
          addFilter,
          method.wrap,
          remove,
        );
      }),
    );
  };
  paintRules();
  const addRuleButton = button("Add rule", { testid: "rule-add" });
  addRuleButton.addEventListener("click", () => {
    def = addRule(def, methods[0] ?? "");
    paintRules();
  });

  const form = formDialog({
    title: current ? `Edit ${current.name}` : "New automation",
    description:
      "Runs deployed KScript methods with K.params.userId, K.params.installId and K.params.event when a matching event arrives.",
    testid: "automation-dialog",
    formClass: "auto-form",
    fields: [
      name.wrap,
      enabled.wrap,
      h("div", { class: "auto-row" }, from.wrap, until.wrap),
      weekdays,
      zone.wrap,
      h("div", { class: "auto-row" }, late.wrap, lateMinutes.wrap),
      rulesArea,
      addRuleButton,
    ],
    submitLabel: current ? "Save" : "Create",
    submitTestid: "automation-submit",
    errorTestid: "automation-error",
    onSubmit: () => {
      const minutes = lateMinutes.input.value.trim();
      const body: AutomationDefinition = {
        ...def,
        name: name.input.value,
        enabled: enabled.input.checked,
        available_from: from.input.value
          ? new Date(from.input.value).toISOString()
          : null,
        available_until: until.input.value
          ? new Date(until.input.value).toISOString()
          : null,
        timezone: zone.input.value.trim() || "UTC",
        late_events: late.input.value === "drop" ? "drop" : "fire",
        late_after_minutes: minutes ? Number(minutes) : null,
      };
      form.hideError();
      form.submit.disabled = true;
      const saving = current
        ? eventsApi.saveAutomation(appId, current.id, body)
        : eventsApi.createAutomation(appId, body);
      saving.then(
        (saved) => {
          form.dialog.close();
          toast(`Automation ${saved.name} saved.`, "success");
          onSaved();
        },
        (err: unknown) => {
          form.submit.disabled = false;
          const fields = err instanceof ApiError ? Object.values(err.fields).flat() : [];
          form.showError(fields.length ? fields.join(" ") : errorText(err));
        },
      );
    },
  });
  form.dialog.panel.classList.add("auto-dialog");
}

function runsPanel(appId: Id, automation: Automation): HTMLElement {
  const detail = h("div", { testid: "automation-run-detail-area" });
  const body = h("tbody");
  const status = h("p", { class: "muted small", role: "status" }, "Loading runs…");
  const row = (run: AutomationRunSummary): HTMLElement => {
    const tr = h(
      "tr",
      { testid: "automation-run-row", "data-status": run.status, class: "clickable" },
      h("td", null, statusDot(run.status)),
      h("td", null, formatMoment(run.queued_at)),
      h("td", null, h("code", null, run.method)),
      h("td", null, run.user ?? h("span", { class: "muted" }, "—")),
      h("td", null, formatDuration(run.duration_ms)),
    );
    tr.addEventListener("click", () => {
      eventsApi.run(appId, automation.id, run.id).then(
        (full) => {
          const asScheduleRun = {
            ...full,
            due_at: full.queued_at,
            trigger: "schedule",
            start_delay_ms: null,
            missed_count: 0,
            missed_until: null,
          } as RunDetail;
          detail.replaceChildren(runDetails(asScheduleRun, full.method));
        },
        (err: unknown) => toastError(err, "Could not load the run"),
      );
    });
    return tr;
  };
  eventsApi.runs(appId, automation.id).then(
    (page) => {
      body.replaceChildren(...page.runs.map(row));
      status.textContent = page.runs.length ? "" : "It has not fired yet.";
    },
    (err: unknown) => {
      status.textContent = errorText(err);
    },
  );
  return cardSection(
    {
      title: `Runs of ${automation.name}`,
      testid: "automation-runs",
      id: "automation-runs-title",
      description: "Newest first; click a run for its logs and result.",
    },
    withBody(
      dataTable({
        testid: "automation-runs-table",
        caption: "Runs",
        columns: ["Status", "Fired", "Method", "User", "Took"],
        rows: [],
      }),
      body,
    ),
    status,
    detail,
  );
}

export async function automationsPage(ctx: PageContext): Promise<void> {
  const appId = ctx.params.id ?? "";
  void sectionCrumbs(ctx, String(appId), "Automations");
  ctx.main.replaceChildren(loadingStatus("Loading automations…"));
  let automations: Automation[];
  let methods: string[];
  try {
    [automations, methods] = await Promise.all([
      eventsApi.automations(appId),
      kscriptApi.list(appId).then((list) => list.map((m) => m.name)),
    ]);
  } catch (err: unknown) {
    if (ctx.signal.aborted) return;
    ctx.main.replaceChildren(errorAlert(err));
    return;
  }
  if (ctx.signal.aborted) return;
  const reload = (): void => void automationsPage(ctx);
  const runsArea = h("div");
  const newButton = button([icon("plus", 14), "New automation"], {
    variant: "primary",
    testid: "new-automation",
    disabled: !methods.length,
    title: methods.length ? undefined : "Write a KScript method first",
  });
  newButton.addEventListener("click", () => openEditor(appId, methods, null, reload));
  const rows = automations.map((a) => {
    const edit = button("Edit", { size: "sm", testid: "automation-edit" });
    edit.addEventListener("click", () => openEditor(appId, methods, a, reload));
    const runs = button("Runs", { size: "sm", testid: "automation-show-runs" });
    runs.addEventListener("click", () => runsArea.replaceChildren(runsPanel(appId, a)));
    const remove = button("Delete", {
      size: "sm",
      variant: "danger",
      testid: "automation-delete",
    });
    remove.addEventListener("click", () => {
      void confirmDialog({
        title: `Delete ${a.name}?`,
        message: "Its rules and run history go with it. Events already stored stay.",
        confirmLabel: "Delete",
        danger: true,
        testid: "automation-delete-dialog",
        confirmTestid: "automation-delete-confirm",
        action: async () => {
          await eventsApi.removeAutomation(appId, a.id);
          toast(`Automation ${a.name} deleted.`, "success");
          reload();
        },
      });
    });
    return h(
      "tr",
      { testid: "automation-row", "data-name": a.name },
      h(
        "td",
        null,
        h("div", { class: "cell-title" }, a.name),
        a.enabled ? null : badge("off", "neutral"),
      ),
      h(
        "td",
        null,
        a.rules.map((r) =>
          h("div", null, h("code", null, r.event_type), " → ", r.methods.join(", ")),
        ),
      ),
      h("td", { class: "small" }, availabilityText(a)),
      h("td", { testid: "automation-fired" }, String(a.fired_count)),
      h("td", { class: "row-actions" }, runs, edit, remove),
    );
  });
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page" },
      pageHead({
        title: "Automations",
        titleTestid: "automations-title",
        lead: methods.length
          ? "Run a deployed KScript method when an event from a matching user arrives. Each event fires a rule once."
          : "Automations run KScript methods: write one first.",
        actions: newButton,
      }),
      automations.length
        ? dataTable({
            testid: "automations-table",
            caption: "Automations",
            columns: ["Automation", "Rules", "Available", "Fired", ""],
            rows,
          })
        : h(
            "section",
            { class: "card section", "aria-label": "Automations" },
            emptyState({
              testid: "automations-empty",
              frame: "inline",
              heading: "p",
              icon: icon("play", 22),
              title: "No automations yet",
              lead: methods.length
                ? "Run a KScript method when an event such as checkout.completed arrives from a matching user."
                : [
                    "Automations run KScript methods: ",
                    h("a", { href: kscriptsPath(appId) }, "write one first"),
                    ".",
                  ],
            }),
          ),
      runsArea,
    ),
  );
}
