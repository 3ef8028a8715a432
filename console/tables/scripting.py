"""The database a KScript sees (runtime.host.Database): the app's own tables by alias.

`script_database(app_id)` opens one transaction as the app's role for a whole
invocation; every statement in it runs in its own savepoint, so a failed statement
becomes a failure value in the script without poisoning the rest of the run, and an
exception that ends the run rolls everything back. Structured requests (K.select,
K.insert, K.update, K.delete) compile to SQL through the pure `compose_*` functions
below; K.query goes through the SQL gate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError, transaction
from psycopg import sql

from console.tables import ddl
from console.tables.isolation import app_cursor
from console.tables.models import Table
from console.tables.values import BadValue, to_db, to_wire
from runtime.host import FILTER_OPS, HostError

MAGIC_FIELDS = {"timeCreated": "datetime", "timeUpdated": "datetime"}


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    id_field: str
    # lower-case name -> (real name, field type)
    columns: Mapping[str, tuple[str, str]]

    def column(self, name: str) -> tuple[str, str]:
        found = self.columns.get(name.lower())
        if found is None:
            raise HostError(f"Table {self.name} has no field {name!r}")
        return found


def load_tables(app_id: int) -> dict[str, TableInfo]:
    tables: dict[str, TableInfo] = {}
    for table in Table.objects.filter(app_id=app_id).prefetch_related("fields"):
        columns = {table.id_field.lower(): (table.id_field, "integer")}
        columns.update({name.lower(): (name, kind) for name, kind in MAGIC_FIELDS.items()})
        columns.update({f.name.lower(): (f.name, f.type) for f in table.fields.all()})
        tables[table.alias.lower()] = TableInfo(table.schema, table.name, table.id_field, columns)
    return tables


# ── pure SQL composition for structured requests ───────────────────────────────

_OPS = {op: sql.SQL(op) for op in FILTER_OPS if op not in {"IN", "NOT IN"}}


def _where(table: TableInfo, filters: Sequence[Mapping[str, Any]]) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for item in filters:
        column, kind = table.column(str(item["field"]))
        op = str(item["op"]).upper()
        value = item.get("value")
        ident = sql.Identifier(column)
        if op in {"IN", "NOT IN"}:
            values = [_bind(kind, v) for v in (value if isinstance(value, list) else [value])]
            negate = sql.SQL("NOT ") if op == "NOT IN" else sql.SQL("")
            parts.append(sql.SQL("{}({} = ANY(%s))").format(negate, ident))
            params.append(values)
        elif value is None and op in {"=", "!="}:
            parts.append(sql.SQL("{} IS {}NULL").format(ident, sql.SQL("NOT " if op == "!=" else "")))
        elif op in _OPS:
            parts.append(sql.SQL("{} {} %s").format(ident, _OPS[op]))
            params.append(value if op.endswith("LIKE") else _bind(kind, value))
        else:
            raise HostError(f"Unknown filter operator {op!r}")
    if not parts:
        return sql.SQL(""), params
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params


def compose_select(table: TableInfo, request: Mapping[str, Any]) -> tuple[sql.Composed, list[Any]]:
    where, params = _where(table, request.get("filters") or [])
    order = [
        sql.SQL("{} {}").format(
            sql.Identifier(table.column(str(s["field"]))[0]),
            sql.SQL("DESC" if str(s.get("direction", "ASC")).upper() == "DESC" else "ASC"),
        )
        for s in request.get("sort") or []
    ]
    query = sql.SQL("SELECT * FROM {}.{}{}").format(sql.Identifier(table.schema), sql.Identifier(table.name), where)
    if order:
        query += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(order)
    if request.get("limit") is not None:
        query += sql.SQL(" LIMIT %s")
        params.append(int(request["limit"]))
    if request.get("offset"):
        query += sql.SQL(" OFFSET %s")
        params.append(int(request["offset"]))
    return query, params


def compose_insert(table: TableInfo, values: Mapping[str, Any]) -> tuple[sql.Composed, list[Any]]:
    pairs = [(table.column(k), v) for k, v in values.items()]
    target = sql.SQL("{}.{}").format(sql.Identifier(table.schema), sql.Identifier(table.name))
    returning = sql.Identifier(table.id_field)
    if not pairs:
        return sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING {}").format(target, returning), []
    columns = sql.SQL(", ").join(sql.Identifier(col) for (col, _), _ in pairs)
    marks = sql.SQL(", ").join(sql.Placeholder() for _ in pairs)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(target, columns, marks, returning)
    return query, [_bind(kind, v) for (_, kind), v in pairs]


def compose_update(table: TableInfo, request: Mapping[str, Any]) -> tuple[sql.Composed, list[Any]]:
    pairs = [(table.column(k), v) for k, v in (request.get("values") or {}).items()]
    if not pairs:
        raise HostError("K.update needs at least one field to set")
    where, where_params = _where(table, request.get("filters") or [])
    sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(col)) for (col, _), _ in pairs)
    # Count rows actually changed, not rows matched: skip rows already holding the values.
    changed = sql.SQL(" OR ").join(
        sql.SQL("{} IS DISTINCT FROM %s").format(sql.Identifier(col)) for (col, _), _ in pairs
    )
    values = [_bind(kind, v) for (_, kind), v in pairs]
    joiner = sql.SQL(" AND ") if where_params or request.get("filters") else sql.SQL(" WHERE ")
    query = sql.SQL("UPDATE {}.{} SET {}{}{}({})").format(
        sql.Identifier(table.schema), sql.Identifier(table.name), sets, where, joiner, changed
    )
    return query, [*values, *where_params, *values]


def compose_delete(table: TableInfo, request: Mapping[str, Any]) -> tuple[sql.Composed, list[Any]]:
    filters = request.get("filters") or []
    if not filters and not request.get("force_all"):
        raise HostError("K.delete without a filter deletes every record; call .forceDeleteAll() to mean it")
    where, params = _where(table, filters)
    return sql.SQL("DELETE FROM {}.{}{}").format(
        sql.Identifier(table.schema), sql.Identifier(table.name), where
    ), params


def _bind(kind: str, value: Any) -> Any:
    if kind == "datetime" and isinstance(value, str) and not value.replace(".", "", 1).lstrip("-").isdigit():
        try:
            value = datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    try:
        return to_db(kind, value)
    except BadValue as exc:
        raise HostError(str(exc)) from exc


def _row(columns: list[str], row: Sequence[Any]) -> dict[str, Any]:
    return {name: to_wire(value) for name, value in zip(columns, row, strict=True)}


# ── the host object ────────────────────────────────────────────────────────────


class ScriptDatabase:
    def __init__(self, app_id: int, cursor: Any, tables: dict[str, TableInfo]) -> None:
        self.app_id = app_id
        self.cursor = cursor
        # Loaded before the cursor took the app's identity: the app role cannot read
        # Kiln's own tables, which is the point.
        self.tables = tables

    def _table(self, alias: str) -> TableInfo:
        table = self.tables.get(str(alias).lower())
        if table is None:
            raise HostError(f"No table with the alias {alias!r} in this app")
        return table

    def _execute(self, query: Any, params: Sequence[Any]) -> Any:
        try:
            with transaction.atomic():  # a savepoint: a failed statement spoils nothing else
                self.cursor.execute(query, params)
                if self.cursor.description is None:
                    return None
                columns = [c.name for c in self.cursor.description]
                return [_row(columns, row) for row in self.cursor.fetchall()]
        except DatabaseError as exc:
            raise HostError(str(exc).strip().splitlines()[0]) from exc

    def run(self, request: Mapping[str, Any]) -> list[dict[str, Any]] | int:
        table = self._table(str(request["table"]))
        action = request["action"]
        if action == "select":
            return self._execute(*compose_select(table, request)) or []
        if action == "insert":
            rows = self._execute(*compose_insert(table, request.get("values") or {}))
            return int(rows[0][table.id_field])
        composed = compose_update(table, request) if action == "update" else compose_delete(table, request)
        self._execute(*composed)
        return int(self.cursor.rowcount)

    def query(self, query: str, params: Sequence[Any]) -> list[dict[str, Any]] | int:
        from console.tables import sqlgate

        aliases = {
            alias: sqlgate.GateTable(alias, table.name, [real for real, _ in table.columns.values()])
            for alias, table in self.tables.items()
        }
        try:
            compiled = sqlgate.compile_query(query, aliases, ddl.schema_name(self.app_id), list(params))
        except sqlgate.GateError as exc:
            raise HostError(str(exc)) from exc
        rows = self._execute(compiled.sql, compiled.params)
        if rows is not None:
            return rows
        return int(self.cursor.rowcount)


@contextmanager
def script_database(app_id: int, timeout_ms: int | None = None) -> Iterator[ScriptDatabase]:
    tables = load_tables(app_id)
    with app_cursor(app_id, timeout_ms=timeout_ms) as cursor:
        yield ScriptDatabase(app_id, cursor, tables)
