"""The database a KScript sees (runtime.host.Database): the app's own tables by alias.

`script_database(app_id)` is one transaction on the app's own connection (see
isolation.py) for a whole invocation: it commits when the run ends and rolls back when it
raises, so a script that throws after writing leaves nothing written. The transaction
starts lazily, at the first statement that may write; reads before it run on their own
(READ COMMITTED gives each statement a fresh snapshot either way), so a read-only script
costs one round trip per statement. A failed statement becomes a failure value in the
script without poisoning the rest of the run: it runs in a savepoint once something has
been written, and before that a failure simply ends the (empty) transaction.

The invocation has one deadline. When it passes during a host call, the runtime calls
`ScriptDatabase.interrupt` from the waiting thread: the running statement is cancelled
(PostgreSQL's cancel request, asked again while the call is still busy), no statement
starts after it, and the invocation rolls back. Statements inside the transaction also get
a statement timeout of at most the time left, set with the BEGIN or SAVEPOINT that is sent
anyway; reads outside it rely on the cancel.

Table metadata is cached per process by app and schema version (`TableSequence.
schema_version`, bumped by every schema change in the same transaction), so a change made
by one process is seen by the next request in any other. Structured requests (K.select,
K.insert, K.update, K.delete) compile to SQL through the pure `compose_*` functions
below; K.query goes through the SQL gate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any, TypeVar

import psycopg
from django.db import DatabaseError, connection
from psycopg import pq, sql

from console.tables import ddl
from console.tables.isolation import (
    AppConnection,
    AppCursor,
    database_name,
    default_timeout_ms,
    detach,
    leaser,
    release,
)
from console.tables.models import Table, TableSequence
from console.tables.values import BadValue, to_db, to_wire
from runtime.host import FILTER_OPS, HostError, JSONText
from runtime.limits import Deadline

T = TypeVar("T")

MAGIC_FIELDS = {"timeCreated": "datetime", "timeUpdated": "datetime"}


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    id_field: str
    # lower-case name -> (real name, field type)
    columns: Mapping[str, tuple[str, str]]
    alias: str  # the table's alias now (earlier ones map to it too)

    @cached_property
    def select_list(self) -> tuple[tuple[str, str], ...]:
        """Every column as (real name, field type), in the table's order."""
        return tuple(self.columns.values())

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
        info = TableInfo(table.schema, table.name, table.id_field, columns, table.alias)
        # Every alias the table ever had maps to it, so a rename never breaks deployed code;
        # built once per schema version, so the lookup stays one dict access.
        for alias in table.aliases:
            tables[alias.lower()] = info
    return tables


UNKNOWN_VERSION = object()
_MAX_CACHED_APPS = 1000
# (database, app) -> (schema version, tables by lower-cased alias)
_tables_cache: dict[tuple[str, int], tuple[int, dict[str, TableInfo]]] = {}
NO_TABLES_YET = -1  # the version of an app that never had a table (no TableSequence row)


def schema_version(app_id: int) -> int:
    """The app's schema version (NO_TABLES_YET before its first table)."""
    version = TableSequence.objects.filter(app_id=app_id).values_list("schema_version", flat=True).first()
    return NO_TABLES_YET if version is None else int(version)


def app_tables(app_id: int, version: Any = UNKNOWN_VERSION) -> dict[str, TableInfo]:
    """The app's tables, from the cache when `version` (read before this call) still matches."""
    return versioned_tables(app_id, version)[1]


def versioned_tables(app_id: int, version: Any = UNKNOWN_VERSION) -> tuple[int, dict[str, TableInfo]]:
    if version is UNKNOWN_VERSION:
        version = schema_version(app_id)
    key = (database_name(), int(app_id))
    cached = _tables_cache.get(key)
    if cached is not None and cached[0] == version:
        return cached
    tables = load_tables(app_id)
    # Not from inside a platform transaction: its schema changes may still roll back.
    if not connection.in_atomic_block:
        if len(_tables_cache) >= _MAX_CACHED_APPS:
            _tables_cache.clear()
        _tables_cache[key] = (version, tables)
    return version, tables


def may_write(query: str) -> bool:
    """Could this gated statement change data? Errs on yes: any DML word anywhere."""
    words = query.upper()
    return any(word in words for word in ("INSERT", "UPDATE", "DELETE"))


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


def select_statement(table: TableInfo, request: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """K.select as SQL text and parameters: one row per record, each a JSON object of its
    wire values (see _select_text). The text depends only on the request's shape (columns,
    operators, NULL tests, sort, the limit, whether an offset is given), so it is built once
    per shape: composing it is most of the Python time of a small select."""
    filters: list[tuple[str, str, str]] = []  # (column, operator, "any" | "null" | "value")
    params: list[Any] = []
    for item in request.get("filters") or []:
        column, kind = table.column(str(item["field"]))
        op = str(item["op"]).upper()
        value = item.get("value")
        if op in {"IN", "NOT IN"}:
            filters.append((column, op, "any"))
            params.append([_bind(kind, v) for v in (value if isinstance(value, list) else [value])])
        elif value is None and op in {"=", "!="}:
            filters.append((column, op, "null"))
        elif op in _OPS:
            filters.append((column, op, "value"))
            params.append(value if op.endswith("LIKE") else _bind(kind, value))
        else:
            raise HostError(f"Unknown filter operator {op!r}")
    order = tuple(
        (table.column(str(s["field"]))[0], "DESC" if str(s.get("direction", "ASC")).upper() == "DESC" else "ASC")
        for s in request.get("sort") or []
    )
    # TRICKY: the limit goes into the text. A prepared `LIMIT $n` makes PostgreSQL guess a
    # tenth of the rows, so the generic plan always looks dearer than a custom one and every
    # call is planned anew (some 35 µs of the server's CPU for a 20-row select). Clients use
    # a handful of page sizes; the offset, which pages through, stays a parameter.
    limit = None if request.get("limit") is None else int(request["limit"])
    has_offset = bool(request.get("offset"))
    if has_offset:
        params.append(int(request["offset"]))
    text = _select_text(table.schema, table.name, table.select_list, tuple(filters), order, limit, has_offset)
    return text, params


# Wire values made by PostgreSQL: datetimes as epoch seconds, data as base64 on one line
# (encode() breaks it every 76 characters); every other type's JSON is already the wire's.
_PLAIN_COLUMN = sql.SQL("{}")
_WIRE_COLUMN = {
    "datetime": sql.SQL("floor(extract(epoch FROM {0}))::int8 AS {0}"),
    "data": sql.SQL("translate(encode({0}, 'base64'), E'\\n', '') AS {0}"),
}


@lru_cache(maxsize=4096)
def _select_text(
    schema: str,
    name: str,
    columns: tuple[tuple[str, str], ...],
    filters: tuple[tuple[str, str, str], ...],
    order: tuple[tuple[str, str], ...],
    limit: int | None,
    has_offset: bool,
) -> str:
    parts: list[sql.Composable] = []
    for column, op, form in filters:
        ident = sql.Identifier(column)
        if form == "any":
            negate = sql.SQL("NOT ") if op == "NOT IN" else sql.SQL("")
            parts.append(sql.SQL("{}({} = ANY(%s))").format(negate, ident))
        elif form == "null":
            parts.append(sql.SQL("{} IS {}NULL").format(ident, sql.SQL("NOT " if op == "!=" else "")))
        else:
            parts.append(sql.SQL("{} {} %s").format(ident, _OPS[op]))
    select_list = sql.SQL(", ").join(
        _WIRE_COLUMN.get(kind, _PLAIN_COLUMN).format(sql.Identifier(column)) for column, kind in columns
    )
    query = sql.SQL("SELECT {} FROM {}.{}").format(select_list, sql.Identifier(schema), sql.Identifier(name))
    if parts:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts)
    if order:
        query += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(direction)) for column, direction in order
        )
    if limit is not None:
        query += sql.SQL(" LIMIT {}").format(sql.Literal(limit))
    if has_offset:
        query += sql.SQL(" OFFSET %s")
    # Each record leaves PostgreSQL as its JSON text, which goes to the script as it is:
    # loading every value into Python, building a dict per row and encoding them again cost
    # the web process 50–80 µs more than the JSON costs PostgreSQL (a 20-row select). The JSON is
    # built outside the sorted, limited query, so only the rows returned pay for it, and the
    # outer query only projects: its rows come in the inner query's order. TRICKY: `r.*`,
    # not `r`, which would name a field called "r" rather than the row.
    return sql.SQL("SELECT row_to_json(r.*)::text FROM ({}) r").format(query).as_string(None)


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


_PLAIN = frozenset({str, int, float, bool, type(None)})  # already JSON: to_wire keeps them
# PostgreSQL types psycopg loads as JSON values (bool, int2/4/8, name, text, float4/8,
# bpchar, varchar): their columns need no look at each value.
_PLAIN_TYPES = frozenset({16, 20, 21, 23, 19, 25, 700, 701, 1042, 1043})
_TIMESTAMPTZ = 1184


def _wire_value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is datetime and value.tzinfo is not None:
        return math.floor(value.timestamp())  # values.epoch_seconds, in C
    return to_wire(value)


def _epoch(value: Any) -> Any:
    return None if value is None else math.floor(value.timestamp())


def _rows(result: pq.abc.PGresult, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows as wire dicts. The columns decide the work: plain ones are copied as they are,
    timestamptz ones become epoch seconds, any other type is looked at value by value.
    Column names and types come from the result itself (`cursor.description` builds an
    object per column on every call)."""
    columns = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
    fixes = [
        (i, columns[i], _epoch if kind == _TIMESTAMPTZ else _wire_value)
        for i in range(result.nfields)
        if (kind := result.ftype(i)) not in _PLAIN_TYPES
    ]
    out = []
    for row in rows:
        record = dict(zip(columns, row))  # noqa: B905 - a row has exactly its description's columns
        for i, name, fix in fixes:
            record[name] = fix(row[i])
        out.append(record)
    return out


def _json_rows(result: pq.abc.PGresult) -> JSONText:
    """The rows of a statement that returns one JSON text per row, as one JSON array."""
    texts = [result.get_value(i, 0) for i in range(result.ntuples)]  # row_to_json is never NULL
    return JSONText(b"[%s]" % b",".join(texts), "utf-8")


# ── the host object ────────────────────────────────────────────────────────────


TIME_UP = "the invocation's time limit has passed"
# How long `interrupt` keeps asking PostgreSQL to cancel a statement that still runs.
_INTERRUPT_S = 1.0
_CANCEL_AGAIN_S = 0.05
_CANCEL_TIMEOUT_S = 0.5


class ScriptDatabase:
    """The database of one invocation. `deadline`: when the invocation ends; no statement
    runs past it (see `interrupt`), and none is given a longer statement timeout than the
    time left where that costs no round trip."""

    def __init__(
        self,
        app_id: int,
        tables: dict[str, TableInfo],
        timeout_ms: int,
        version: int | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.app_id = app_id
        self.version = version
        # Loaded from the platform connection: the app role cannot read Kiln's own tables,
        # which is the point.
        self.tables = tables
        self.timeout_ms = timeout_ms
        self.deadline = deadline
        # A host call is doing database work (set under _guard, so `interrupt` and `finish`
        # either see it or keep it from starting).
        self._guard = threading.Lock()
        self._busy = False
        self._interrupted = False  # no statement starts any more
        self._finished = False
        self._connection: AppConnection | None = None
        self._own: AppCursor | None = None  # for the SQL composed here
        self._user: AppCursor | None = None  # for K.query's
        self._last: AppCursor | None = None  # the cursor of the latest statement (its rowcount)
        # Leased on first use, bound to this (the request's) thread's invocation: the
        # script's host calls run on V8's thread.
        self._lease = leaser(app_id)
        self._gate_tables: dict[str, Any] | None = None

    def _connected(self) -> AppConnection:
        """The invocation's app connection (leased on first use)."""
        if self._connection is None:
            self._connection = self._lease()
            with self._guard:
                if self._finished:  # `finish` ran meanwhile: share it with nobody
                    detach(self._connection)
        return self._connection

    def finish(self, *, commit: bool) -> None:
        """End the invocation: commit what it wrote, or roll it all back."""
        with self._guard:
            self._finished = self._interrupted = True
            busy = self._busy
        if busy:
            # A host call outlived its run (the engine stops waiting for an interrupted one
            # after a grace): it rolls back and releases the connection when it ends. Until
            # then nobody else may lease it, this thread's next invocation included.
            assert not commit, "a run cannot succeed while its host call still runs"
            if self._connection is not None:
                detach(self._connection)
            return
        self._release(commit=commit)

    def _release(self, *, commit: bool) -> None:
        leased, self._connection = self._connection, None
        if leased is None:
            return
        if commit:
            release(leased, commit=True)
            return
        try:
            release(leased, commit=False)
        except DatabaseError:
            # The rollback itself failed (a cancel landing on it, a lost server): the
            # release closed the connection, which ends the transaction all the same. The
            # caller's own failure is the one to report.
            pass

    def interrupt(self) -> None:
        """Stop the database work of this invocation's host call, from another thread: the
        deadline has passed (runtime.Host.interrupt). No statement starts after this."""
        with self._guard:
            self._interrupted = True
            busy = self._busy
        if not busy:
            return
        # TRICKY: a cancel request that reaches the backend between two statements, or
        # before it has read the statement, is ignored: ask again while the call is busy.
        give_up = time.monotonic() + _INTERRUPT_S
        while self._busy and time.monotonic() < give_up:
            current = self._connection
            if current is not None:
                try:
                    current.conn.cancel_safe(timeout=_CANCEL_TIMEOUT_S)
                except psycopg.Error:
                    pass  # a lost connection: its statement ends by itself
            asked = time.monotonic()
            while self._busy and time.monotonic() - asked < _CANCEL_AGAIN_S:
                time.sleep(0.002)

    def _timeout_ms(self) -> int:
        """The statement timeout for the next statement: the configured one, or the time
        left before the deadline when that is shorter."""
        if self.deadline is None:
            return self.timeout_ms
        left = math.ceil(self.deadline.remaining() * 1000)
        if left <= 0:
            raise HostError(TIME_UP)
        return min(self.timeout_ms, left)

    def _gate(self) -> dict[str, Any]:
        """The app's tables as K.query's gate sees them, by every alias they answer to."""
        from console.tables import sqlgate

        if self._gate_tables is None:
            self._gate_tables = {
                alias: sqlgate.GateTable(
                    alias,
                    table.name,
                    [real for real, _ in table.columns.values()],
                    current=alias == table.alias.lower(),
                )
                for alias, table in self.tables.items()
            }
        return self._gate_tables

    def _table(self, alias: str) -> TableInfo:
        table = self.tables.get(str(alias).lower())
        if table is None:
            from console.tables import sqlgate

            raise HostError(
                f"No table with the alias {alias!r} in this app.{sqlgate.alias_hint(alias, self._gate().values())}"
            )
        return table

    def _cursor(self, current: AppConnection, source: str) -> AppCursor:
        if source == "prepared":
            return current.prepared_cursor()
        if source == "user":
            # Marks the connection, so its settings are reset even after a read that ran
            # outside a transaction (set_config(..., false) lasts the session).
            if self._user is None:
                self._user = current.cursor()
            return self._user
        if self._own is None:
            self._own = current.own_cursor()
        return self._own

    def _statement(self, current: AppConnection, query: Any, params: Sequence[Any], source: str, as_json: bool) -> Any:
        cursor = self._last = self._cursor(current, source)
        if self._interrupted:  # since the savepoint (`interrupt` keeps cancelling anyway)
            raise HostError(TIME_UP)
        cursor.execute(query, params, prepare=True if source == "prepared" else None)
        result = cursor.pgresult
        if result is None or result.status != pq.ExecStatus.TUPLES_OK:
            return None  # no rows to return (UPDATE, DELETE...)
        if as_json:
            return _json_rows(result)
        return _rows(result, cursor.fetchall())

    def _execute(
        self, query: Any, params: Sequence[Any], *, writes: bool = True, source: str = "own", as_json: bool = False
    ) -> Any:
        """Run one statement: `source` is "own" (SQL composed here), "prepared" (the same,
        planned once per connection) or "user" (K.query's, through the gate). `as_json`:
        the statement returns one JSON text per row (select_statement's), and the rows
        come back as one JSONText array."""
        return self.work(lambda current: self._statement(current, query, params, source, as_json), writes=writes)

    def work(self, task: Callable[[AppConnection], T], *, writes: bool = True) -> T:
        """Run `task` on the invocation's connection as one statement of the script runs: in
        its transaction (begun here when `writes`), in a savepoint once one is open (a
        failure takes back only the task's own writes), with the time left as statement
        timeout, cancelled by `interrupt`. Kiln-composed work only (a drag-and-drop API
        method's statements, K.callAPIMethod). A database error becomes a HostError."""
        with self._guard:
            if self._interrupted:
                raise HostError(TIME_UP)
            self._busy = True
        try:
            return self._work_now(task, writes)
        finally:
            with self._guard:
                self._busy = False
                orphaned = self._finished
            if orphaned:  # `finish` left the release to this call
                self._release(commit=False)

    def _work_now(self, task: Callable[[AppConnection], T], writes: bool) -> T:
        timeout_ms = self._timeout_ms()
        current = self._connected()
        try:
            if current.in_transaction():
                # A failed statement spoils nothing else. The time left rides along with the
                # savepoint; a statement outside a transaction is bounded by `interrupt`.
                with current.savepoint(None if timeout_ms == current.timeout_ms else timeout_ms):
                    return task(current)
            if not writes and self.timeout_ms == current.timeout_ms:
                # A read before any write: no transaction.
                return task(current)
            current.begin(timeout_ms)
            try:
                return task(current)
            except BaseException:
                current.rollback()  # nothing was written before this statement
                raise
        except DatabaseError as exc:
            if self._interrupted:
                raise HostError(TIME_UP) from exc
            raise HostError(str(exc).strip().splitlines()[0]) from exc

    def _rowcount(self) -> int:
        assert self._last is not None
        return int(self._last.rowcount)

    def run(self, request: Mapping[str, Any]) -> JSONText | int:
        table = self._table(str(request["table"]))
        action = request["action"]
        if action == "select":
            text, params = select_statement(table, request)
            # TRICKY: a prepared SELECT fails once a column's type changes ("cached plan must
            # not change result type"); the schema version in the text makes a new one.
            text = f"{text} /* schema {self.version} */"
            source = "own" if self.version is None else "prepared"
            return self._execute(text, params, writes=False, source=source, as_json=True)
        if action == "insert":
            rows = self._execute(*compose_insert(table, request.get("values") or {}))
            return int(rows[0][table.id_field])
        composed = compose_update(table, request) if action == "update" else compose_delete(table, request)
        self._execute(*composed)
        return self._rowcount()

    def query(self, query: str, params: Sequence[Any]) -> list[dict[str, Any]] | int:
        from console.tables import sqlgate

        try:
            compiled = sqlgate.compile_query(query, self._gate(), ddl.schema_name(self.app_id), list(params))
        except sqlgate.GateError as exc:
            raise HostError(str(exc)) from exc
        writes = compiled.kind != "select" or may_write(compiled.sql)
        rows = self._execute(compiled.sql, compiled.params, writes=writes, source="user")
        if rows is not None:
            return rows
        return self._rowcount()


@contextmanager
def script_database(
    app_id: int, timeout_ms: int | None = None, version: Any = UNKNOWN_VERSION, deadline: Deadline | None = None
) -> Iterator[ScriptDatabase]:
    """The app's database for one invocation: committed when the block ends, rolled back
    when it raises. `version`: the app's schema version if the caller already read it;
    `deadline`: the invocation's."""
    version, tables = versioned_tables(app_id, version)
    database = ScriptDatabase(app_id, tables, default_timeout_ms(timeout_ms), version, deadline)
    try:
        yield database
    except BaseException:
        database.finish(commit=False)
        raise
    database.finish(commit=True)
