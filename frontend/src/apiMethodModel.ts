/**
 * The API method editor's model: the method's definition exactly as the server stores it
 * (docs/app-format.md, "api_methods"), changed only by the pure functions below. Drag
 * and drop, the keyboard menus and the buttons all become these same operations; the
 * page renders from the result and never reads the truth back from the DOM.
 */
import type { ParamType } from "./kscriptApi";
import type { FieldType } from "./tablesApi";
import { isParamName, methodName } from "./kscriptLogic";

export type ActionType = "create" | "select" | "update" | "delete" | "aggregate";
export type Operator =
  | "="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "contains"
  | "starts_with"
  | "ends_with"
  | "is_empty"
  | "is_not_empty";
export type AggregateFunction =
  "count" | "count_distinct" | "sum" | "avg" | "min" | "max";

/** A value: an input parameter, or a field of an enclosing select's row / create's record. */
export interface ValueRef {
  param?: string;
  row?: string;
  /** With `row`: which enclosing action (the nearest when left out). */
  action?: string;
}

export interface Filter {
  /** How this filter joins the one before it; AND binds tighter than OR. */
  join?: "and" | "or";
  field: string;
  op: Operator;
  via?: string[];
  value?: ValueRef;
}

export interface Assign {
  field: string;
  value: ValueRef;
}

export interface SortKey {
  field: string;
  direction: "asc" | "desc";
}

/** `{field}`: the parent through this table's field; `{table, field}`: that table's children. */
export interface RelatedRef {
  field: string;
  table?: string;
}

export interface Action {
  id: string;
  type: ActionType;
  table: string;
  values?: Assign[];
  filters?: Filter[];
  sort?: SortKey[];
  limit?: ValueRef | null;
  offset?: ValueRef | null;
  related?: RelatedRef[];
  function?: AggregateFunction;
  field?: string;
  all?: boolean;
  actions?: Action[];
}

export interface MethodParam {
  name: string;
  /** A toggled field of the primary table (its type follows the field). */
  field?: string;
  /** A custom parameter's type. */
  type?: ParamType;
  enabled?: boolean;
}

export interface MethodDefinition {
  table: string;
  params: MethodParam[];
  actions: Action[];
  /** The returned action's id; null: the last top-level action. */
  returned: string | null;
}

export interface FieldShape {
  name: string;
  type: FieldType;
  /** Belongs To: the parent table. */
  target: string | null;
}

export interface TableShape {
  name: string;
  idField: string;
  /** Every field in record order: the ID, timeCreated, timeUpdated, then the table's own. */
  fields: FieldShape[];
}

export type Tables = readonly TableShape[];

export const ACTION_TYPES: readonly { type: ActionType; label: string; hint: string }[] =
  [
    { type: "create", label: "Create", hint: "Adds a record; returns its ID" },
    { type: "select", label: "Select", hint: "Finds records; returns them" },
    { type: "update", label: "Update", hint: "Changes records; returns how many" },
    { type: "delete", label: "Delete", hint: "Deletes records; returns how many" },
    { type: "aggregate", label: "Aggregate", hint: "Counts or sums; returns a number" },
  ];

export const OPERATORS: readonly { op: Operator; label: string }[] = [
  { op: "=", label: "=" },
  { op: "!=", label: "≠" },
  { op: "<", label: "<" },
  { op: "<=", label: "≤" },
  { op: ">", label: ">" },
  { op: ">=", label: "≥" },
  { op: "contains", label: "containing" },
  { op: "starts_with", label: "starts with" },
  { op: "ends_with", label: "ends with" },
  { op: "is_empty", label: "is empty" },
  { op: "is_not_empty", label: "is not empty" },
];

export const AGGREGATES: readonly { fn: AggregateFunction; label: string }[] = [
  { fn: "count", label: "Number" },
  { fn: "count_distinct", label: "Number (unique)" },
  { fn: "sum", label: "Total" },
  { fn: "avg", label: "Average" },
  { fn: "min", label: "Minimum" },
  { fn: "max", label: "Maximum" },
];

const VALUELESS: readonly Operator[] = ["is_empty", "is_not_empty"];
const NESTING: readonly ActionType[] = ["select", "create"];

export const FIELD_PARAM_TYPES: Record<FieldType, ParamType> = {
  string: "string",
  text: "text",
  integer: "integer",
  float: "float",
  boolean: "boolean",
  datetime: "datetime",
  data: "data",
  belongs_to: "integer",
};

export function canNest(type: ActionType): boolean {
  return NESTING.includes(type);
}

export function takesValue(op: Operator): boolean {
  return !VALUELESS.includes(op);
}

export function emptyDefinition(table: string): MethodDefinition {
  return { table, params: [], actions: [], returned: null };
}

export function tableOf(tables: Tables, name: string): TableShape | undefined {
  return tables.find((t) => t.name === name);
}

export function fieldParamName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

// ── the action tree ─────────────────────────────────────────────────────────────

export interface Located {
  action: Action;
  /** The enclosing action's id; null at the top level. */
  parentId: string | null;
  index: number;
  /** Enclosing actions, outermost first. */
  ancestors: Action[];
}

export function* walk(
  actions: readonly Action[],
  ancestors: Action[] = [],
): Generator<Located> {
  for (const [index, action] of actions.entries()) {
    const parent = ancestors[ancestors.length - 1];
    yield { action, parentId: parent ? parent.id : null, index, ancestors };
    yield* walk(action.actions ?? [], [...ancestors, action]);
  }
}

export function findAction(def: MethodDefinition, id: string): Located | null {
  for (const found of walk(def.actions)) if (found.action.id === id) return found;
  return null;
}

/** A fresh id: `a<n>` one past the highest in use. */
export function nextActionId(def: MethodDefinition): string {
  let highest = 0;
  for (const { action } of walk(def.actions)) {
    const match = /^a(\d+)$/.exec(action.id);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return `a${highest + 1}`;
}

export function newAction(id: string, type: ActionType, table: string): Action {
  switch (type) {
    case "create":
      return { id, type, table, values: [], actions: [] };
    case "select":
      return {
        id,
        type,
        table,
        filters: [],
        sort: [],
        limit: null,
        offset: null,
        related: [],
        actions: [],
      };
    case "update":
      return { id, type, table, values: [], filters: [], all: false };
    case "delete":
      return { id, type, table, filters: [], related: [], all: false };
    case "aggregate":
      return { id, type, table, function: "count", filters: [] };
  }
}

/** The list of actions under `parentId` (null: the top level). */
function childrenOf(actions: Action[], parentId: string | null): Action[] | null {
  if (parentId === null) return actions;
  for (const { action } of walk(actions)) {
    if (action.id === parentId)
      return canNest(action.type) ? (action.actions ?? []) : null;
  }
  return null;
}

/** The tree with the list under `parentId` replaced by `update(list)`. */
function withChildren(
  actions: Action[],
  parentId: string | null,
  update: (list: Action[]) => Action[],
): Action[] {
  if (parentId === null) return update(actions);
  return actions.map((action) =>
    action.id === parentId
      ? { ...action, actions: update(action.actions ?? []) }
      : action.actions
        ? { ...action, actions: withChildren(action.actions, parentId, update) }
        : action,
  );
}

function without(actions: Action[], id: string): Action[] {
  return actions
    .filter((a) => a.id !== id)
    .map((a) => (a.actions ? { ...a, actions: without(a.actions, id) } : a));
}

function clamp(index: number, length: number): number {
  return Math.max(0, Math.min(index, length));
}

/**
 * A new action of `type` at `index` of the list under `parentId` (null: top level), on
 * the method's table. Unchanged when `parentId` cannot hold actions.
 */
export function addAction(
  def: MethodDefinition,
  parentId: string | null,
  index: number,
  type: ActionType,
): { def: MethodDefinition; id: string | null } {
  const list = childrenOf(def.actions, parentId);
  if (list === null) return { def, id: null };
  const id = nextActionId(def);
  const action = newAction(id, type, def.table);
  const actions = withChildren(def.actions, parentId, (items) => {
    const copy = [...items];
    copy.splice(clamp(index, items.length), 0, action);
    return copy;
  });
  return { def: { ...def, actions }, id };
}

/** Whether `id` may go under `parentId`: a select or create, and not inside itself. */
export function canMoveInto(
  def: MethodDefinition,
  id: string,
  parentId: string | null,
): boolean {
  if (parentId === null) return findAction(def, id) !== null;
  if (parentId === id) return false;
  const target = findAction(def, parentId);
  if (!target || !canNest(target.action.type)) return false;
  return !target.ancestors.some((a) => a.id === id);
}

/** Move an action (with what it holds) to `index` of the list under `parentId`. */
export function moveAction(
  def: MethodDefinition,
  id: string,
  parentId: string | null,
  index: number,
): MethodDefinition {
  const found = findAction(def, id);
  if (!found || !canMoveInto(def, id, parentId)) return def;
  let target = index;
  // Taken out first: a later place in the same list moves up by one.
  if (found.parentId === parentId && found.index < index) target -= 1;
  const rest = without(def.actions, id);
  const actions = withChildren(rest, parentId, (items) => {
    const copy = [...items];
    copy.splice(clamp(target, items.length), 0, found.action);
    return copy;
  });
  return returnedStillValid({ ...def, actions });
}

export function removeAction(def: MethodDefinition, id: string): MethodDefinition {
  return returnedStillValid({ ...def, actions: without(def.actions, id) });
}

export function moveUp(def: MethodDefinition, id: string): MethodDefinition {
  const found = findAction(def, id);
  if (!found || found.index === 0) return def;
  return moveAction(def, id, found.parentId, found.index - 1);
}

export function moveDown(def: MethodDefinition, id: string): MethodDefinition {
  const found = findAction(def, id);
  if (!found) return def;
  const siblings = childrenOf(def.actions, found.parentId) ?? [];
  if (found.index >= siblings.length - 1) return def;
  return moveAction(def, id, found.parentId, found.index + 2);
}

/** Into the select or create just before it, as its last nested action. */
export function indent(def: MethodDefinition, id: string): MethodDefinition {
  const found = findAction(def, id);
  if (!found || found.index === 0) return def;
  const siblings = childrenOf(def.actions, found.parentId) ?? [];
  const previous = siblings[found.index - 1];
  if (!previous || !canNest(previous.type)) return def;
  return moveAction(def, id, previous.id, (previous.actions ?? []).length);
}

/** Out of the action holding it, to just after that action. */
export function outdent(def: MethodDefinition, id: string): MethodDefinition {
  const found = findAction(def, id);
  if (!found || found.parentId === null) return def;
  const parent = findAction(def, found.parentId);
  if (!parent) return def;
  return moveAction(def, id, parent.parentId, parent.index + 1);
}

export function updateAction(
  def: MethodDefinition,
  id: string,
  change: (action: Action) => Action,
): MethodDefinition {
  const map = (actions: Action[]): Action[] =>
    actions.map((a) =>
      a.id === id ? change(a) : a.actions ? { ...a, actions: map(a.actions) } : a,
    );
  return { ...def, actions: map(def.actions) };
}

/** Change an action's table: what named the old table's fields no longer applies. */
export function setActionTable(
  def: MethodDefinition,
  id: string,
  table: string,
): MethodDefinition {
  return updateAction(def, id, (a) => {
    const fresh = newAction(a.id, a.type, table);
    return { ...fresh, actions: a.actions };
  });
}

// ── the returned action ─────────────────────────────────────────────────────────

/** Actions that can be returned: every one not nested (at any depth) in a select. */
export function returnable(def: MethodDefinition): Action[] {
  const out: Action[] = [];
  for (const { action, ancestors } of walk(def.actions)) {
    if (!ancestors.some((a) => a.type === "select")) out.push(action);
  }
  return out;
}

export function returnedId(def: MethodDefinition): string | null {
  if (def.returned !== null) return def.returned;
  return def.actions[def.actions.length - 1]?.id ?? null;
}

export function setReturned(def: MethodDefinition, id: string | null): MethodDefinition {
  return returnedStillValid({ ...def, returned: id });
}

function returnedStillValid(def: MethodDefinition): MethodDefinition {
  if (def.returned === null) return def;
  return returnable(def).some((a) => a.id === def.returned)
    ? def
    : { ...def, returned: null };
}

// ── parameters ──────────────────────────────────────────────────────────────────

/** Switch a field of the primary table on or off as a parameter. */
export function setFieldParam(
  def: MethodDefinition,
  field: string,
  enabled: boolean,
): MethodDefinition {
  const existing = def.params.find((p) => p.field === field);
  if (existing) {
    return {
      ...def,
      params: def.params.flatMap((p) =>
        p !== existing ? [p] : enabled ? [{ name: p.name, field }] : [],
      ),
    };
  }
  if (!enabled) return def;
  return { ...def, params: [...def.params, { name: fieldParamName(field), field }] };
}

/** Add a custom parameter (switched on), or say why it cannot be added. */
export function addCustomParam(
  def: MethodDefinition,
  name: string,
  type: ParamType,
): { def: MethodDefinition } | { error: string } {
  const trimmed = name.trim();
  if (!isParamName(trimmed)) {
    return { error: "Start with a letter; use letters, digits and _." };
  }
  if (def.params.some((p) => p.name === trimmed)) {
    return { error: `There is already a parameter called ${trimmed}.` };
  }
  return { def: { ...def, params: [...def.params, { name: trimmed, type }] } };
}

/** Custom parameters are never removed, only switched off (as in the reference). */
export function setCustomParamEnabled(
  def: MethodDefinition,
  name: string,
  enabled: boolean,
): MethodDefinition {
  return {
    ...def,
    params: def.params.map((p) =>
      p.name === name && p.field === undefined
        ? enabled
          ? { name: p.name, type: p.type }
          : { name: p.name, type: p.type, enabled: false }
        : p,
    ),
  };
}

/** The parameters clients send, with their types, in order. */
export function declaredParams(
  def: MethodDefinition,
  tables: Tables,
): { name: string; type: ParamType }[] {
  const primary = tableOf(tables, def.table);
  const out: { name: string; type: ParamType }[] = [];
  for (const p of def.params) {
    if (p.enabled === false) continue;
    if (p.field !== undefined) {
      const field = primary?.fields.find((f) => f.name === p.field);
      if (field) out.push({ name: p.name, type: FIELD_PARAM_TYPES[field.type] });
    } else if (p.type) {
      out.push({ name: p.name, type: p.type });
    }
  }
  return out;
}

// ── filters, values, sorting, related data ──────────────────────────────────────

export function addFilter(
  def: MethodDefinition,
  id: string,
  join: "and" | "or",
): MethodDefinition {
  return updateAction(def, id, (a) => {
    const filters = a.filters ?? [];
    const filter: Filter = { field: "", op: "=" };
    return { ...a, filters: [...filters, filters.length ? { join, ...filter } : filter] };
  });
}

export function setFilter(
  def: MethodDefinition,
  id: string,
  index: number,
  patch: Partial<Filter>,
): MethodDefinition {
  return updateAction(def, id, (a) => ({
    ...a,
    filters: (a.filters ?? []).map((f, i) => {
      if (i !== index) return f;
      const next: Filter = { ...f, ...patch };
      if (!takesValue(next.op)) delete next.value;
      if (next.via !== undefined && next.via.length === 0) delete next.via;
      return next;
    }),
  }));
}

export function removeFilter(
  def: MethodDefinition,
  id: string,
  index: number,
): MethodDefinition {
  return updateAction(def, id, (a) => {
    const filters = (a.filters ?? []).filter((_, i) => i !== index);
    const head = filters[0];
    if (head?.join !== undefined) {
      // The first filter joins nothing.
      const first = { ...head };
      delete first.join;
      filters[0] = first;
    }
    return { ...a, filters };
  });
}

/** Set (or with null, drop) the value a create or update gives `field`. */
export function setAssign(
  def: MethodDefinition,
  id: string,
  field: string,
  value: ValueRef | null,
): MethodDefinition {
  return updateAction(def, id, (a) => {
    const values = a.values ?? [];
    if (value === null) return { ...a, values: values.filter((v) => v.field !== field) };
    const existing = values.findIndex((v) => v.field === field);
    const next =
      existing >= 0
        ? values.map((v, i) => (i === existing ? { field, value } : v))
        : [...values, { field, value }];
    return { ...a, values: next };
  });
}

export function setSort(
  def: MethodDefinition,
  id: string,
  sort: SortKey[],
): MethodDefinition {
  return updateAction(def, id, (a) => ({ ...a, sort }));
}

export function toggleRelated(
  def: MethodDefinition,
  id: string,
  related: RelatedRef,
  on: boolean,
): MethodDefinition {
  const same = (r: RelatedRef): boolean =>
    r.field === related.field && (r.table ?? null) === (related.table ?? null);
  return updateAction(def, id, (a) => {
    const current = (a.related ?? []).filter((r) => !same(r));
    return { ...a, related: on ? [...current, related] : current };
  });
}

/** Where a nested action can take values from: its enclosing selects and creates, nearest first. */
export function rowSources(def: MethodDefinition, id: string): Action[] {
  const found = findAction(def, id);
  if (!found) return [];
  return found.ancestors.filter((a) => canNest(a.type)).reverse();
}

export interface ViaOption {
  /** The `via` path ([] for the action's own table). */
  via: string[];
  /** Where it leads. */
  table: string;
  label: string;
}

/**
 * The tables a filter can reach from `table` through Belongs To relations: its parents,
 * its children, and the other side of a link table (many-to-many).
 */
export function viaOptions(tables: Tables, table: string): ViaOption[] {
  const out: ViaOption[] = [{ via: [], table, label: table }];
  const from = tableOf(tables, table);
  if (!from) return out;
  for (const f of from.fields) {
    if (f.type === "belongs_to" && f.target) {
      out.push({ via: [f.name], table: f.target, label: `${f.target} (its ${f.name})` });
    }
  }
  for (const child of tables) {
    for (const link of child.fields) {
      if (link.type !== "belongs_to" || link.target !== table) continue;
      const step = `${child.name}.${link.name}`;
      out.push({
        via: [step],
        table: child.name,
        label: `${child.name} (by ${link.name})`,
      });
      for (const other of child.fields) {
        if (other.type === "belongs_to" && other.target && other.name !== link.name) {
          out.push({
            via: [step, other.name],
            table: other.target,
            label: `${other.target} (through ${child.name})`,
          });
        }
      }
    }
  }
  return out;
}

/** Related data a select can tick: Belongs To parents and has-many children. */
export function relatedOptions(
  tables: Tables,
  table: string,
): { ref: RelatedRef; label: string }[] {
  const from = tableOf(tables, table);
  const out: { ref: RelatedRef; label: string }[] = [];
  for (const f of from?.fields ?? []) {
    if (f.type === "belongs_to" && f.target) {
      out.push({ ref: { field: f.name }, label: `With ${f.name} (${f.target})` });
    }
  }
  for (const child of tables) {
    for (const link of child.fields) {
      if (link.type === "belongs_to" && link.target === table) {
        out.push({
          ref: { table: child.name, field: link.name },
          label: `With ${child.name} (by ${link.name})`,
        });
      }
    }
  }
  return out;
}

// ── the preview ─────────────────────────────────────────────────────────────────

export function returnLabel(action: Action | undefined): string {
  if (!action) return "nothing";
  switch (action.type) {
    case "create":
      return "number: the new record's ID";
    case "select":
      return `array of ${action.table} records`;
    case "update":
      return "number of records changed";
    case "delete":
      return "number of records deleted";
    case "aggregate":
      return "number";
  }
}

export interface Signature {
  name: string;
  params: { name: string; type: ParamType }[];
  returns: string;
}

/** The method as clients will call it: name, parameters, return type. */
export function signature(
  title: string,
  def: MethodDefinition,
  tables: Tables,
): Signature {
  const id = returnedId(def);
  const action = id ? findAction(def, id)?.action : undefined;
  return {
    name: methodName(title),
    params: declaredParams(def, tables),
    returns: returnLabel(action),
  };
}
