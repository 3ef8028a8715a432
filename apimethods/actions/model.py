"""The action tree of an API method: its JSON form, the dataclasses it parses into, and
the checks a definition must pass — against its own shape (`parse`) and against the app's
tables (`check`). Pure: the tables come in as a `SchemaMeta`.

A definition names tables and fields by **name** (never by id or alias), so the same
JSON exports from one app and imports into another (docs/app-format.md):

    {"table": "photos",
     "params": [{"name": "photographer", "field": "photographer"},      # a toggled field
                {"name": "limit", "type": "integer"},                   # a custom parameter
                {"name": "old", "type": "string", "enabled": false}],   # kept, switched off
     "actions": [{"id": "a1", "type": "select", "table": "photos",
                  "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}},
                              {"join": "or", "field": "title", "via": ["comments.photo"],
                               "op": "contains", "value": {"param": "q"}}],
                  "sort": [{"field": "timeCreated", "direction": "desc"}],
                  "limit": {"param": "limit"}, "offset": null,
                  "related": [{"field": "photographer"}, {"table": "comments", "field": "photo"}],
                  "actions": []}],
     "returned": "a1"}

Values come from an input parameter (`{"param": "name"}`) or, inside a nested action, from
a field of an enclosing select's row or create's new record (`{"row": "userID"}`: the
nearest; `{"row": "userID", "action": "a1"}`: that enclosing action's).

A filter's `via` walks Belongs To relations from the action's table: `"meal"` goes to the
parent through this table's field `meal`; `"favoriteMeals.connoisseur"` goes to the
children of table favoriteMeals whose field `connoisseur` points here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from apimethods.wire import PARAM_TYPES

ACTION_TYPES = ("create", "select", "update", "delete", "aggregate")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "contains", "starts_with", "ends_with", "is_empty", "is_not_empty")
VALUELESS_OPERATORS = frozenset({"is_empty", "is_not_empty"})
TEXT_OPERATORS = frozenset({"contains", "starts_with", "ends_with"})
ORDERING_OPERATORS = frozenset({"<", "<=", ">", ">="})
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
NUMERIC_TYPES = frozenset({"integer", "float"})
TEXT_TYPES = frozenset({"string", "text"})
# Actions that give their nested actions a row to read: a select (each row) and a create (the new record).
NESTING_TYPES = frozenset({"select", "create"})
MAGIC_FIELDS = ("timeCreated", "timeUpdated")

# The declared parameter type of a toggled table field.
FIELD_PARAM_TYPES = {
    "string": "string",
    "text": "text",
    "integer": "integer",
    "float": "float",
    "boolean": "boolean",
    "datetime": "datetime",
    "data": "data",
    "belongs_to": "integer",
}

MAX_ACTIONS = 100
MAX_DEPTH = 8
MAX_FILTERS = 50
MAX_VIA = 3
MAX_PARAMS = 100

_KEYS = {
    "create": ("values", "actions"),
    "select": ("filters", "sort", "limit", "offset", "related", "actions"),
    "update": ("values", "filters", "all"),
    "delete": ("filters", "related", "all"),
    "aggregate": ("function", "field", "filters"),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ACTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class DefinitionError(ValueError):
    """A definition that cannot be saved or run; `errors` maps a place to its problems,
    e.g. {"actions[0].filters[1].field": ["photos has no field 'titel'."]}."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        first = next(iter(self.errors.items()), ("", [""]))
        super().__init__(f"{first[0]}: {first[1][0]}" if first[0] else first[1][0])


# ── the app's tables, as the checks and the compiler see them ────────────────────────


@dataclass(frozen=True)
class FieldMeta:
    name: str
    # A field type (console.tables.models.FieldType); the ID field is "integer".
    type: str
    # Belongs To: the parent table's name (None once that table is gone).
    target: str | None = None


@dataclass(frozen=True)
class TableMeta:
    name: str
    id_field: str
    # Every column, in the order records show them: the ID, timeCreated, timeUpdated, the fields.
    fields: Mapping[str, FieldMeta]

    def children(self, schema: SchemaMeta) -> list[tuple[TableMeta, FieldMeta]]:
        """(table, Belongs To field) of every relation pointing at this table."""
        return [
            (table, f)
            for table in schema.tables.values()
            for f in table.fields.values()
            if f.type == "belongs_to" and f.target == self.name
        ]


@dataclass(frozen=True)
class SchemaMeta:
    schema: str  # the app's PostgreSQL schema
    tables: Mapping[str, TableMeta]


def table_meta(name: str, id_field: str, fields: list[tuple[str, str, str | None]]) -> TableMeta:
    """A TableMeta from (field name, type, parent table) triples; adds the ID and magic fields."""
    columns = {id_field: FieldMeta(id_field, "integer")}
    columns.update({m: FieldMeta(m, "datetime") for m in MAGIC_FIELDS})
    columns.update({n: FieldMeta(n, t, target if t == "belongs_to" else None) for n, t, target in fields})
    return TableMeta(name, id_field, columns)


@dataclass(frozen=True)
class Hop:
    """One step of a `via` path: to `table`, through `field` — the current table's own field
    pointing at `table` (parent), or `table`'s field pointing at the current one (children)."""

    table: str
    field: str
    parent: bool


# ── the parsed tree ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Ref:
    param: str | None = None
    row: str | None = None
    action: str | None = None  # row: the enclosing action whose row; None for the nearest

    def to_json(self) -> dict[str, str]:
        if self.param is not None:
            return {"param": self.param}
        return {"row": str(self.row)} | ({"action": self.action} if self.action else {})


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Ref | None = None
    via: tuple[str, ...] = ()
    join: str = "and"  # how this filter joins the one before it; AND binds tighter than OR


@dataclass(frozen=True)
class Assign:
    field: str
    value: Ref


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Related:
    field: str
    table: str | None = None  # None: the parent through this table's `field`; else children of `table`


@dataclass(frozen=True)
class Action:
    id: str
    type: str
    table: str
    values: tuple[Assign, ...] = ()
    filters: tuple[Filter, ...] = ()
    sort: tuple[Sort, ...] = ()
    limit: Ref | None = None
    offset: Ref | None = None
    related: tuple[Related, ...] = ()
    function: str | None = None
    field: str | None = None
    all: bool = False
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Param:
    name: str
    field: str | None = None  # a toggled field of the primary table (its type follows the field)
    type: str | None = None  # a custom parameter's type
    enabled: bool = True


@dataclass(frozen=True)
class Method:
    table: str
    params: tuple[Param, ...] = ()
    actions: tuple[Action, ...] = ()
    returned: str | None = None  # an action id; None: the last top-level action

    @property
    def returned_id(self) -> str | None:
        if self.returned is not None:
            return self.returned
        return self.actions[-1].id if self.actions else None


def walk(actions: tuple[Action, ...], path: str = "actions") -> Iterator[tuple[str, Action, tuple[Action, ...]]]:
    """Every action with its path and its enclosing actions (outermost first), in tree order."""

    def visit(items: tuple[Action, ...], prefix: str, outer: tuple[Action, ...]) -> Iterator[Any]:
        for i, action in enumerate(items):
            here = f"{prefix}[{i}]"
            yield here, action, outer
            yield from visit(action.actions, f"{here}.actions", (*outer, action))

    yield from visit(actions, path, ())


def field_param_name(field_name: str) -> str:
    """A field's parameter name: lowerCamelCase (`PhotoTitle` → `photoTitle`)."""
    return field_name[:1].lower() + field_name[1:]


# ── parsing: shape only ────────────────────────────────────────────────────────────


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.found.setdefault(path, []).append(message)


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _ref(value: Any, path: str, errors: _Errors, *, params_only: bool = False) -> Ref | None:
    if isinstance(value, dict) and set(value) == {"param"} and _is_str(value["param"]):
        return Ref(param=value["param"])
    if not params_only and isinstance(value, dict) and _is_str(value.get("row")):
        action = value.get("action")
        if set(value) <= {"row", "action"} and (action is None or _is_str(action)):
            return Ref(row=value["row"], action=action)
    what = '{"param": name}' if params_only else '{"param": name} or {"row": field}'
    errors.add(path, f"Give the value as {what}.")
    return None


def _list(value: Any, path: str, errors: _Errors, limit: int = 1000) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, "Give a list.")
        return []
    if len(value) > limit:
        errors.add(path, f"At most {limit} items.")
        return []
    return value


def _filter(item: Any, path: str, errors: _Errors, first: bool) -> Filter | None:
    if not isinstance(item, dict):
        errors.add(path, "Give each filter as {field, op, value}.")
        return None
    unknown = sorted(set(item) - {"field", "op", "value", "via", "join"})
    if unknown:
        errors.add(path, f"Unknown key {unknown[0]!r}.")
    op = item.get("op")
    if op not in OPERATORS:
        errors.add(f"{path}.op", f"Choose an operator: {', '.join(OPERATORS)}.")
    if not _is_str(item.get("field")):
        errors.add(f"{path}.field", "Choose a field.")
    join = item.get("join", "and")
    if join not in ("and", "or"):
        errors.add(f"{path}.join", "Join filters with 'and' or 'or'.")
    via = item.get("via", [])
    if not isinstance(via, list) or not all(_is_str(step) for step in via):
        errors.add(f"{path}.via", "Give the relations to follow as a list of names.")
        via = []
    elif len(via) > MAX_VIA:
        errors.add(f"{path}.via", f"Follow at most {MAX_VIA} relations.")
    value: Ref | None = None
    if op in VALUELESS_OPERATORS:
        if item.get("value") is not None:
            errors.add(f"{path}.value", f"'{op}' takes no value.")
    elif op in OPERATORS:
        value = _ref(item.get("value"), f"{path}.value", errors)
    return Filter(
        field=str(item.get("field", "")),
        op=str(op),
        value=value,
        via=tuple(via),
        join="and" if first else str(join),
    )


def _assign(item: Any, path: str, errors: _Errors) -> Assign | None:
    if not isinstance(item, dict) or set(item) != {"field", "value"} or not _is_str(item["field"]):
        errors.add(path, "Give each value as {field, value}.")
        return None
    ref = _ref(item["value"], f"{path}.value", errors)
    return Assign(item["field"], ref) if ref else None


def _sort(item: Any, path: str, errors: _Errors) -> Sort | None:
    if not isinstance(item, dict) or not _is_str(item.get("field")) or not set(item) <= {"field", "direction"}:
        errors.add(path, "Give each sort as {field, direction}.")
        return None
    direction = item.get("direction", "asc")
    if direction not in ("asc", "desc"):
        errors.add(f"{path}.direction", "Sort 'asc' or 'desc'.")
    return Sort(item["field"], direction == "desc")


def _related(item: Any, path: str, errors: _Errors) -> Related | None:
    if not isinstance(item, dict) or not _is_str(item.get("field")) or not set(item) <= {"field", "table"}:
        errors.add(path, "Give related data as {field} (a parent) or {table, field} (children).")
        return None
    table = item.get("table")
    if table is not None and not _is_str(table):
        errors.add(f"{path}.table", "Give the child table's name.")
        return None
    return Related(item["field"], table)


class _Parser:
    def __init__(self, default_table: str) -> None:
        self.errors = _Errors()
        self.default_table = default_table
        self.count = 0
        self.ids: set[str] = set()
        self.unnamed: list[tuple[str, dict[str, Any]]] = []

    def actions(self, value: Any, path: str, depth: int) -> tuple[Action, ...]:
        items = _list(value, path, self.errors)
        if items and depth > MAX_DEPTH:
            self.errors.add(path, f"Nest actions at most {MAX_DEPTH} deep.")
            return ()
        parsed = [self.action(item, f"{path}[{i}]", depth) for i, item in enumerate(items)]
        return tuple(a for a in parsed if a is not None)

    def action(self, item: Any, path: str, depth: int) -> Action | None:
        errors = self.errors
        self.count += 1
        if self.count == MAX_ACTIONS + 1:
            errors.add(path, f"A method has at most {MAX_ACTIONS} actions.")
        if not isinstance(item, dict):
            errors.add(path, "Give each action as an object with a type.")
            return None
        kind = item.get("type")
        if kind not in ACTION_TYPES:
            errors.add(f"{path}.type", f"Choose an action type: {', '.join(ACTION_TYPES)}.")
            return None
        unknown = sorted(set(item) - {"id", "type", "table", *_KEYS[kind]})
        if unknown:
            errors.add(path, f"A {kind} action has no {unknown[0]!r}.")
        action_id = item.get("id")
        if action_id is None:
            action_id = ""
        elif not isinstance(action_id, str) or not _ACTION_ID.match(action_id):
            errors.add(f"{path}.id", "An action id is 1-40 letters, digits, _ or -.")
            action_id = ""
        elif action_id in self.ids:
            errors.add(f"{path}.id", f"Two actions have the id {action_id!r}.")
        self.ids.add(action_id)
        table = item.get("table", self.default_table)
        if not _is_str(table):
            errors.add(f"{path}.table", "Choose a table.")
            table = ""
        filters_in = _list(item.get("filters"), f"{path}.filters", errors, MAX_FILTERS)
        filters = [_filter(f, f"{path}.filters[{i}]", errors, i == 0) for i, f in enumerate(filters_in)]
        values_in = _list(item.get("values"), f"{path}.values", errors)
        values = [_assign(v, f"{path}.values[{i}]", errors) for i, v in enumerate(values_in)]
        sort_in = _list(item.get("sort"), f"{path}.sort", errors)
        sort = [_sort(s, f"{path}.sort[{i}]", errors) for i, s in enumerate(sort_in)]
        related_in = _list(item.get("related"), f"{path}.related", errors)
        related = [_related(r, f"{path}.related[{i}]", errors) for i, r in enumerate(related_in)]
        limit = offset = None
        if item.get("limit") is not None:
            limit = _ref(item["limit"], f"{path}.limit", errors, params_only=True)
        if item.get("offset") is not None:
            offset = _ref(item["offset"], f"{path}.offset", errors, params_only=True)
        function = item.get("function")
        if kind == "aggregate" and function not in AGGREGATES:
            errors.add(f"{path}.function", f"Choose an aggregate: {', '.join(AGGREGATES)}.")
        agg_field = item.get("field")
        if agg_field is not None and not _is_str(agg_field):
            errors.add(f"{path}.field", "Choose a field.")
            agg_field = None
        everything = item.get("all", False)
        if not isinstance(everything, bool):
            errors.add(f"{path}.all", "Give true or false.")
            everything = False
        nested = self.actions(item.get("actions"), f"{path}.actions", depth + 1)
        action = Action(
            id=action_id,
            type=kind,
            table=table,
            values=tuple(v for v in values if v),
            filters=tuple(f for f in filters if f),
            sort=tuple(s for s in sort if s),
            limit=limit,
            offset=offset,
            related=tuple(r for r in related if r),
            function=function if kind == "aggregate" else None,
            field=agg_field,
            all=everything,
            actions=nested,
        )
        return action


def _with_ids(actions: tuple[Action, ...], taken: set[str]) -> tuple[Action, ...]:
    """Actions without an id get the first free `a<n>`, in tree order."""
    counter = 0

    def fill(items: tuple[Action, ...]) -> tuple[Action, ...]:
        nonlocal counter
        out = []
        for action in items:
            action_id = action.id
            if not action_id:
                counter += 1
                while f"a{counter}" in taken:
                    counter += 1
                action_id = f"a{counter}"
                taken.add(action_id)
            out.append(replace(action, id=action_id, actions=fill(action.actions)))
        return tuple(out)

    return fill(actions)


def _params(value: Any, errors: _Errors) -> tuple[Param, ...]:
    params: list[Param] = []
    for i, item in enumerate(_list(value, "params", errors, MAX_PARAMS)):
        path = f"params[{i}]"
        if not isinstance(item, dict) or not set(item) <= {"name", "field", "type", "enabled"}:
            errors.add(path, "Give each parameter as {name, type} or {field}.")
            continue
        field_name, kind, enabled = item.get("field"), item.get("type"), item.get("enabled", True)
        name = item.get("name")
        if field_name is not None:
            if not _is_str(field_name):
                errors.add(f"{path}.field", "Choose a field.")
                continue
            if kind is not None:
                errors.add(f"{path}.type", "A field's parameter takes the field's type.")
            name = field_param_name(field_name) if name is None else name
        elif kind not in PARAM_TYPES:
            errors.add(f"{path}.type", f"Choose a type: {', '.join(sorted(PARAM_TYPES))}.")
        if not isinstance(name, str) or not _NAME.match(name):
            errors.add(f"{path}.name", "A parameter name starts with a letter; use letters, digits and _.")
            continue
        if not isinstance(enabled, bool):
            errors.add(f"{path}.enabled", "Give true or false.")
            enabled = True
        params.append(Param(name, field_name, None if field_name is not None else kind, enabled))
    names = [p.name for p in params]
    for i, name in enumerate(names):
        if names.index(name) != i:
            errors.add(f"params[{i}].name", f"Two parameters are called {name}.")
    return tuple(params)


def parse(definition: Any) -> Method:
    """The definition's shape as a Method (missing action ids filled in); DefinitionError lists
    every problem found, by place."""
    errors = _Errors()
    if not isinstance(definition, dict):
        raise DefinitionError({"definition": ["Give the method as an object."]})
    unknown = sorted(set(definition) - {"table", "params", "actions", "returned"})
    if unknown:
        errors.add(unknown[0], "Unknown key; expected table, params, actions and returned.")
    table = definition.get("table")
    if not _is_str(table):
        errors.add("table", "Choose the method's table.")
        table = ""
    params = _params(definition.get("params"), errors)
    parser = _Parser(table)
    parser.errors = errors
    actions = parser.actions(definition.get("actions"), "actions", 1)
    returned = definition.get("returned")
    if returned is not None and not _is_str(returned):
        errors.add("returned", "Give the id of the returned action.")
        returned = None
    if errors.found:
        raise DefinitionError(errors.found)
    return Method(table, params, _with_ids(actions, set(parser.ids)), returned)


# ── the canonical JSON form ────────────────────────────────────────────────────────


def _filter_json(f: Filter, first: bool) -> dict[str, Any]:
    out: dict[str, Any] = {} if first else {"join": f.join}
    out |= {"field": f.field, "op": f.op}
    if f.via:
        out["via"] = list(f.via)
    if f.value is not None:
        out["value"] = f.value.to_json()
    return out


def action_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"id": action.id, "type": action.type, "table": action.table}
    keys = _KEYS[action.type]
    if "values" in keys:
        out["values"] = [{"field": v.field, "value": v.value.to_json()} for v in action.values]
    if action.type == "aggregate":
        out["function"] = action.function
        if action.field is not None:
            out["field"] = action.field
    if "filters" in keys:
        out["filters"] = [_filter_json(f, i == 0) for i, f in enumerate(action.filters)]
    if action.type in ("update", "delete"):
        out["all"] = action.all
    if "sort" in keys:
        out["sort"] = [{"field": s.field, "direction": "desc" if s.descending else "asc"} for s in action.sort]
        out["limit"] = action.limit.to_json() if action.limit else None
        out["offset"] = action.offset.to_json() if action.offset else None
    if "related" in keys:
        out["related"] = [{"field": r.field} | ({"table": r.table} if r.table else {}) for r in action.related]
    if "actions" in keys:
        out["actions"] = [action_json(a) for a in action.actions]
    return out


def to_json(method: Method) -> dict[str, Any]:
    """The canonical JSON of a parsed method (what a revision stores)."""
    params = []
    for p in method.params:
        item: dict[str, Any] = {"name": p.name}
        item |= {"field": p.field} if p.field is not None else {"type": p.type}
        if not p.enabled:
            item["enabled"] = False
        params.append(item)
    return {
        "table": method.table,
        "params": params,
        "actions": [action_json(a) for a in method.actions],
        "returned": method.returned,
    }


# ── checks against the app's tables ────────────────────────────────────────────────


def follow(schema: SchemaMeta, table: TableMeta, step: str) -> tuple[TableMeta, Hop] | str:
    """Where one `via` step leads from `table`, or why it leads nowhere."""
    if "." in step:
        child_name, _, field_name = step.partition(".")
        child = schema.tables.get(child_name)
        if child is None:
            return f"No table called {child_name!r}."
        link = child.fields.get(field_name)
        if link is None or link.type != "belongs_to" or link.target != table.name:
            return f"{child_name}.{field_name} is not a Belongs To field pointing at {table.name}."
        return child, Hop(child.name, field_name, parent=False)
    link = table.fields.get(step)
    if link is None or link.type != "belongs_to":
        return f"{table.name} has no Belongs To field {step!r}."
    parent = schema.tables.get(link.target or "")
    if parent is None:
        return f"{table.name}.{step} points at a table that no longer exists."
    return parent, Hop(parent.name, step, parent=True)


def declared_params(method: Method, schema: SchemaMeta) -> list[tuple[str, str]]:
    """(name, type) of every enabled parameter, in order: what clients send and are coerced to."""
    primary = schema.tables.get(method.table)
    out = []
    for p in method.params:
        if not p.enabled:
            continue
        if p.field is not None:
            meta = primary.fields.get(p.field) if primary else None
            if meta is None:
                continue
            out.append((p.name, FIELD_PARAM_TYPES[meta.type]))
        else:
            out.append((p.name, str(p.type)))
    return out


def check(method: Method, schema: SchemaMeta) -> dict[str, list[str]]:
    """Every problem of `method` against the app's tables, by place (empty when it runs)."""
    errors = _Errors()
    primary = schema.tables.get(method.table)
    if primary is None:
        errors.add("table", f"No table called {method.table!r}.")
    params: dict[str, bool] = {}
    for i, p in enumerate(method.params):
        params[p.name] = p.enabled
        if p.field is not None and primary is not None and p.field not in primary.fields:
            errors.add(f"params[{i}].field", f"{primary.name} has no field {p.field!r}.")
    ids = {action.id: (path, outer) for path, action, outer in walk(method.actions)}
    for path, action, outer in walk(method.actions):
        _check_action(schema, action, path, outer, params, errors)
    returned = method.returned
    if returned is not None:
        if returned not in ids:
            errors.add("returned", f"No action has the id {returned!r}.")
        elif any(a.type == "select" for a in ids[returned][1]):
            errors.add("returned", "An action nested in a select runs once per row; it cannot be returned.")
    return errors.found


def _check_ref(
    ref: Ref,
    path: str,
    outer: tuple[Action, ...],
    schema: SchemaMeta,
    params: Mapping[str, bool],
    errors: _Errors,
) -> None:
    if ref.param is not None:
        if ref.param not in params:
            errors.add(path, f"No parameter called {ref.param!r}.")
        elif not params[ref.param]:
            errors.add(path, f"The parameter {ref.param!r} is switched off.")
        return
    rows = [a for a in outer if a.type in NESTING_TYPES]
    if not rows:
        errors.add(path, "Only a nested action can take a value from an enclosing select or create.")
        return
    source = rows[-1] if ref.action is None else next((a for a in rows if a.id == ref.action), None)
    if source is None:
        errors.add(path, f"{ref.action!r} is not an enclosing select or create.")
        return
    table = schema.tables.get(source.table)
    if table is not None and str(ref.row) not in table.fields:
        errors.add(path, f"{table.name} has no field {ref.row!r}.")


def _check_action(
    schema: SchemaMeta,
    action: Action,
    path: str,
    outer: tuple[Action, ...],
    params: Mapping[str, bool],
    errors: _Errors,
) -> None:
    table = schema.tables.get(action.table)
    if table is None:
        errors.add(f"{path}.table", f"No table called {action.table!r}.")
        return
    if action.actions and action.type not in NESTING_TYPES:
        errors.add(f"{path}.actions", "Only select and create actions hold nested actions.")

    def ref(value: Ref, where: str) -> None:
        _check_ref(value, where, outer, schema, params, errors)

    seen: set[str] = set()
    for i, assign in enumerate(action.values):
        where = f"{path}.values[{i}]"
        target = table.fields.get(assign.field)
        if target is None:
            errors.add(f"{where}.field", f"{table.name} has no field {assign.field!r}.")
        elif assign.field == table.id_field or assign.field in MAGIC_FIELDS:
            errors.add(f"{where}.field", f"{assign.field} is filled in automatically.")
        elif assign.field in seen:
            errors.add(f"{where}.field", f"{assign.field} is set twice.")
        seen.add(assign.field)
        ref(assign.value, f"{where}.value")
    if action.type == "update" and not action.values:
        errors.add(f"{path}.values", "Choose at least one field to change.")
    for i, f in enumerate(action.filters):
        where = f"{path}.filters[{i}]"
        current: TableMeta = table
        for j, step in enumerate(f.via):
            followed = follow(schema, current, step)
            if isinstance(followed, str):
                errors.add(f"{where}.via[{j}]", followed)
                break
            current = followed[0]
        else:
            target = current.fields.get(f.field)
            if target is None:
                errors.add(f"{where}.field", f"{current.name} has no field {f.field!r}.")
            elif f.op in TEXT_OPERATORS and target.type not in TEXT_TYPES:
                errors.add(f"{where}.op", f"'{f.op}' compares text; {current.name}.{f.field} is {target.type}.")
            elif f.op in ORDERING_OPERATORS and target.type in {"data", "boolean"}:
                errors.add(f"{where}.op", f"{current.name}.{f.field} ({target.type}) has no order.")
        if f.value is not None:
            ref(f.value, f"{where}.value")
    if action.type in ("update", "delete") and not action.filters and not action.all:
        verb = "changes" if action.type == "update" else "deletes"
        errors.add(f"{path}.filters", f"Without a filter this {verb} every record; set 'all' to mean it.")
    for i, s in enumerate(action.sort):
        if s.field not in table.fields:
            errors.add(f"{path}.sort[{i}].field", f"{table.name} has no field {s.field!r}.")
    for key, value in (("limit", action.limit), ("offset", action.offset)):
        if value is not None:
            ref(value, f"{path}.{key}")
    keys: set[str] = set()
    for i, r in enumerate(action.related):
        where = f"{path}.related[{i}]"
        problem = _related_problem(schema, table, r, action.type)
        if problem:
            errors.add(where, problem)
            continue
        key = related_key(table, r, action.related)
        if key in keys:
            errors.add(where, "This related data is ticked twice.")
        keys.add(key)
    if action.type == "aggregate":
        if action.function != "count" and action.field is None:
            errors.add(f"{path}.field", f"Choose the field to {action.function}.")
        if action.field is not None:
            target = table.fields.get(action.field)
            if target is None:
                errors.add(f"{path}.field", f"{table.name} has no field {action.field!r}.")
            elif action.function in ("sum", "avg") and target.type not in NUMERIC_TYPES:
                errors.add(f"{path}.field", f"{action.function} needs a number field; {action.field} is {target.type}.")
            elif action.function in ("min", "max") and target.type not in NUMERIC_TYPES | {"datetime"}:
                errors.add(
                    f"{path}.field", f"{action.function} needs a number or date field; {action.field} is {target.type}."
                )


def _related_problem(schema: SchemaMeta, table: TableMeta, related: Related, kind: str) -> str | None:
    if related.table is None:
        if kind == "delete":
            return "A delete removes children only: give {table, field} of the child table."
        link = table.fields.get(related.field)
        if link is None or link.type != "belongs_to" or link.target not in schema.tables:
            return f"{table.name} has no Belongs To field {related.field!r}."
        return None
    child = schema.tables.get(related.table)
    if child is None:
        return f"No table called {related.table!r}."
    link = child.fields.get(related.field)
    if link is None or link.type != "belongs_to" or link.target != table.name:
        return f"{related.table}.{related.field} is not a Belongs To field pointing at {table.name}."
    return None


def related_key(table: TableMeta, related: Related, siblings: tuple[Related, ...]) -> str:
    """The record key related data goes under: a parent replaces its ID field; children go
    under the child table's name, or `<table>By<Field>` when that name is taken (a second
    relation from the same table, or a field of this table)."""
    if related.table is None:
        return related.field
    same_table = [r for r in siblings if r.table == related.table]
    if len(same_table) > 1 or related.table in table.fields:
        return f"{related.table}By{related.field[:1].upper()}{related.field[1:]}"
    return related.table


# ── what a method uses and returns ───────────────────────────────────────────────


def returned_action(method: Method) -> Action | None:
    wanted = method.returned_id
    return next((a for _, a, _ in walk(method.actions) if a.id == wanted), None)


RETURN_TYPES = {
    "create": "number",  # the new record's ID
    "select": "records",
    "update": "number",
    "delete": "number",
    "aggregate": "number",
}


def signature(method: Method, schema: SchemaMeta, name: str) -> dict[str, Any]:
    """The method as a client sees it: name, parameters with types and what it returns."""
    action = returned_action(method)
    returns: dict[str, Any] = {"type": "null"}
    if action is not None:
        returns = {"type": RETURN_TYPES[action.type], "action": action.id, "action_type": action.type}
        if action.type == "select":
            returns["table"] = action.table
    return {
        "name": name,
        "params": [{"name": n, "type": t} for n, t in declared_params(method, schema)],
        "returns": returns,
    }


def result_types(method: Method, schema: SchemaMeta) -> Any:
    """Which values of the method's result are dates (JSON carries them as epoch seconds):
    "datetime" for a min / max of a DateTime field; for records, a map of the DateTime
    fields, related data by its key with its own map; None for anything else."""
    action = returned_action(method)
    table = schema.tables.get(action.table) if action is not None else None
    if action is None or table is None:
        return None
    if action.type == "aggregate":
        target = table.fields.get(action.field or "")
        dated = target is not None and target.type == "datetime" and action.function in ("min", "max")
        return "datetime" if dated else None
    if action.type != "select":
        return None
    return _record_types(schema, table, action.related)


def _record_types(schema: SchemaMeta, table: TableMeta, related: tuple[Related, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {name: "datetime" for name, f in table.fields.items() if f.type == "datetime"}
    for r in related:
        link = table.fields.get(r.field)
        other = schema.tables.get(r.table or (link.target if link else None) or "")
        if other is not None:
            out[related_key(table, r, related)] = _record_types(schema, other)
    return out


def references(method: Method, schema: SchemaMeta) -> list[tuple[str, str | None, str]]:
    """(table, field or None for the table itself, place) of every name the method uses,
    so a schema change can tell which methods it would break."""
    out: list[tuple[str, str | None, str]] = [(method.table, None, "table")]
    out += [(method.table, p.field, f"params[{i}]") for i, p in enumerate(method.params) if p.field]
    for path, action, outer in walk(method.actions):
        out.append((action.table, None, f"{path}.table"))
        out += [(action.table, v.field, f"{path}.values[{i}]") for i, v in enumerate(action.values)]
        out += [(action.table, s.field, f"{path}.sort[{i}]") for i, s in enumerate(action.sort)]
        if action.field:
            out.append((action.table, action.field, f"{path}.field"))
        for i, r in enumerate(action.related):
            out.append((r.table or action.table, r.field, f"{path}.related[{i}]"))
            if r.table:
                out.append((r.table, None, f"{path}.related[{i}]"))
        for i, f in enumerate(action.filters):
            where = f"{path}.filters[{i}]"
            current = schema.tables.get(action.table)
            for step in f.via:
                child, _, link = step.partition(".")
                out += [(child, None, where), (child, link, where)] if link else [(action.table, step, where)]
                followed = follow(schema, current, step) if current is not None else None
                current = followed[0] if isinstance(followed, tuple) else None
                if current is not None:
                    out.append((current.name, None, where))
            if current is not None:
                out.append((current.name, f.field, where))
        rows = [a for a in outer if a.type in NESTING_TYPES]
        refs = [v.value for v in action.values] + [f.value for f in action.filters if f.value]
        for r in refs:
            if r.row is not None and rows:
                source = rows[-1] if r.action is None else next((a for a in rows if a.id == r.action), rows[-1])
                out.append((source.table, r.row, path))
    return out
