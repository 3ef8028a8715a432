"""Running KScript methods: drafts from the console (Run It!) and deployed ones for clients.

One invocation is one database transaction in the app's isolation context: a script
that throws or hits a limit after writing leaves nothing written. It has one deadline,
made when it starts: nested K.callAPIMethod runs (and `include`d code, which runs inside
its includer) share it, and SQL still running when it passes is cancelled.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

import runtime
from apimethods.hosts import CallbackMethods, MappingScripts, RedisSessionStore
from apimethods.wire import RawJSON, RecordList, WireError, coerce_params
from runtime import Host, HostError, RunLimits, RunResult, ScriptFailure
from runtime.limits import Deadline

MAX_CALL_DEPTH = 8


@dataclass(frozen=True)
class ScriptSpec:
    name: str
    code: str
    return_type: str
    params: tuple[tuple[str, str], ...]


@dataclass
class ScriptScope:
    """What one top-level call can see: its app, its methods, the shared transaction and
    the one deadline of the call."""

    app_id: int
    timeout_s: float
    scripts: Mapping[str, ScriptSpec]
    session_token: str
    database: Any = None
    depth: int = 0
    deadline: Deadline | None = None
    analytics: Any = None  # the app's events and users (console.events.scripting)
    on_log: Any = None  # the top-level run's live log sink (runtime.Host.on_log; Run It!)
    # Drag-and-drop API methods K.callAPIMethod can call (apimethods.actions.execute.Callee),
    # and the app's tables they compile against (loaded before the run: see Callee).
    api_methods: Mapping[str, Any] = dataclass_field(default_factory=dict)
    tables: Any = None


def _limits(timeout_s: float) -> RunLimits:
    return RunLimits(timeout_s=float(timeout_s), memory_bytes=settings.KILN_SCRIPT_MEMORY_MIB * 1024 * 1024)


def database_scope(
    app_id: int, schema_version: Any = None, deadline: Deadline | None = None
) -> AbstractContextManager[Any]:
    """The app's database for one invocation (a transaction), when tables exist.

    schema_version: the app's schema version if the caller read it with the app (saves a
    query), or None to read it here. deadline: the invocation's, which its SQL keeps to."""
    try:
        from console.tables.scripting import UNKNOWN_VERSION, script_database
    except ImportError:
        return nullcontext(None)
    version = UNKNOWN_VERSION if schema_version is None else schema_version
    return script_database(app_id, version=version, deadline=deadline)


def run(scope: ScriptScope, spec: ScriptSpec, params: Mapping[str, Any]) -> RunResult:
    """Run `spec` inside `scope`; nested K.callAPIMethod calls share the scope."""

    def call_method(name: str, call_params: Mapping[str, Any]) -> Any:
        target = scope.scripts.get(name)
        callee = scope.api_methods.get(name)
        if target is None and callee is None:
            raise HostError(f"No such method: {name}")
        if scope.depth >= MAX_CALL_DEPTH:
            raise HostError(f"K.callAPIMethod nested deeper than {MAX_CALL_DEPTH} calls")
        if target is None:
            return callee.call(scope.database, scope.tables, call_params, scope.deadline)
        try:
            coerced = coerce_params(dict(call_params), target.params)
        except WireError as exc:
            raise HostError(exc.message) from exc
        scope.depth += 1
        try:
            result = run(scope, target, coerced)
        except ScriptFailure as exc:
            raise HostError(f"{name} failed: {exc}") from exc
        finally:
            scope.depth -= 1
        return result.value

    host = Host(
        database=scope.database,
        session=RedisSessionStore(scope.app_id, scope.session_token),
        scripts=MappingScripts(scope.scripts),
        methods=CallbackMethods(call_method),
        # The deadline passing during a host call cancels the invocation's running SQL.
        interrupt=None if scope.database is None else scope.database.interrupt,
        analytics=scope.analytics,
        on_log=scope.on_log if scope.depth == 0 else None,
    )
    return runtime.run_script(
        str(scope.app_id),
        spec.code,
        method_name=spec.name,
        params={key: _param_for_js(value) for key, value in params.items()},
        host=host,
        limits=_limits(scope.timeout_s),
        deadline=scope.deadline,
    )


def run_top_level(
    app_id: int,
    timeout_s: float,
    scripts: Mapping[str, ScriptSpec],
    spec: ScriptSpec,
    params: Mapping[str, Any],
    session_token: str,
    schema_version: int | None = None,
    deadline: Deadline | None = None,
    api_methods: Mapping[str, Any] | None = None,
    on_log: Any = None,
) -> RunResult:
    """Run `spec` as one invocation. `deadline`: when it must end (made by the caller when
    the call started), else `timeout_s` from now. `api_methods`: the drag-and-drop API
    methods in scope (`callees` / `draft_callees` of apimethods.actions.execute)."""
    if deadline is None:
        deadline = Deadline(timeout_s)
    from console.events.scripting import analytics_scope  # console.events imports apimethods

    with database_scope(app_id, schema_version, deadline) as database, analytics_scope(app_id, deadline) as analytics:
        scope = ScriptScope(
            app_id, timeout_s, scripts, session_token, database, deadline=deadline, analytics=analytics, on_log=on_log
        )
        if api_methods and database is not None:
            from apimethods.actions.execute import load_schema

            scope.api_methods, scope.tables = api_methods, load_schema(app_id, database.version)
        # An exception here leaves the `with` by raising, which rolls the transaction back.
        return run(scope, spec, params)


def _param_for_js(value: Any) -> Any:
    # K.params values as scripts expect them: JSON types; dates as epoch seconds, data as base64.
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def payload_of(result: RunResult, return_type: str, *, passthrough: bool = False) -> Any:
    """The client payload of a finished run: a number, or objects typed by the type map.

    passthrough: objects without a type map come back as the script's JSON text (RawJSON),
    unparsed, for the envelope renderer."""
    if passthrough and return_type != "number" and not result.type_map:
        return RawJSON(result.response_json)
    value = result.value
    if return_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            if value is None:
                return 0
            try:
                return float(value) if "." in str(value) else int(value)
            except (TypeError, ValueError) as exc:
                raise WireError(64, f"The method must return a number, not {type(value).__name__}") from exc
        return value
    if result.type_map and isinstance(value, list) and all(isinstance(row, dict) for row in value):
        return RecordList(_typed_row(row, result.type_map) for row in value)
    return value


def _typed_row(row: dict[str, Any], type_map: Mapping[str, str]) -> dict[str, Any]:
    typed = dict(row)
    for field, kind in type_map.items():
        if field in typed and typed[field] is not None:
            typed[field] = _typed_value(typed[field], kind)
    return typed


def _typed_value(value: Any, kind: str) -> Any:
    try:
        if kind == "DATA" and isinstance(value, str):
            return base64.b64decode(value, validate=False)
        if kind == "DATE_TIME" and isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if kind == "INT":
            return int(value)
        if kind == "FLOAT":
            return float(value)
        if kind == "BOOL":
            return bool(value)
    except (ValueError, TypeError, OverflowError, binascii.Error):
        return value
    return value


def deployed_methods(app_id: int, specs: Mapping[str, dict[str, Any]]) -> tuple[dict[str, ScriptSpec], dict[str, Any]]:
    """A deployment's methods (its snapshot's `methods`) as a run sees them: the KScripts by
    name, and the API methods K.callAPIMethod can call (compiled once per schema version
    for as long as the caller keeps them)."""
    from apimethods.actions.execute import callees

    scripts = {
        name: ScriptSpec(name, s["code"], s["return_type"], tuple(tuple(p) for p in s["params"]))
        for name, s in specs.items()
        if s.get("kind") == "kscript"
    }
    return scripts, callees(app_id, specs)


def build_live_method(app_id: int, alias: str, spec: dict[str, Any], siblings: Mapping[str, dict[str, Any]]) -> Any:
    """Registry builder for deployed KScripts: all of the deployment's KScripts are in scope."""
    from apimethods.registry import CallContext, LiveMethod
    from console.logs.recorder import note_run

    scripts, api_methods = deployed_methods(app_id, siblings)
    me = scripts[alias]

    def invoke(ctx: CallContext) -> Any:
        result = run_top_level(
            app_id,
            ctx.timeout_s,
            scripts,
            me,
            ctx.params,
            ctx.session_token,
            ctx.schema_version,
            ctx.deadline,
            api_methods,
        )
        note_run(result)  # its K.log lines go to the call log (console/logs)
        return payload_of(result, me.return_type, passthrough=True)

    return LiveMethod(alias, me.params, invoke)
