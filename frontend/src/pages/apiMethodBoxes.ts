/**
 * The boxes inside an action card of the API method editor: values of a create or
 * update, filters, "every record", sorting, limits, related data, the aggregate. Each
 * renders from the definition and changes it only through apiMethodModel's functions,
 * handed to `ctx.commit`.
 */
import * as M from "../apiMethodModel";
import { button, h, uniqueId, type Child } from "../dom";
import { icon } from "../icons";

export interface BoxContext {
  readonly def: M.MethodDefinition;
  readonly tables: M.Tables;
  commit(next: M.MethodDefinition): void;
}

export const ref = (value: M.ValueRef | null | undefined): string =>
  value ? JSON.stringify(value) : "";
export const unref = (text: string): M.ValueRef | null =>
  text ? (JSON.parse(text) as M.ValueRef) : null;

export function valueOptions(
  ctx: BoxContext,
  action: M.Action,
  selected: M.ValueRef | undefined | null,
): HTMLOptionElement[] {
  const options = [h("option", { value: "" }, "— choose —")];
  const chosen = ref(selected ?? null);
  for (const p of M.declaredParams(ctx.def, ctx.tables)) {
    const value = ref({ param: p.name });
    options.push(h("option", { value, selected: value === chosen }, `param: ${p.name}`));
  }
  M.rowSources(ctx.def, action.id).forEach((source, i) => {
    for (const f of M.tableOf(ctx.tables, source.table)?.fields ?? []) {
      const value = ref(i === 0 ? { row: f.name } : { row: f.name, action: source.id });
      options.push(
        h(
          "option",
          { value, selected: value === chosen },
          `${source.id} row (${source.table}): ${f.name}`,
        ),
      );
    }
  });
  return options;
}

export function valuesBox(ctx: BoxContext, action: M.Action): HTMLElement {
  const table = M.tableOf(ctx.tables, action.table);
  const rows = (table?.fields ?? [])
    .filter(
      (f) =>
        f.name !== table?.idField && f.name !== "timeCreated" && f.name !== "timeUpdated",
    )
    .map((f) => {
      const current = action.values?.find((v) => v.field === f.name)?.value;
      const select = h(
        "select",
        {
          class: "input select",
          "aria-label": `Value of ${f.name} (${action.id})`,
          testid: `value-${f.name}`,
          "data-key": `value-${action.id}-${f.name}`,
        },
        valueOptions(ctx, action, current),
      );
      const none = select.options[0];
      if (none) none.textContent = "— not set —";
      select.addEventListener("change", () =>
        ctx.commit(M.setAssign(ctx.def, action.id, f.name, unref(select.value))),
      );
      return h("li", { class: "am-row" }, h("span", { class: "mono" }, f.name), select);
    });
  return h(
    "div",
    { class: "am-box" },
    h(
      "h3",
      { class: "am-box-title" },
      action.type === "create" ? "Values of the new record" : "Set",
    ),
    h("ul", { class: "am-rows" }, rows),
  );
}

export function filtersBox(ctx: BoxContext, action: M.Action): HTMLElement {
  const reachable = M.viaOptions(ctx.tables, action.table);
  const rows = (action.filters ?? []).map((f, index) => {
    const key = `${action.id}-f${index}`;
    const parts: Child[] = [];
    if (index > 0) {
      const join = h(
        "select",
        {
          class: "input select am-join",
          "aria-label": `Join of filter ${index + 1}`,
          testid: "filter-join",
          "data-key": `${key}-join`,
        },
        h("option", { value: "and", selected: f.join !== "or" }, "AND"),
        h("option", { value: "or", selected: f.join === "or" }, "OR"),
      );
      join.addEventListener("change", () =>
        ctx.commit(
          M.setFilter(ctx.def, action.id, index, { join: join.value as "and" | "or" }),
        ),
      );
      parts.push(join);
    } else {
      parts.push(h("span", { class: "am-join muted small" }, "where"));
    }
    const chosen = JSON.stringify([f.via ?? [], f.field]);
    const field = h(
      "select",
      {
        class: "input select",
        "aria-label": `Field of filter ${index + 1}`,
        testid: "filter-field",
        "data-key": `${key}-field`,
      },
      h("option", { value: "" }, "— field —"),
      reachable.map((option) =>
        h(
          "optgroup",
          { label: option.label },
          (M.tableOf(ctx.tables, option.table)?.fields ?? []).map((fieldShape) => {
            const value = JSON.stringify([option.via, fieldShape.name]);
            return h(
              "option",
              { value, selected: value === chosen },
              option.via.length ? `${option.table}.${fieldShape.name}` : fieldShape.name,
            );
          }),
        ),
      ),
    );
    field.addEventListener("change", () => {
      if (!field.value) return;
      const [via, name] = JSON.parse(field.value) as [string[], string];
      ctx.commit(M.setFilter(ctx.def, action.id, index, { via, field: name }));
    });
    const op = h(
      "select",
      {
        class: "input select",
        "aria-label": `Operator of filter ${index + 1}`,
        testid: "filter-op",
        "data-key": `${key}-op`,
      },
      M.OPERATORS.map((o) =>
        h("option", { value: o.op, selected: o.op === f.op }, o.label),
      ),
    );
    op.addEventListener("change", () =>
      ctx.commit(M.setFilter(ctx.def, action.id, index, { op: op.value as M.Operator })),
    );
    parts.push(field, op);
    if (M.takesValue(f.op)) {
      const value = h(
        "select",
        {
          class: "input select",
          "aria-label": `Value of filter ${index + 1}`,
          testid: "filter-value",
          "data-key": `${key}-value`,
        },
        valueOptions(ctx, action, f.value),
      );
      value.addEventListener("change", () =>
        ctx.commit(
          M.setFilter(ctx.def, action.id, index, {
            value: unref(value.value) ?? undefined,
          }),
        ),
      );
      parts.push(value);
    }
    const remove = button(icon("trash", 14), {
      variant: "ghost",
      size: "sm",
      "aria-label": `Remove filter ${index + 1}`,
      testid: "filter-remove",
      "data-key": `${key}-remove`,
    });
    remove.addEventListener("click", () =>
      ctx.commit(M.removeFilter(ctx.def, action.id, index)),
    );
    parts.push(remove);
    return h("li", { class: "am-filter", testid: "filter-row" }, parts);
  });
  const add = (join: "and" | "or", label: string): HTMLButtonElement => {
    const btn = button(label, {
      size: "sm",
      testid: `filter-add-${join}`,
      "data-key": `${action.id}-add-${join}`,
      "aria-label": `Add filter (${join.toUpperCase()}) to ${action.id}`,
    });
    btn.addEventListener("click", () =>
      ctx.commit(M.addFilter(ctx.def, action.id, join)),
    );
    return btn;
  };
  const adders = (action.filters ?? []).length
    ? [add("and", "AND"), add("or", "OR")]
    : [add("and", "(add filter)")];
  return h(
    "div",
    { class: "am-box" },
    h("h3", { class: "am-box-title" }, "Filtering by"),
    h("ul", { class: "am-rows" }, rows),
    h("div", { class: "am-adders" }, adders),
    (action.filters ?? []).length > 1
      ? h(
          "p",
          { class: "muted small" },
          "AND binds tighter than OR: a AND b OR c means (a AND b) OR c.",
        )
      : null,
  );
}

export function allBox(ctx: BoxContext, action: M.Action): HTMLElement | null {
  if ((action.filters ?? []).length) return null;
  const box = h("input", {
    type: "checkbox",
    checked: Boolean(action.all),
    testid: "action-all",
    "data-key": `all-${action.id}`,
    id: uniqueId("all"),
  });
  box.addEventListener("change", () =>
    ctx.commit(M.updateAction(ctx.def, action.id, (a) => ({ ...a, all: box.checked }))),
  );
  return h(
    "label",
    { class: "am-all" },
    box,
    action.type === "update"
      ? " Change every record (no filter)"
      : " Delete every record (no filter)",
  );
}

export function sortBox(ctx: BoxContext, action: M.Action): HTMLElement {
  const fields = M.tableOf(ctx.tables, action.table)?.fields ?? [];
  const sort = action.sort ?? [];
  const rows = sort.map((s, index) => {
    const field = h(
      "select",
      {
        class: "input select",
        "aria-label": `Sort field ${index + 1}`,
        testid: "sort-field",
        "data-key": `${action.id}-s${index}`,
      },
      fields.map((f) =>
        h("option", { value: f.name, selected: f.name === s.field }, f.name),
      ),
    );
    const direction = h(
      "select",
      {
        class: "input select",
        "aria-label": `Sort direction ${index + 1}`,
        testid: "sort-direction",
        "data-key": `${action.id}-sd${index}`,
      },
      h("option", { value: "asc", selected: s.direction === "asc" }, "ascending"),
      h("option", { value: "desc", selected: s.direction === "desc" }, "descending"),
    );
    const change = (): void =>
      ctx.commit(
        M.setSort(
          ctx.def,
          action.id,
          sort.map((k, i) =>
            i === index
              ? { field: field.value, direction: direction.value as "asc" | "desc" }
              : k,
          ),
        ),
      );
    field.addEventListener("change", change);
    direction.addEventListener("change", change);
    const remove = button(icon("trash", 14), {
      variant: "ghost",
      size: "sm",
      "aria-label": `Remove sort ${index + 1}`,
    });
    remove.addEventListener("click", () =>
      ctx.commit(
        M.setSort(
          ctx.def,
          action.id,
          sort.filter((_, i) => i !== index),
        ),
      ),
    );
    return h("li", { class: "am-row" }, field, direction, remove);
  });
  const add = button("Add sort", {
    size: "sm",
    testid: "sort-add",
    "data-key": `${action.id}-sort-add`,
  });
  add.addEventListener("click", () =>
    ctx.commit(
      M.setSort(ctx.def, action.id, [
        ...sort,
        { field: fields[0]?.name ?? "", direction: "asc" },
      ]),
    ),
  );
  return h(
    "div",
    { class: "am-box" },
    h("h3", { class: "am-box-title" }, "Sorting"),
    h("ul", { class: "am-rows" }, rows),
    h("div", { class: "am-adders" }, add),
  );
}

export function limitsBox(ctx: BoxContext, action: M.Action): HTMLElement {
  const pickParam = (label: string, key: "limit" | "offset"): HTMLElement => {
    const select = h(
      "select",
      {
        class: "input select",
        "aria-label": label,
        testid: `select-${key}`,
        "data-key": `${action.id}-${key}`,
      },
      h("option", { value: "" }, key === "limit" ? "all records" : "the first"),
      M.declaredParams(ctx.def, ctx.tables).map((p) => {
        const value = ref({ param: p.name });
        return h(
          "option",
          { value, selected: value === ref(action[key]) },
          `param: ${p.name}`,
        );
      }),
    );
    select.addEventListener("change", () =>
      ctx.commit(
        M.updateAction(ctx.def, action.id, (a) => ({
          ...a,
          [key]: unref(select.value),
        })),
      ),
    );
    return h("label", { class: "am-row" }, h("span", null, label), select);
  };
  return h(
    "div",
    { class: "am-box" },
    h("h3", { class: "am-box-title" }, "Number of records"),
    pickParam("Limit", "limit"),
    pickParam("Starting at record", "offset"),
  );
}

export function relatedBox(ctx: BoxContext, action: M.Action): HTMLElement | null {
  const options = M.relatedOptions(ctx.tables, action.table).filter(
    (o) => action.type === "select" || o.ref.table !== undefined,
  );
  if (!options.length) return null;
  const ticked = action.related ?? [];
  return h(
    "div",
    { class: "am-box" },
    h(
      "h3",
      { class: "am-box-title" },
      action.type === "select" ? "Related data" : "Also delete related data",
    ),
    options.map((o) => {
      const on = ticked.some(
        (r) => r.field === o.ref.field && (r.table ?? null) === (o.ref.table ?? null),
      );
      const key = `${action.id}-rel-${o.ref.table ?? ""}-${o.ref.field}`;
      const box = h("input", {
        type: "checkbox",
        checked: on,
        "data-key": key,
        testid: `related-${o.ref.table ?? o.ref.field}`,
      });
      box.addEventListener("change", () =>
        ctx.commit(M.toggleRelated(ctx.def, action.id, o.ref, box.checked)),
      );
      return h("label", { class: "am-check" }, box, ` ${o.label}`);
    }),
  );
}

export function aggregateBox(ctx: BoxContext, action: M.Action): HTMLElement {
  const fn = h(
    "select",
    {
      class: "input select",
      "aria-label": `Aggregate of ${action.id}`,
      testid: "aggregate-function",
      "data-key": `${action.id}-fn`,
    },
    M.AGGREGATES.map((a) =>
      h("option", { value: a.fn, selected: a.fn === action.function }, a.label),
    ),
  );
  const field = h(
    "select",
    {
      class: "input select",
      "aria-label": `Field to aggregate (${action.id})`,
      testid: "aggregate-field",
      "data-key": `${action.id}-agg-field`,
    },
    h("option", { value: "" }, "—"),
    (M.tableOf(ctx.tables, action.table)?.fields ?? []).map((f) =>
      h("option", { value: f.name, selected: f.name === action.field }, f.name),
    ),
  );
  const change = (): void =>
    ctx.commit(
      M.updateAction(ctx.def, action.id, (a) => {
        const next: M.Action = { ...a, function: fn.value as M.AggregateFunction };
        if (field.value && fn.value !== "count") next.field = field.value;
        else delete next.field;
        return next;
      }),
    );
  fn.addEventListener("change", change);
  field.addEventListener("change", change);
  return h(
    "div",
    { class: "am-box" },
    h("h3", { class: "am-box-title" }, "Aggregate"),
    h("div", { class: "am-row" }, fn, action.function === "count" ? null : field),
  );
}
