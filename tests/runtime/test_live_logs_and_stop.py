"""Run It!'s hooks in the runtime: each kept log entry is handed over as the script writes it
(Host.on_log), and a StoppableDeadline brought forward ends the run as a deadline does."""

from __future__ import annotations

import threading
import time

import pytest
from test_deadlines import Interrupts, SleepingDatabase

from runtime import Host, LogEntry, Pool, RunLimits, ScriptStopped, ScriptTimeout, run_script
from runtime.limits import StoppableDeadline


def test_each_kept_entry_reaches_on_log_while_the_script_runs(pool: Pool) -> None:
    seen: list[tuple[float, LogEntry]] = []
    code = "K.log('a', {n: 1}); var t = Date.now(); while (Date.now() - t < 300) {} K.error('b'); K.setResponse(1);"
    started = time.monotonic()
    result = run_script("app1", code, host=Host(on_log=lambda e: seen.append((time.monotonic(), e))), pool=pool)
    assert [e for _, e in seen] == list(result.logs)
    assert [(e.level, e.args) for _, e in seen] == [("log", ("a", {"n": 1})), ("error", ("b",))]
    # The first line was handed over before the busy wait, not with the result.
    assert seen[0][0] - started < 0.25 <= seen[1][0] - started


def test_entries_over_the_log_caps_are_not_handed_over(pool: Pool) -> None:
    seen: list[LogEntry] = []
    limits = RunLimits(max_log_entries=3)
    result = run_script(
        "app1", "for (var i = 0; i < 10; i++) K.log(i);", host=Host(on_log=seen.append), limits=limits, pool=pool
    )
    assert [e.args for e in seen] == [(0,), (1,), (2,)]
    assert result.logs_dropped == 7


def test_without_on_log_no_host_call_is_made_for_logs(pool: Pool) -> None:
    result = run_script("app1", "K.log(1); K.log(2);", pool=pool)
    assert result.timings.bridge_calls == 0 and len(result.logs) == 2


def test_stopping_the_deadline_ends_an_endless_loop_at_once(pool: Pool) -> None:
    deadline = StoppableDeadline(30)
    threading.Timer(0.3, deadline.stop, ["Stopped by olivia"]).start()
    started = time.monotonic()
    with pytest.raises(ScriptStopped) as stopped:
        run_script("app1", "while (true) {}", deadline=deadline, pool=pool)
    assert time.monotonic() - started < 0.6
    assert stopped.value.message == "Stopped by olivia"
    assert isinstance(stopped.value, ScriptTimeout)  # callers that know timeouts handle it alike
    assert run_script("app1", "K.setResponse(2)", pool=pool).value == 2


def test_stopping_during_a_host_call_interrupts_it(pool: Pool) -> None:
    db = SleepingDatabase()
    interrupts = Interrupts(db)
    deadline = StoppableDeadline(30)
    threading.Timer(0.3, deadline.stop, ["Stopped by devon"]).start()
    started = time.monotonic()
    with pytest.raises(ScriptStopped):
        run_script(
            "app1", "K.query('SELECT pg_sleep(60)'); while (true) {}", host=Host(database=db, interrupt=interrupts),
            deadline=deadline, pool=pool,
        )  # fmt: skip
    assert time.monotonic() - started < 0.6
    assert interrupts.threads and db.ended
