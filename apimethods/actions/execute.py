"""Running a compiled API method: for clients (a deployed method, through the registry) and
for the console's Run (the latest draft, reporting the SQL that ran).

One call is one transaction on the app's own connection (console.tables.isolation, the
path KScript uses): a plan of one statement runs on its own (a statement is atomic by
itself; a read needs no BEGIN), a longer one inside BEGIN … COMMIT, and any failure rolls
all of it back. Every statement is prepared (planned once per connection); its text
carries the schema version, so a changed column type never meets an old plan.

Compiled plans are cached per deployment (the registry builds a method once per
deployment) and per table-schema version. A deployed method that no longer fits the
tables — a table or field renamed or dropped after the deploy — answers code 64 saying
what is missing, until it is fixed and deployed again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import DatabaseError, OperationalError, connection

from apimethods.actions import model
from apimethods.actions.compiler import Arg, Plan, Step, compile_method, with_limit
from apimethods.actions.model import DefinitionError, Method, SchemaMeta
from apimethods.actions.values import Unconvertible, convert, like_pattern, row_count
from apimethods.registry import CallContext
from apimethods.wire import RecordList, WireError
from apimethods.wire.values import decimal_number
from console.tables import isolation
from runtime.limits import Deadline

MAX_TRACE = 100


# ── the app's tables ──────────────────────────────────────────────────────────────

_MAX_CACHED_APPS = 1000
_schemas: dict[tuple[str, int], tuple[int, SchemaMeta]] = {}
_schemas_lock = threading.Lock()


def current_schema_version(app_id: int) -> int:
    from console.tables.scripting import schema_version

    return schema_version(app_id)


def load_schema(app_id: int, version: int | None = None) -> SchemaMeta:
    """The app's tables as the compiler sees them, cached per process by schema version
    (`version`: as read with the app, or None to read it now)."""
    from console.tables.models import Table

    if version is None:
        version = current_schema_version(app_id)
    key = (isolation.database_name(), int(app_id))
    cached = _schemas.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    tables = {}
    for table in Table.objects.filter(app_id=app_id).prefetch_related("fields__target"):
        fields = [(f.name, f.type, f.target.name if f.target else None) for f in table.fields.all()]
        tables[table.name] = model.table_meta(table.name, table.id_field, fields)
    from console.tables.ddl import schema_name

    schema = SchemaMeta(schema_name(app_id), tables)
    # Not from inside a platform transaction: its schema changes may still roll back.
    if not connection.in_atomic_block:
        with _schemas_lock:
            if len(_schemas) >= _MAX_CACHED_APPS:
                _schemas.clear()
            _schemas[key] = (version, schema)
    return schema


# ── running a plan ────────────────────────────────────────────────────────────────


def _fix_related(value: Any, datetimes: tuple[str, ...], data: tuple[str, ...]) -> Any:
    # Related records arrive as JSON: dates as ISO text, binary as bytea's hex text.
    if value is None:
        return None
    for name in datetimes:
        if value.get(name) is not None:
            value[name] = datetime.fromisoformat(value[name])
    for name in data:
        if value.get(name) is not None:
            value[name] = bytes.fromhex(value[name][2:])
    return value


class TimeLimit(Exception):
    """The call's time ran out between two statements (the transaction is rolled back)."""


def _number(value: Any) -> Any:
    return decimal_number(value) if isinstance(value, Decimal) else value


class _Run:
    def __init__(
        self,
        current: isolation.AppConnection,
        params: Mapping[str, Any],
        plan: Plan,
        trace: list[dict[str, Any]] | None,
        deadline: Deadline | None,
    ) -> None:
        self.connection = current
        self.cursor = current.prepared_cursor()
        self.params = params
        self.returned = plan.returned
        self.result: Any = None
        self.trace = trace
        # Each statement is bounded by statement_timeout; a plan of many (per row) also stops
        # between them once the call's time is up.
        self.deadline = deadline

    def value(self, arg: Arg, env: Mapping[str, dict[str, Any]], rows: list[dict[str, Any]] | None) -> Any:
        if arg.source == "column":
            assert rows is not None
            return [self.converted(arg, row.get(arg.name)) for row in rows]
        raw = self.params.get(arg.name) if arg.source == "param" else env[arg.action].get(arg.name)
        return self.converted(arg, raw)

    def converted(self, arg: Arg, raw: Any) -> Any:
        try:
            if arg.shape == "count":
                return row_count(raw)
            if arg.shape:
                return like_pattern(raw, arg.shape)
            return convert(raw, arg.to)
        except Unconvertible as exc:
            if arg.source == "param":
                raise WireError(32, f"Parameter '{arg.name}' {exc}") from None
            raise WireError(64, f"The value of {arg.name} {exc}") from None

    def execute(self, step: Step, env: Mapping[str, dict[str, Any]], rows: list[dict[str, Any]] | None = None) -> Any:
        if self.deadline is not None and self.deadline.expired():
            raise TimeLimit
        args = [self.value(arg, env, rows) for arg in step.args]
        text = step.sql if step.limit_at is None else with_limit(step.sql, args.pop(step.limit_at))
        if self.trace is None:
            return self.cursor.execute(text, args, prepare=True)
        entry: dict[str, Any] = {"action": step.action, "sql": self._shown(text, args)}
        if len(self.trace) < MAX_TRACE:
            self.trace.append(entry)
        started = time.perf_counter()
        try:
            cursor = self.cursor.execute(text, args, prepare=True)
        except DatabaseError as exc:
            entry["error"] = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise
        entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
        entry["rows"] = cursor.rowcount
        return cursor

    def _shown(self, text: str, args: list[Any]) -> str:
        # The statement with its values in place, as a developer would type it.
        try:
            return psycopg.ClientCursor(self.connection.conn).mogrify(text, args)
        except psycopg.Error:
            return text

    def keep(self, step: Step, value: Any) -> None:
        if step.action == self.returned:
            self.result = value

    def steps(self, steps: tuple[Step, ...], env: Mapping[str, dict[str, Any]]) -> None:
        for step in steps:
            self.step(step, env)

    def step(self, step: Step, env: Mapping[str, dict[str, Any]]) -> None:
        cursor = self.execute(step, env)
        kind = step.kind
        if kind == "select":
            found = cursor.fetchall()
            if step.action == self.returned:
                self.result = self.records(step, found)
            if step.set_based or step.per_row:
                rows = [dict(zip(step.columns, row)) for row in found]  # noqa: B905 - the row is longer
                if rows:
                    for nested in step.set_based:
                        self.execute(nested, env, rows)
                for row in rows:
                    self.steps(step.per_row, {**env, step.action: row})
        elif kind == "insert":
            record = dict(zip(step.columns, cursor.fetchone(), strict=True))
            self.keep(step, record[step.id_field])
            if step.once:
                self.steps(step.once, {**env, step.action: record})
        elif kind == "count":
            self.keep(step, cursor.rowcount)
        elif kind == "aggregate":
            self.keep(step, _number(cursor.fetchone()[0]))

    def records(self, step: Step, found: list[Any]) -> RecordList:
        columns = step.columns
        if not step.related:
            return RecordList(dict(zip(columns, row)) for row in found)  # noqa: B905
        width = len(columns)
        out = RecordList()
        for row in found:
            record = dict(zip(columns, row))  # noqa: B905
            for i, related in enumerate(step.related):
                value = row[width + i]
                if related.parent:
                    record[related.key] = _fix_related(value, related.datetimes, related.data)
                else:
                    record[related.key] = [_fix_related(v, related.datetimes, related.data) for v in value]
            out.append(record)
        return out


def run_plan(
    app_id: int,
    plan: Plan,
    params: Mapping[str, Any],
    *,
    timeout_ms: int | None = None,
    trace: list[dict[str, Any]] | None = None,
    deadline: Deadline | None = None,
) -> Any:
    """Run the plan as one transaction and return the returned action's result: a new ID,
    records (RecordList), a count, a number or None. DatabaseError for what PostgreSQL
    refused (nothing written), WireError for a value that does not fit its field."""
    wanted = isolation.default_timeout_ms(timeout_ms)
    with isolation.leased(app_id) as current, current.block(wanted, atomic=plan.atomic):
        return _result(current, plan, params, trace, deadline)


def _result(
    current: isolation.AppConnection,
    plan: Plan,
    params: Mapping[str, Any],
    trace: list[dict[str, Any]] | None,
    deadline: Deadline | None,
) -> Any:
    run = _Run(current, params, plan, trace, deadline)
    run.steps(plan.steps, {})
    return run.result


# ── deployed methods (registry kind "apimethod") ────────────────────────────────────


def _past_time_limit(alias: str, seconds: float) -> WireError:
    return WireError(64, f"API method {alias} ran past its time limit of {seconds:g} s; nothing was written")


def _no_longer_fits(alias: str, exc: DefinitionError) -> str:
    return f"API method {alias} no longer matches the app's tables ({exc}); fix it in the console and deploy again"


class Plans:
    """One method's compiled plans, one per table-schema version (a few kept): a deployed
    method's for the deployment's life, a draft's for one Run It!."""

    def __init__(self, app_id: int, alias: str, definition: Any) -> None:
        self.app_id = app_id
        self.alias = alias
        self.definition = definition
        self._method: Method | None = None
        self._plans: dict[Any, Plan | str] = {}

    def get(self, version: int | None, schema: SchemaMeta | None = None) -> Plan:
        """The plan for the tables at `version` (None: as they are now); `schema`: those
        tables when the caller has them (else they are loaded, which needs Django's
        connection). WireError 64 when the method no longer fits them."""
        found = self._plans.get(version)
        if found is None:
            try:
                if self._method is None:
                    self._method = model.parse(self.definition)
                tables = schema if schema is not None else load_schema(self.app_id, version)
                found = compile_method(self._method, tables, tag=f"kiln api v{version}")
            except DefinitionError as exc:
                found = _no_longer_fits(self.alias, exc)
            if version is not None:  # unknown: compiled against the tables as they are now
                if len(self._plans) >= 8:
                    self._plans.clear()
                self._plans[version] = found
        if isinstance(found, str):
            raise WireError(64, found)
        return found


def build_live_method(app_id: int, alias: str, spec: dict[str, Any], siblings: Mapping[str, Any]) -> Any:
    """Registry builder: the method as deployed, compiled per table-schema version on first use."""
    from apimethods.registry import LiveMethod

    declared = tuple((str(name), str(kind)) for name, kind in spec["params"])
    plans = Plans(app_id, alias, spec["definition"])

    def invoke(ctx: CallContext) -> Any:
        deadline = ctx.deadline or Deadline(ctx.timeout_s)
        plan = plans.get(ctx.schema_version)
        try:
            return run_plan(app_id, plan, ctx.params, timeout_ms=_timeout_ms(deadline), deadline=deadline)
        except TimeLimit:
            raise _past_time_limit(alias, ctx.timeout_s) from None
        except OperationalError as exc:
            # statement_timeout, set to what was left of the call's time: a time limit like a
            # script's (64), not a database fault.
            if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
                raise _past_time_limit(alias, ctx.timeout_s) from None
            raise

    return LiveMethod(alias, declared, invoke)


def _timeout_ms(deadline: Deadline) -> int | None:
    """The statement time limit: the app's SQL limit, or less when the call has less time left."""
    wanted = max(1, int(deadline.remaining() * 1000))
    return wanted if wanted < isolation.default_timeout_ms() else None


# ── Run (the console): the latest draft, with the SQL that ran ─────────────────────


def run_draft(app_id: int, definition: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Run a draft definition against the tables as they are now, as one transaction.

    `{"ok": true, "result", "result_types", "duration_ms", "statements"}`, or `{"ok": false, "error":
    {"type", "message"}, "statements"}` when a value does not fit or PostgreSQL refuses
    (nothing is written then). `statements`: each statement run, values in place, with
    its time and row count. Raises DefinitionError when the draft does not fit the tables
    and WireError when a parameter does not coerce to its declared type."""
    from apimethods.drafts import jsonable
    from apimethods.wire import coerce_params

    method = model.parse(definition)
    schema = load_schema(app_id)
    plan = compile_method(method, schema)
    coerced = coerce_params(dict(params), plan.params)
    trace: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        result = run_plan(app_id, plan, coerced, trace=trace)
    except WireError as exc:
        return {"ok": False, "error": {"type": "InvalidValue", "message": exc.message}, "statements": trace}
    except DatabaseError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "The database refused the statement."
        return {"ok": False, "error": {"type": "DatabaseError", "message": message}, "statements": trace}
    return {
        "ok": True,
        "result": jsonable(list(result) if isinstance(result, RecordList) else result),
        # Where the result holds dates (epoch seconds in JSON), for the console to show as dates.
        "result_types": model.result_types(method, schema),
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "statements": trace,
    }


# ── K.callAPIMethod: a KScript calling an API method ────────────────────────────────


class Callee:
    """An API method as a KScript's K.callAPIMethod reaches it: the deployed revision (client
    calls, schedules, automations) or the latest draft (Run It!, as for KScripts).

    It runs inside the calling script's invocation: on its app connection and in its
    transaction (a savepoint of its own, so a failure the script catches takes back only
    the method's writes), within its deadline. Host calls run on V8's thread, which must
    not use Django's connections: the tables come from the scope, loaded before the run."""

    def __init__(self, app_id: int, name: str, definition: Any) -> None:
        self.name = name
        self.plans = Plans(app_id, name, definition)

    def call(self, database: Any, schema: SchemaMeta, raw: Mapping[str, Any], deadline: Deadline | None) -> Any:
        """Run with the script's values as parameters; the result as the client's payload
        would hold it, in JS values. HostError (thrown in the script) when it fails."""
        from apimethods.wire import coerce_params
        from runtime import HostError

        try:
            plan = self.plans.get(database.version, schema)
            params = coerce_params(dict(raw), plan.params)
        except WireError as exc:
            raise HostError(exc.message) from None
        writes = plan.atomic or any(step.kind not in ("select", "aggregate") for step in plan.steps)
        try:
            result = database.work(lambda current: _result(current, plan, params, None, deadline), writes=writes)
        except TimeLimit:
            raise HostError(f"{self.name} failed: the invocation's time limit has passed") from None
        except WireError as exc:
            raise HostError(f"{self.name} failed: {exc.message}") from None
        except HostError as exc:  # what PostgreSQL refused, in its words
            raise HostError(f"{self.name} failed: {exc}") from None
        return script_value(result)


def callees(app_id: int, specs: Mapping[str, Mapping[str, Any]]) -> dict[str, Callee]:
    """The deployed API methods of a deployment's snapshot (`methods`), by name."""
    return {
        name: Callee(app_id, name, spec["definition"])
        for name, spec in specs.items()
        if spec.get("kind") == "apimethod"
    }


def draft_callees(app: Any) -> dict[str, Callee]:
    """Every API method of the app as its latest revision, by name (what Run It! calls)."""
    from apimethods.actions.services import latest_revisions

    return {r.method.name: Callee(app.pk, r.method.name, r.definition) for r in latest_revisions(app)}


def script_value(result: Any) -> Any:
    """A result in JS values, as K.select gives records: dates as epoch seconds, data as
    base64; related records inside their record, the same way."""
    from console.tables.values import to_wire

    if isinstance(result, list):
        return [script_value(v) for v in result]
    if isinstance(result, dict):
        return {key: script_value(v) for key, v in result.items()}
    return to_wire(result)
