"""Run It!: run a KScript method's latest draft with parameter values, as the console and
`manage.py kscript run` both do.

The answer is one JSON-ready dict: on success `{"ok": true, "result", "duration_ms",
"logs", "logs_dropped"}`, on a script failure `{"ok": false, "error": {...}, "logs"}`,
where `error` carries the method, line, column and JS stack when the script threw.
Parameter values that do not coerce to their declared types raise `WireError`.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from apimethods import kscript, liveruns, services
from apimethods.actions.execute import draft_callees
from apimethods.models import KScriptMethod
from apimethods.wire import WireError, coerce_params
from console.apps.models import App
from runtime import ScriptError, ScriptFailure


def draft_specs(app: App) -> dict[str, kscript.ScriptSpec]:
    """Every method of the app as its latest revision (what `include` and callAPIMethod see)."""
    return {
        r.method.name: kscript.ScriptSpec(
            r.method.name, r.code, r.return_type, tuple((p["name"], p["type"]) for p in r.params)
        )
        for r in services.latest_revisions(app)
    }


def run_draft(
    app: App,
    method: KScriptMethod,
    params: dict[str, Any],
    session_token: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """`run_id`: the console watches the run by this id (its log lines live, Stop)."""
    drafts = draft_specs(app)
    spec = drafts[method.name]
    coerced = coerce_params(params, spec.params)  # WireError for the caller to report
    token = session_token or f"console-{uuid.uuid4()}"
    with liveruns.watch(app.id, run_id, app.script_timeout_seconds) as live:
        try:
            result = kscript.run_top_level(
                app.id,
                app.script_timeout_seconds,
                drafts,
                spec,
                coerced,
                token,
                deadline=live.deadline if live else None,
                api_methods=draft_callees(app),
                on_log=(lambda entry: live.entries.extend(log_data([entry]))) if live else None,
            )
        except ScriptFailure as exc:
            # A run ended by its deadline or by Stop hands over no logs (termination skips
            # the code that would); a watched one answers with the lines it showed.
            logs = log_data(exc.logs) if exc.logs or live is None else list(live.entries)
            return {"ok": False, "error": error_data(exc), "logs": logs}
        except RecursionError:
            # The run's state (a K.log argument) was too deep to read back; its writes rolled back.
            return {"ok": False, "error": _too_deep("A logged value"), "logs": []}
    try:
        payload = jsonable(kscript.payload_of(result, spec.return_type))
    except WireError as exc:
        return {
            "ok": False,
            "error": {"type": "ReturnTypeError", "message": exc.message},
            "logs": log_data(result.logs),
        }
    except RecursionError:
        payload = _TOO_DEEP
    if payload is _TOO_DEEP or nested_deeper_than(payload, MAX_DEPTH):
        return {"ok": False, "error": _too_deep("The response"), "logs": log_data(result.logs)}
    return {
        "ok": True,
        "result": payload,
        "duration_ms": round(result.duration_s * 1000, 3),
        "logs": log_data(result.logs),
        "logs_dropped": result.logs_dropped,
    }


def error_data(exc: ScriptFailure) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, ScriptError):
        data.update({"method": exc.method, "line": exc.line, "column": exc.column, "stack": exc.stack})
    return data


def log_data(entries: Any) -> list[dict[str, Any]]:
    return [
        {"level": e.level, "args": [_shown(arg) for arg in e.args], "line": e.line, "script": e.script}
        for e in entries
    ]


# How deep a result or a logged value Run It! shows. The answer is rendered by recursive
# code (json) below Django's own frames, so this stays well under the interpreter's
# recursion limit (1,000); a client call has its own bound (wire.envelope.render).
MAX_DEPTH = 256
_TOO_DEEP = object()


def _too_deep(what: str) -> dict[str, Any]:
    return {"type": "ResponseTooDeep", "message": f"{what} is nested more than {MAX_DEPTH} levels deep."}


def _shown(arg: Any) -> Any:
    return f"[nested more than {MAX_DEPTH} levels deep]" if nested_deeper_than(arg, MAX_DEPTH) else arg


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts inside `value` go more than `limit` levels deep (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def jsonable(value: Any) -> Any:
    """A wire payload as JSON: Data as base64, dates as epoch seconds."""
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    return value
