"""The API method compiler: a checked action tree and the app's tables in, a `Plan` of
parameterised SQL statements out. Pure — no I/O — and snapshot-tested
(tests/apimethods/test_actions_compiler.py).

Every action is one statement. Identifiers come from the app's table metadata and are
quoted by psycopg; every value is a `%s` placeholder cast to its column's type, described
by an `Arg` saying where the executor takes it from (a parameter, a field of an enclosing
row, or a column of the rows of the select a set-based statement runs for).

- Filters: AND binds tighter than OR (`a AND b OR c` is `(a AND b) OR c`). A filter across
  relations (`via`) is an `EXISTS` over the related tables, joined by their Belongs To
  fields; filters of one AND group with the same `via` share one `EXISTS`, so they must hold
  for the same related record ("a meal whose title contains X and whose chef is Y").
- A value that is missing (NULL) compares as SQL does: it matches nothing, so an empty
  parameter can only narrow an update or delete, never widen it to every record.
- Related data: a parent record replaces its ID (`row_to_json`), children come as an array
  (`json_agg`), both as sub-selects of the one statement.
- Nested actions in a select run set-based when they are writes (update, delete, create
  without nested writes of its own): one statement each, for all selected rows at once,
  whose row values arrive as arrays (`unnest(...) AS p`). Otherwise they run per row, in
  the same transaction, as prepared statements. Reads whose result nobody sees (a select or
  aggregate that is not returned and holds no writes) are not run at all.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from apimethods.actions.model import (
    NESTING_TYPES,
    TEXT_OPERATORS,
    TEXT_TYPES,
    Action,
    DefinitionError,
    Filter,
    Method,
    Ref,
    SchemaMeta,
    TableMeta,
    check,
    declared_params,
    follow,
    related_key,
)

# The PostgreSQL type each field type's values are cast to. Strings are `text`: a cast to
# varchar(255) would cut a long value silently (values are length-checked before binding).
PG_TYPES = {
    "string": "text",
    "text": "text",
    "integer": "int8",
    "belongs_to": "int8",
    "float": "float8",
    "boolean": "bool",
    "datetime": "timestamptz",
    "data": "bytea",
}
_COMPARE = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TAG = re.compile(r"^[A-Za-z0-9 :._-]{0,80}$")


@dataclass(frozen=True)
class Arg:
    """Where one placeholder's value comes from at run time.

    source: "param" (an input parameter), "row" (a field of the row of the enclosing
    `action`), or "column" (that field of every row of the select `action`: an array).
    to: the field type it is converted to. shape: "" or a text operator (the value becomes
    an ILIKE pattern) or "count" (a limit/offset)."""

    source: str
    name: str
    action: str = ""
    to: str = ""
    shape: str = ""


@dataclass(frozen=True)
class Related:
    """How one related-data column of a select becomes part of its records."""

    key: str
    parent: bool  # a parent record in place of the ID (else an array of children)
    datetimes: tuple[str, ...]  # fields of the related table that arrive as ISO text
    data: tuple[str, ...]  # fields that arrive as bytea hex text


@dataclass(frozen=True)
class Step:
    """One statement and what happens with its result.

    kind: "insert" (result: the new ID; `once` runs with the new record), "select"
    (records; `per_row` runs for each row, `set_based` once for all rows), "count" (rows
    changed), "aggregate" (a number), "exec" (no result: a set-based write)."""

    action: str
    kind: str
    sql: str
    args: tuple[Arg, ...]
    # The index in `args` of a select's LIMIT, which runs as a number in the text (see
    # with_limit), not as a parameter.
    limit_at: int | None = None
    columns: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    id_field: str = ""
    once: tuple[Step, ...] = ()
    per_row: tuple[Step, ...] = ()
    set_based: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    returned: str | None
    params: tuple[tuple[str, str], ...]
    # More than one statement may run: they share one transaction.
    atomic: bool

    def statements(self) -> Iterable[Step]:
        def visit(steps: tuple[Step, ...]) -> Iterable[Step]:
            for step in steps:
                yield step
                yield from visit(step.once + step.per_row + step.set_based)

        return visit(self.steps)


# ── fragments: SQL text with the args of its placeholders, in order ─────────────────


@dataclass(frozen=True)
class _Frag:
    text: sql.Composable
    args: tuple[Arg, ...] = ()

    def __add__(self, other: _Frag | str) -> _Frag:
        if isinstance(other, str):
            return _Frag(self.text + sql.SQL(other), self.args)
        return _Frag(self.text + other.text, self.args + other.args)


_LIMIT_TEXT = " LIMIT %s::int8"  # what select() writes for a limit from a parameter or row


def with_limit(sql: str, limit: int | None) -> str:
    """`sql` (a select compiled with a LIMIT parameter) with the limit written in as a
    number. A prepared `LIMIT $n` made PostgreSQL price its generic plan for a tenth of
    the table, so it planned the select again on every call (see docs/decisions.md)."""
    head, found, tail = sql.rpartition(_LIMIT_TEXT)
    assert found, "the select has no LIMIT parameter"
    return f"{head} LIMIT {'ALL' if limit is None else int(limit)}{tail}"


def _sql(text: str, *args: Arg) -> _Frag:
    return _Frag(sql.SQL(text), args)


def _join(frags: list[_Frag], separator: str) -> _Frag:
    return _Frag(sql.SQL(separator).join(f.text for f in frags), tuple(a for f in frags for a in f.args))


def _ident(*names: str) -> sql.Composable:
    return sql.Identifier(*names)


def _col(alias: str, name: str) -> _Frag:
    return _Frag(_ident(alias, name))


def _has_effect(action: Action) -> bool:
    return action.type in ("create", "update", "delete") or any(_has_effect(a) for a in action.actions)


@dataclass
class _Scope:
    """What a statement being compiled can see."""

    rows: tuple[Action, ...]  # enclosing selects and creates, outermost first
    joined: Action | None = None  # set-based: the select whose rows arrive as `p`
    columns: dict[tuple[str, str, str], str] = field(default_factory=dict)
    names: Any = field(default_factory=lambda: itertools.count(1))

    def alias(self, prefix: str) -> str:
        return f"{prefix}{next(self.names)}"


class _Compiler:
    def __init__(self, schema: SchemaMeta, returned: str | None) -> None:
        self.schema = schema
        self.returned = returned
        self.statements = 0

    def table(self, name: str) -> TableMeta:
        return self.schema.tables[name]

    def qualified(self, table: TableMeta, alias: str | None = None) -> _Frag:
        target = sql.SQL("{}.{}").format(_ident(self.schema.schema), _ident(table.name))
        if alias:
            target = sql.SQL("{} AS {}").format(target, _ident(alias))
        return _Frag(target)

    # values

    def value(self, ref: Ref, to: str, scope: _Scope, shape: str = "") -> _Frag:
        to = "integer" if to == "belongs_to" else to  # the same values, the same conversion
        cast = "text" if shape in TEXT_OPERATORS else PG_TYPES[to]
        if ref.param is not None:
            return _sql(f"%s::{cast}", Arg("param", ref.param, to=to, shape=shape))
        rows = [a for a in scope.rows if a.type in NESTING_TYPES]
        source = rows[-1] if ref.action is None else next(a for a in rows if a.id == ref.action)
        name = str(ref.row)
        if scope.joined is not None and source.id == scope.joined.id:
            key = (name, to, shape)
            if key not in scope.columns:
                scope.columns[key] = f"c{len(scope.columns)}"
            return _col("p", scope.columns[key])
        return _sql(f"%s::{cast}", Arg("row", name, action=source.id, to=to, shape=shape))

    def unnest(self, scope: _Scope) -> _Frag:
        """`unnest(%s::int8[], ...) AS p("c0", ...)`: the joined select's rows, one array per column."""
        assert scope.joined is not None
        arrays, names = [], []
        for (name, to, shape), column in scope.columns.items():
            cast = "text" if shape in TEXT_OPERATORS else PG_TYPES[to]
            arrays.append(_sql(f"%s::{cast}[]", Arg("column", name, scope.joined.id, to, shape)))
            names.append(_Frag(_ident(column)))
        return _sql("unnest(") + _join(arrays, ", ") + ") AS p(" + _join(names, ", ") + ")"

    # filters

    def condition(self, f: Filter, table: TableMeta, alias: str, scope: _Scope) -> _Frag:
        meta = table.fields[f.field]
        column = _col(alias, f.field)
        text = meta.type in TEXT_TYPES
        if f.op == "is_empty":
            return _sql("(") + column + " IS NULL OR " + column + " = '')" if text else column + " IS NULL"
        if f.op == "is_not_empty":
            return _sql("(") + column + " IS NOT NULL AND " + column + " <> '')" if text else column + " IS NOT NULL"
        assert f.value is not None
        if f.op in TEXT_OPERATORS:
            return column + " ILIKE " + self.value(f.value, meta.type, scope, shape=f.op)
        return column + f" {_COMPARE[f.op]} " + self.value(f.value, meta.type, scope)

    def exists(self, via: tuple[str, ...], filters: list[Filter], table: TableMeta, alias: str, scope: _Scope) -> _Frag:
        current, previous = table, alias
        source: _Frag | None = None
        link: _Frag | None = None
        for step in via:
            followed = follow(self.schema, current, step)
            assert not isinstance(followed, str)
            target, hop = followed
            here = scope.alias("r")
            if hop.parent:
                on = _col(here, target.id_field) + " = " + _col(previous, hop.field)
            else:
                on = _col(here, hop.field) + " = " + _col(previous, current.id_field)
            if source is None:
                source, link = self.qualified(target, here), on
            else:
                source = source + " JOIN " + self.qualified(target, here) + " ON " + on
            current, previous = target, here
        assert source is not None and link is not None
        conditions = [self.condition(f, current, previous, scope) for f in filters]
        return _sql("EXISTS (SELECT 1 FROM ") + source + " WHERE " + _join([link, *conditions], " AND ") + ")"

    def where(self, filters: tuple[Filter, ...], table: TableMeta, alias: str, scope: _Scope) -> _Frag | None:
        """The filter chain as one condition: OR of AND groups."""
        groups: list[list[Filter]] = []
        for f in filters:
            if not groups or f.join == "or":
                groups.append([])
            groups[-1].append(f)
        alternatives = []
        for group in groups:
            parts: list[_Frag] = []
            shared: dict[tuple[str, ...], list[Filter]] = {}
            order: list[Filter | tuple[str, ...]] = []
            for f in group:
                if not f.via:
                    order.append(f)
                elif f.via in shared:
                    shared[f.via].append(f)
                else:
                    shared[f.via] = [f]
                    order.append(f.via)
            for item in order:
                if isinstance(item, Filter):
                    parts.append(self.condition(item, table, alias, scope))
                else:
                    parts.append(self.exists(item, shared[item], table, alias, scope))
            joined = _join(parts, " AND ")
            alternatives.append(_sql("(") + joined + ")" if len(parts) > 1 and len(groups) > 1 else joined)
        if not alternatives:
            return None
        return _join(alternatives, " OR ")

    # statements

    def select_list(self, table: TableMeta, alias: str) -> _Frag:
        return _join([_col(alias, name) for name in table.fields], ", ")

    def related(self, action: Action, table: TableMeta, scope: _Scope) -> tuple[list[_Frag], list[Related]]:
        frags, shapes = [], []
        for item in action.related:
            key = related_key(table, item, action.related)
            here = scope.alias("j")
            if item.table is None:
                target = self.table(str(table.fields[item.field].target))
                frag = (
                    _sql("(SELECT row_to_json(")
                    + _Frag(_ident(here))
                    + ") FROM "
                    + self.qualified(target, here)
                    + " WHERE "
                    + _col(here, target.id_field)
                    + " = "
                    + _col("t", item.field)
                    + ")"
                )
            else:
                target = self.table(item.table)
                frag = (
                    _sql("(SELECT COALESCE(json_agg(")
                    + _Frag(_ident(here))
                    + " ORDER BY "
                    + _col(here, target.id_field)
                    + "), '[]') FROM "
                    + self.qualified(target, here)
                    + " WHERE "
                    + _col(here, item.field)
                    + " = "
                    + _col("t", table.id_field)
                    + ")"
                )
            frags.append(frag)
            shapes.append(
                Related(
                    key,
                    item.table is None,
                    tuple(f.name for f in target.fields.values() if f.type == "datetime"),
                    tuple(f.name for f in target.fields.values() if f.type == "data"),
                )
            )
        return frags, shapes

    def select(self, action: Action, scope: _Scope, returned: bool) -> Step:
        table = self.table(action.table)
        columns = self.select_list(table, "t")
        related_frags, shapes = self.related(action, table, scope) if returned else ([], [])
        for i, frag in enumerate(related_frags):
            columns = columns + ", " + frag + " AS " + _Frag(_ident(f"kiln_related_{i}"))
        statement = _sql("SELECT ") + columns + " FROM " + self.qualified(table, "t")
        condition = self.where(action.filters, table, "t", scope)
        if condition is not None:
            statement = statement + " WHERE " + condition
        order = [_col("t", s.field) + (" DESC" if s.descending else "") for s in action.sort]
        if table.id_field not in {s.field for s in action.sort}:
            # The ID breaks ties, so pages taken with limit and offset never overlap.
            order.append(_col("t", table.id_field))
        statement = statement + " ORDER BY " + _join(order, ", ")
        limit_at = None
        if action.limit is not None:
            limit = self.value(action.limit, "integer", scope, shape="count")
            if len(limit.args) == 1:
                limit_at = len(statement.args)
            statement = statement + " LIMIT " + limit
        if action.offset is not None:
            statement = statement + " OFFSET " + self.value(action.offset, "integer", scope, shape="count")
        nested = [a for a in action.actions if _has_effect(a)]
        per_row: tuple[Step, ...] = ()
        set_based: tuple[Step, ...] = ()
        if nested and all(self.settable(a) for a in nested):
            set_based = tuple(self.set_based(a, scope, action) for a in nested)
        elif nested:
            per_row = self.actions(tuple(nested), (*scope.rows, action))
        return self.step(
            action,
            "select",
            statement,
            columns=tuple(table.fields),
            related=tuple(shapes),
            per_row=per_row,
            set_based=set_based,
            limit_at=limit_at,
        )

    def settable(self, action: Action) -> bool:
        if action.type == "create":
            return bool(action.values) and not any(_has_effect(a) for a in action.actions)
        return action.type in ("update", "delete")

    def set_based(self, action: Action, scope: _Scope, joined: Action) -> Step:
        parent = self.table(joined.table)
        inner = _Scope((*scope.rows, joined), joined=joined)
        inner.columns[(parent.id_field, "integer", "")] = "c0"  # one row of p per selected row
        if action.type == "create":
            return self.insert(action, inner)
        if action.type == "update":
            return self.update(action, inner)
        return self.delete(action, inner)

    def insert(self, action: Action, scope: _Scope) -> Step:
        table = self.table(action.table)
        target = self.qualified(table)
        names = _join([_Frag(_ident(v.field)) for v in action.values], ", ")
        values = [self.value(v.value, table.fields[v.field].type, scope) for v in action.values]
        if scope.joined is not None:
            statement = (
                _sql("INSERT INTO ") + target + " (" + names + ") SELECT " + _join(values, ", ") + " FROM "
            ) + self.unnest(scope)
            return self.step(action, "exec", statement)
        once = self.actions(action.actions, (*scope.rows, action))
        if values:
            statement = _sql("INSERT INTO ") + target + " (" + names + ") VALUES (" + _join(values, ", ") + ")"
        else:
            statement = _sql("INSERT INTO ") + target + " DEFAULT VALUES"
        returning = tuple(table.fields) if once else (table.id_field,)
        statement = statement + " RETURNING " + _join([_Frag(_ident(n)) for n in returning], ", ")
        return self.step(action, "insert", statement, columns=returning, id_field=table.id_field, once=once)

    def update(self, action: Action, scope: _Scope) -> Step:
        table = self.table(action.table)
        sets, changed = [], []
        for assign in action.values:
            kind = table.fields[assign.field].type
            sets.append(_Frag(_ident(assign.field)) + " = " + self.value(assign.value, kind, scope))
            # Count records whose values change, as MySQL does: skip those already holding them.
            changed.append(_col("t", assign.field) + " IS DISTINCT FROM " + self.value(assign.value, kind, scope))
        condition = self.where(action.filters, table, "t", scope)
        statement = _sql("UPDATE ") + self.qualified(table, "t") + " SET " + _join(sets, ", ")
        if scope.joined is not None:
            statement = statement + " FROM " + self.unnest(scope)
        guard = _sql("(") + _join(changed, " OR ") + ")"
        if condition is not None:
            guard = _sql("(") + condition + ") AND " + guard
        return self.step(action, "exec" if scope.joined else "count", statement + " WHERE " + guard)

    def delete(self, action: Action, scope: _Scope) -> Step:
        table = self.table(action.table)
        condition = self.where(action.filters, table, "t", scope)
        kind = "exec" if scope.joined else "count"
        if not action.related:
            statement = _sql("DELETE FROM ") + self.qualified(table, "t")
            if scope.joined is not None:
                statement = statement + " USING " + self.unnest(scope)
            if condition is not None:
                statement = statement + " WHERE " + condition
            return self.step(action, kind, statement)
        # TRICKY: the records to delete are chosen once, in a CTE, before their children go:
        # the children must go first (a "prevent" relation refuses otherwise), and a filter
        # across those children would no longer match once they are gone. Sub-statements of
        # one WITH share one snapshot, and foreign keys are checked at its end.
        ids = _sql("SELECT ") + _col("t", table.id_field) + " FROM " + self.qualified(table, "t")
        if scope.joined is not None:
            ids = ids + ", " + self.unnest(scope)
        if condition is not None:
            ids = ids + " WHERE " + condition
        ctes = [_sql("kiln_ids AS (") + ids + ")"]
        for i, item in enumerate(action.related):
            child = self.table(str(item.table))
            ctes.append(
                _Frag(_ident(f"kiln_related_{i}"))
                + " AS (DELETE FROM "
                + self.qualified(child, "c")
                + " USING kiln_ids WHERE "
                + _col("c", item.field)
                + " = "
                + _col("kiln_ids", table.id_field)
                + ")"
            )
        statement = (
            _sql("WITH ")
            + _join(ctes, ", ")
            + " DELETE FROM "
            + self.qualified(table, "t")
            + " USING kiln_ids WHERE "
            + _col("t", table.id_field)
            + " = "
            + _col("kiln_ids", table.id_field)
        )
        return self.step(action, kind, statement)

    def aggregate(self, action: Action, scope: _Scope) -> Step:
        table = self.table(action.table)
        function = action.function
        if function == "count":
            expression = _sql("count(*)")
        elif function == "count_distinct":
            expression = _sql("count(DISTINCT ") + _col("t", str(action.field)) + ")"
        else:
            expression = _sql(f"{function}(") + _col("t", str(action.field)) + ")"
            if table.fields[str(action.field)].type == "datetime":
                # The earliest / latest date as a number: seconds since 1970.
                expression = _sql("extract(epoch FROM ") + expression + ")"
        statement = _sql("SELECT ") + expression + " FROM " + self.qualified(table, "t")
        condition = self.where(action.filters, table, "t", scope)
        if condition is not None:
            statement = statement + " WHERE " + condition
        return self.step(action, "aggregate", statement)

    def step(self, action: Action, kind: str, statement: _Frag, **extra: Any) -> Step:
        self.statements += 1
        return Step(action.id, kind, statement.text.as_string(None), statement.args, **extra)

    # the tree

    def action(self, action: Action, rows: tuple[Action, ...]) -> Step:
        scope = _Scope(rows)
        if action.type == "create":
            return self.insert(action, scope)
        if action.type == "select":
            return self.select(action, scope, returned=action.id == self.returned)
        if action.type == "update":
            return self.update(action, scope)
        if action.type == "delete":
            return self.delete(action, scope)
        return self.aggregate(action, scope)

    def actions(self, actions: tuple[Action, ...], rows: tuple[Action, ...]) -> tuple[Step, ...]:
        # A read whose result nobody sees and that holds no writes would change nothing.
        return tuple(self.action(a, rows) for a in actions if a.id == self.returned or _has_effect(a))


def compile_method(method: Method, schema: SchemaMeta, tag: str = "") -> Plan:
    """The method's plan against these tables; DefinitionError when it does not fit them.

    tag: appended to every statement as a comment (the executor puts the schema version
    there, so a prepared statement is never reused across a change of column types)."""
    problems = check(method, schema)
    if problems:
        raise DefinitionError(problems)
    if not _TAG.match(tag):
        raise ValueError(f"bad statement tag {tag!r}")
    compiler = _Compiler(schema, method.returned_id)
    steps = compiler.actions(method.actions, ())
    if tag:
        steps = tuple(_tagged(step, tag) for step in steps)
    # One statement is atomic by itself; more share a transaction.
    single = len(steps) == 1 and not (steps[0].once or steps[0].per_row or steps[0].set_based)
    return Plan(steps, method.returned_id, tuple(declared_params(method, schema)), atomic=not single)


def _tagged(step: Step, tag: str) -> Step:
    from dataclasses import replace

    return replace(
        step,
        sql=f"{step.sql} /* {tag} */",
        once=tuple(_tagged(s, tag) for s in step.once),
        per_row=tuple(_tagged(s, tag) for s in step.per_row),
        set_based=tuple(_tagged(s, tag) for s in step.set_based),
    )
