"""Kiln's KScript runtime: a V8 sandbox exposing the synchronous `K` API.

Public entry points: `run_script` and `check_syntax`. The runtime knows nothing of
Django: the database, session store, script loader and method caller come in as a
`Host` (see runtime/host.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from runtime.errors import (
    EngineBroken,
    RawEngineError,
    ScriptError,
    ScriptFailure,
    ScriptMemoryExceeded,
    ScriptResponseTooLarge,
    ScriptStopped,
    ScriptSyntaxError,
    ScriptTimeout,
    convert_engine_error,
)
from runtime.host import Database, Host, HostError, MethodCaller, ScriptLoader, SessionStore
from runtime.invocation import Invocation
from runtime.limits import DEFAULT_LIMITS, Deadline, RunLimits
from runtime.pool import Pool, default_pool
from runtime.result import LogEntry, RunResult, Timings, log_entries

__all__ = [
    "Database",
    "Deadline",
    "EngineBroken",
    "Host",
    "HostError",
    "LogEntry",
    "MethodCaller",
    "Pool",
    "RunLimits",
    "RunResult",
    "ScriptError",
    "ScriptFailure",
    "ScriptLoader",
    "ScriptMemoryExceeded",
    "ScriptResponseTooLarge",
    "ScriptStopped",
    "ScriptSyntaxError",
    "ScriptTimeout",
    "SessionStore",
    "Timings",
    "check_syntax",
    "run_script",
]

_NO_HOST = Host()
_PRELOAD = json.JSONEncoder(ensure_ascii=False)  # one encoder, not one per json.dumps call
# A run that finds its context spoiled by the previous one moves to another; a hostile
# script spoils at most the context it ran in, so a few tries always reach a clean one.
_MAX_CONTEXTS_PER_RUN = 4


def run_script(
    app_id: str,
    code: str,
    *,
    method_name: str = "main",
    params: Mapping[str, Any] | None = None,
    host: Host | None = None,
    limits: RunLimits = DEFAULT_LIMITS,
    pool: Pool | None = None,
    deadline: Deadline | None = None,
) -> RunResult:
    """Run `code` as the KScript method `method_name` of app `app_id`.

    `deadline`: the absolute end of the whole client call. A nested run (K.callAPIMethod,
    run while the outer one waits in a host call) is handed the same object, so the clock
    never restarts; the run ends at it or after `limits.timeout_s`, whichever comes first.

    Raises ScriptError (and ScriptSyntaxError), ScriptTimeout (ScriptStopped when the
    deadline was stopped), ScriptMemoryExceeded, ScriptResponseTooLarge or EngineBroken —
    all subclasses of ScriptFailure.
    """
    pool = pool or default_pool()
    host = host or _NO_HOST
    started = time.perf_counter()
    invocation = Invocation(app_id, method_name, host)
    # What the run reads first; "code" only when the context has not seen it (see prelude.MAX_SOURCES).
    preload = {
        "code": None,
        "sourceId": 0,
        "method": method_name,
        "script": invocation.script,
        "params": dict(params or {}),
        "maxLogEntries": limits.max_log_entries,
        "maxLogChars": limits.max_log_chars,
        "maxResponseChars": limits.max_response_chars,
        "liveLogs": host.on_log is not None,
    }
    own = Deadline(limits.timeout_s)
    if deadline is None or own.at < deadline.at:
        deadline = own
    if deadline.expired():
        # Nothing left of the call's time (a nested run started at its very end).
        raise _stopped(ScriptTimeout("script exceeded its time limit"), deadline)
    failure: ScriptFailure | None = None
    output: Any = False
    checkout_s = 0.0
    for _ in range(_MAX_CONTEXTS_PER_RUN):
        checking_out = time.perf_counter()
        context = pool.checkout(app_id, may_lower=limits.deprioritize_after_s is not None)
        checkout_s += time.perf_counter() - checking_out
        engine = context.engine
        output = False
        reusable = False  # a failed run leaves a context worth keeping (see below)
        try:
            engine.set_memory_limit(limits.memory_bytes)
            assert engine.channel is not None
            preload["sourceId"], send = context.source(code, invocation.script)
            preload["code"] = code if send else None
            engine.channel.preload(_PRELOAD.encode(preload))
            output = engine.call(
                context.run,
                deadline,
                invocation.handle,
                start_timeout_s=limits.cleanup_timeout_s,
                interrupt=host.interrupt,
                deprioritize_after_s=limits.deprioritize_after_s,
                slots=pool.run_slots,
            )
        except RawEngineError as error:
            if error.kind == "stuck":
                # The previous run's leftover jobs hold the isolate: nothing of ours ran.
                pool.checkin(context, healthy=False)
                continue
            failure = _failure(error, invocation)
            # Keep the context of a script that threw, did not parse or ran out of time (a
            # new one costs about 10 ms of CPU): the next run starts with cleanup(), which
            # restores the globals and clears the run state, whether this run unwound
            # through run()'s `finally` or was terminated and skipped it. A timed-out run
            # whose isolate did not stop, or whose host call would not end, left the engine
            # broken; a lowered one is retired; after a memory failure the context is
            # unsound. The pool closes those.
            reusable = error.kind in ("execute", "parse", "timeout")
        if output is not False and output == 0:
            # The context lost track of a source (nothing ran): forget what it holds, so
            # the next try sends the code along.
            context.sources.clear()
            pool.checkin(context, healthy=not engine.broken)
            continue
        # `false`: the previous run left changes that cannot be undone; nothing of ours ran.
        pool.checkin(context, healthy=(output is not False or reusable) and not engine.broken)
        if output is not False or failure is not None:
            break
    finished = time.perf_counter()
    if failure is not None:
        raise _stopped(failure, deadline)
    if not isinstance(output, str):
        raise EngineBroken(f"unexpected run result {output!r}")
    head, _, response_json = output.partition("\n")
    state = json.loads(head)
    return RunResult(
        response_json=response_json or "null",
        has_response=bool(state.get("hasResponse")),
        type_map=state.get("typeMap"),
        logs=log_entries(state.get("logs")),
        logs_dropped=int(state.get("logsDropped") or 0),
        duration_s=finished - started,
        timings=Timings(
            checkout_s=checkout_s,
            run_s=finished - started - checkout_s,
            bridge_calls=invocation.bridge_calls,
            bridge_s=invocation.bridge_s,
        ),
    )


def _stopped(failure: ScriptFailure, deadline: Deadline) -> ScriptFailure:
    """A timeout of a deadline someone brought forward is a stop, and says who did it."""
    if deadline.stopped_by is not None and isinstance(failure, ScriptTimeout):
        return ScriptStopped(deadline.stopped_by, logs=failure.logs)
    return failure


def _failure(error: RawEngineError, invocation: Invocation) -> ScriptFailure:
    final = invocation.final_state or {}
    logs = log_entries(final.get("logs"))
    if final.get("tooLarge") and error.kind == "execute":
        error = RawEngineError("response_too_large", "the response is larger than allowed")
    scripts = dict(invocation.scripts)
    culprit = final.get("evaluating")
    if isinstance(culprit, str) and culprit in scripts:
        scripts["undefined"] = scripts[culprit]
    return convert_engine_error(error, method=invocation.method, user_scripts=scripts, logs=logs)


def check_syntax(code: str, *, method_name: str = "main") -> ScriptSyntaxError | None:
    """Parse `code` as a KScript without running it. Returns None or the syntax error."""
    from runtime.syntax import check

    return check(code, method_name)
