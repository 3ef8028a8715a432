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

from apimethods import kscript, services
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
    app: App, method: KScriptMethod, params: dict[str, Any], session_token: str | None = None
) -> dict[str, Any]:
    drafts = draft_specs(app)
    spec = drafts[method.name]
    coerced = coerce_params(params, spec.params)  # WireError for the caller to report
    token = session_token or f"console-{uuid.uuid4()}"
    try:
        result = kscript.run_top_level(app.id, app.script_timeout_seconds, drafts, spec, coerced, token)
    except ScriptFailure as exc:
        return {"ok": False, "error": error_data(exc), "logs": log_data(exc.logs)}
    try:
        payload = kscript.payload_of(result, spec.return_type)
    except WireError as exc:
        return {
            "ok": False,
            "error": {"type": "ReturnTypeError", "message": exc.message},
            "logs": log_data(result.logs),
        }
    return {
        "ok": True,
        "result": jsonable(payload),
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
    return [{"level": e.level, "args": list(e.args), "line": e.line, "script": e.script} for e in entries]


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
