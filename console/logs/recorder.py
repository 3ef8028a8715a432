"""Recording client calls without slowing them down.

A client call appends one small tuple to this process's buffer (a lock held for a few
hundred nanoseconds, no I/O); a background thread per process writes the buffer to
PostgreSQL with one COPY every FLUSH_EVERY_S seconds, or sooner when BATCH entries wait.
The buffer is bounded: when PostgreSQL is slow or down, new entries are dropped and
counted, never waited for — the call's answer never depends on the log.

K.log lines travel by reference (the run's own tuple, already capped by the runtime's
log limits); they are turned into JSON on the writer thread. At most LOG_SLOTS buffered
entries may hold logs at once, which bounds the memory a logging-heavy app can pin;
past that an entry keeps its code, time and error but not its lines (counted in
`logs_dropped`, noted in the entry).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError

from apimethods.wire import WireError
from runtime import ScriptFailure

logger = logging.getLogger(__name__)

CAPACITY = 10_000  # entries waiting to be written, per process
BATCH = 500  # entries per COPY
FLUSH_EVERY_S = 0.5
LOG_SLOTS = 200  # buffered entries that may carry K.log lines
RETRY_AFTER_S = (0.5, 1.0, 2.0, 5.0)  # waits after consecutive failed writes

# (app_id, started (epoch s), method, method_type, code, duration_ms, logs, logs_dropped, error)
Entry = tuple[int, float, str, str, int, float, Sequence[Any] | None, int, dict[str, Any] | None]

APPLICATION_NAME = "kiln-call-log"

COLUMNS = ("app_id", "at", "method", "method_type", "code", "duration_ms", "logs", "logs_dropped", "error")


class CallRecorder:
    """The per-process buffer and its writer thread. `write(rows)` stores one batch of
    entries (tests hand in their own); by default `copy_rows`."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        batch: int = BATCH,
        flush_every_s: float = FLUSH_EVERY_S,
        log_slots: int = LOG_SLOTS,
        write: Callable[[list[Entry]], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.batch = batch
        self.flush_every_s = flush_every_s
        self.log_slots = log_slots
        self.write = write or copy_rows
        self.dropped = 0  # entries never written: buffer full, or their batch failed
        self.written = 0
        self._reported_dropped = 0
        self._buffer: deque[Entry] = deque()
        self._with_logs = 0
        self._lock = threading.Lock()  # the buffer's counters
        self._write_lock = threading.Lock()  # one batch written at a time
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._failures = 0

    # ── the request side ────────────────────────────────────────────────────────────

    def record(self, entry: Entry) -> None:
        """Queue one call; never blocks on I/O, never raises."""
        with self._lock:
            if len(self._buffer) >= self.capacity:
                self.dropped += 1
                return
            logs = entry[6]
            if logs:
                if self._with_logs >= self.log_slots:
                    entry = (*entry[:6], _NO_ROOM, entry[7] + len(logs), entry[8])
                else:
                    self._with_logs += 1
            self._buffer.append(entry)
            waiting = len(self._buffer)
        if self._thread is None:
            self._start()
        if waiting == self.batch:
            self._wake.set()

    # ── the writer side ─────────────────────────────────────────────────────────────

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="kiln-call-log", daemon=True)
            self._thread.start()

    def _take(self) -> list[Entry]:
        with self._lock:
            taken = [self._buffer.popleft() for _ in range(min(self.batch, len(self._buffer)))]
            self._with_logs -= sum(1 for entry in taken if entry[6] and entry[6] is not _NO_ROOM)
        return taken

    def _run(self) -> None:
        from django.db import connections

        try:
            while not self._stopping:
                self._wake.wait(self.flush_every_s)
                self._wake.clear()
                if not self.flush_once() and not self._stopping:
                    # PostgreSQL refused or is gone: wait longer before the next try (entries
                    # keep arriving meanwhile, and are dropped once the buffer is full).
                    self._wake.wait(RETRY_AFTER_S[min(self._failures, len(RETRY_AFTER_S)) - 1])
            self.flush_once()
        finally:
            connections.close_all()  # this thread's own

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is left and end the writer thread, which closes its connection (a
        test database must be droppable); the next record starts a new one."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wake.set()
        thread.join(timeout_s)
        with self._lock:
            self._thread = None
            self._stopping = False

    def flush_once(self) -> bool:
        """Write everything buffered, a batch at a time; False when a write failed (that
        batch is dropped and counted)."""
        with self._write_lock:
            while True:
                rows = self._take()
                if not rows:
                    break
                try:
                    self.write(rows)
                except Exception:
                    self._failures += 1
                    with self._lock:
                        self.dropped += len(rows)
                    if self._failures == 1:
                        logger.warning("call log: writing %s entries failed; retrying", len(rows), exc_info=True)
                    _reset_connection()
                    return False
                self.written += len(rows)
                self._failures = 0
            if self.dropped != self._reported_dropped:
                logger.warning("call log: %s entries dropped so far in this process", self.dropped)
                self._reported_dropped = self.dropped
        return True

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Write what is buffered now, on the calling thread (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._buffer and time.monotonic() < deadline:
            if not self.flush_once():
                return False
        return not self._buffer

    def pending(self) -> int:
        return len(self._buffer)

    def _after_fork(self) -> None:
        # A forked web worker starts with an empty buffer and its own writer thread.
        self._buffer = deque()
        self._with_logs = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = None
        self._stopping = False


# Stands in for logs that found no room in the buffer (compared by identity).
_NO_ROOM: tuple[Any, ...] = ("no room",)


def _reset_connection() -> None:
    from django.db import connection

    try:
        connection.close()
    except DatabaseError:
        pass


def copy_rows(rows: list[Entry]) -> None:
    """One batch into the platform's call log table, with one COPY (this thread's own
    connection, in autocommit)."""
    from django.db import connection

    from console.logs.models import CallRecord

    connection.close_if_unusable_or_obsolete()
    table = CallRecord._meta.db_table
    with connection.cursor() as cursor:
        if connection.connection.info.parameter_status("application_name") != APPLICATION_NAME:
            # Operators (and tests) tell the log writer's connection apart in pg_stat_activity.
            cursor.execute("SELECT set_config('application_name', %s, false)", [APPLICATION_NAME])
        with cursor.copy(f'COPY "{table}" ({", ".join(COLUMNS)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(_stored(row))


def _stored(entry: Entry) -> tuple[Any, ...]:
    app_id, started, method, method_type, code, duration_ms, logs, logs_dropped, error = entry
    if logs is _NO_ROOM:
        kept = [_note("Kiln did not keep this call's logs: too many calls were waiting to be logged.")]
    else:
        kept = _log_data(logs) if logs else None
    return (
        app_id,
        datetime.fromtimestamp(started, tz=UTC),
        method[:100],
        method_type[:10],
        code,
        round(duration_ms, 3),
        None if kept is None else _jsonb(kept, "The logged values could not be stored."),
        logs_dropped,
        None if error is None else _jsonb(error, "The error could not be stored."),
    )


# A JSON \u0000 escape: one preceded by an even number of backslashes (odd counting its own).
_NUL_ESCAPE = re.compile(r"(\\+)u0000")


def _jsonb(value: Any, instead: str) -> str:
    """JSON text PostgreSQL's jsonb accepts, so one odd value never fails a whole batch:
    no NaN or Infinity (a note instead) and no NUL characters (U+FFFD instead)."""
    try:
        text = json.dumps(value, default=str, allow_nan=False)
    except (ValueError, RecursionError):
        return json.dumps([_note(instead)] if isinstance(value, list) else {"type": "Unstorable", "message": instead})
    if "u0000" not in text:
        return text
    return _NUL_ESCAPE.sub(lambda m: m.group(1)[:-1] + "\\ufffd" if len(m.group(1)) % 2 else m.group(0), text)


def _note(text: str) -> dict[str, Any]:
    return {"level": "info", "args": [text], "line": None, "script": None}


def _log_data(logs: Sequence[Any]) -> list[dict[str, Any]]:
    from apimethods.drafts import log_data

    try:
        return log_data(logs)
    except RecursionError:
        return [_note("The logged values were too deeply nested to keep.")]


# ── the client call path ──────────────────────────────────────────────────────────

recorder = CallRecorder()
os.register_at_fork(after_in_child=lambda: recorder._after_fork())
# A process that stops on purpose writes what it still holds (briefly: never hang an exit).
atexit.register(lambda: recorder.stop(2.0))

# The K.log lines of the call running on this thread, handed over by the KScript method
# (apimethods.kscript) after a successful run; a failed run's are on its ScriptFailure.
_call = threading.local()


def note_run(result: Any) -> None:
    """Called by a deployed KScript method with its finished run."""
    _call.run = result


def invoke_logged(method: Any, context: Any) -> Any:
    """`method.invoke(context)`, recorded in the call log with the response code the
    client endpoint (apimethods.client) answers for its outcome. Exceptions pass through
    unchanged; nothing about the log can fail or delay the call."""
    _call.run = None
    at = time.time()
    started = time.perf_counter()
    code = 1
    error: dict[str, Any] | None = None
    logs: Sequence[Any] | None = None
    dropped = 0
    try:
        payload = method.invoke(context)
    except WireError as exc:
        code, error = exc.code, {"type": "InvalidRequest" if exc.code == 32 else "MethodError", "message": exc.message}
        raise
    except ScriptFailure as exc:
        code, error, logs = 64, _script_error(exc), exc.logs
        raise
    except DatabaseError as exc:
        code, error = 128, {"type": "DatabaseError", "message": _first_line(exc)}
        raise
    except Exception as exc:
        code = 64
        error = {
            "type": "InternalError",
            "message": f"Kiln could not run it ({type(exc).__name__}); see the server log.",
        }
        raise
    finally:
        duration_ms = (time.perf_counter() - started) * 1000  # rounded by the writer
        run = _call.run
        if run is not None:
            logs, dropped, _call.run = run.logs, run.logs_dropped, None
        try:
            recorder.record((context.app_id, at, context.method, method.kind, code, duration_ms, logs, dropped, error))
        except Exception:  # noqa: S110 - the log must never fail a call
            pass
    return payload


def record_refusal(app_id: int, method: str, code: int, message: str) -> None:
    """A client call of a known app answered before any method ran (wrong secret,
    suspended app, no such method, parameters that do not convert): recorded with its
    code and message, so a developer sees why a client's calls fail."""
    error = {"type": REFUSAL_TYPES.get(code, "Refused"), "message": message}
    try:
        recorder.record((app_id, time.time(), method, "refused", code, 0.0, None, 0, error))
    except Exception:  # noqa: S110 - the log must never fail a call
        pass


REFUSAL_TYPES = {2: "NotAuthorised", 4: "NoSuchMethod", 16: "AppSuspended", 32: "InvalidRequest"}


def _script_error(exc: ScriptFailure) -> dict[str, Any]:
    from apimethods.drafts import error_data

    return error_data(exc)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
