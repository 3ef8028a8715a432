"""One deadline per client call: nested runs share it, and a host call running past it is
interrupted (Host.interrupt) instead of holding the caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from conftest import MemoryMethods

from runtime import Deadline, Host, HostError, Pool, RunLimits, ScriptTimeout, run_script

# Busy-waits (as in the report, scaled from 20 s on a 30 s limit), then calls itself.
SELF_CALLER = "var t = Date.now(); while (Date.now() - t < 600) {} K.setResponse(K.callAPIMethod('spin', {}));"


class SleepingDatabase:
    """K.query sleeps like `pg_sleep` until interrupted (or for `ignore_s` if it ignores
    interrupts), as PostgreSQL does when the host cancels the statement."""

    def __init__(self, sleep_s: float = 10.0, honours_interrupt: bool = True) -> None:
        self.sleep_s = sleep_s
        self.honours_interrupt = honours_interrupt
        self.cancel = threading.Event()
        self.started: list[float] = []
        self.ended: list[float] = []

    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]] | int:
        self.started.append(time.monotonic())
        try:
            if self.honours_interrupt:
                if self.cancel.wait(self.sleep_s):
                    raise HostError("canceling statement due to user request")
            else:
                time.sleep(self.sleep_s)
            return [{"slept": True}]
        finally:
            self.ended.append(time.monotonic())

    def run(self, request: Any) -> list[dict[str, Any]] | int:
        raise HostError("not used here")


class Interrupts:
    """Host.interrupt for SleepingDatabase: records who called it and cancels the sleep."""

    def __init__(self, db: SleepingDatabase) -> None:
        self.db = db
        self.threads: list[int] = []

    def __call__(self) -> None:
        self.threads.append(threading.get_ident())
        self.db.cancel.set()


def test_nested_calls_share_the_client_calls_deadline(pool: Pool) -> None:
    # Given a method that busy-waits most of its limit and then calls itself
    limits = RunLimits(timeout_s=1.0)
    deadline = Deadline(1.0)
    host: Host | None = None
    methods = MemoryMethods(pool, "app1", {"spin": SELF_CALLER}, lambda: host, deadline=deadline, limits=limits)  # type: ignore[arg-type,return-value]
    host = Host(methods=methods)
    started = time.monotonic()
    # When it runs under one deadline for the whole client call
    with pytest.raises(ScriptTimeout):
        run_script("app1", SELF_CALLER, method_name="spin", host=host, limits=limits, pool=pool, deadline=deadline)
    elapsed = time.monotonic() - started
    # Then the nested run did not get a fresh limit: everything stopped at the deadline
    assert elapsed < 1.5, elapsed
    assert methods.calls == [("spin", {})]
    # And the pool still serves
    assert run_script("app1", "K.setResponse(2)", pool=pool).value == 2


def test_a_deadline_earlier_than_the_limit_ends_the_run(pool: Pool) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        run_script("app1", "while (true) {}", limits=RunLimits(timeout_s=5.0), pool=pool, deadline=Deadline(0.3))
    assert 0.3 <= time.monotonic() - started < 0.8


def test_a_limit_earlier_than_the_deadline_ends_the_run(pool: Pool) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        run_script("app1", "while (true) {}", limits=RunLimits(timeout_s=0.3), pool=pool, deadline=Deadline(5.0))
    assert 0.3 <= time.monotonic() - started < 0.8


def test_a_run_starting_after_its_deadline_times_out_without_a_context(pool: Pool) -> None:
    deadline = Deadline(0.0)
    with pytest.raises(ScriptTimeout):
        run_script("app1", "K.setResponse(1)", pool=pool, deadline=deadline)
    assert (pool.created, pool.idle_count()) == (0, 0)


def test_a_host_call_past_the_deadline_is_interrupted(pool: Pool) -> None:
    # Given a query that would sleep 10 s, and a host that can cancel it
    db = SleepingDatabase(sleep_s=10.0)
    interrupt = Interrupts(db)
    host = Host(database=db, interrupt=interrupt)  # type: ignore[arg-type]
    started = time.monotonic()
    # When the run's 0.5 s pass while the query sleeps
    with pytest.raises(ScriptTimeout):
        run_script(
            "app1",
            "K.query('SELECT pg_sleep(150)', []); K.setResponse('after')",
            host=host,
            limits=RunLimits(timeout_s=0.5),
            pool=pool,
        )
    elapsed = time.monotonic() - started
    # Then the host was asked to stop it, from the waiting thread, and the run ended at once
    assert interrupt.threads == [threading.get_ident()]
    assert len(db.ended) == 1 and db.ended[0] - db.started[0] < 0.7
    assert 0.5 <= elapsed < 0.9, elapsed
    # And the timed-out context is kept, and serves the next run (a new one costs ~10 ms)
    assert (pool.created, pool.discarded, pool.idle_count()) == (1, 0, 1)
    assert run_script("app1", "K.setResponse(2)", pool=pool).value == 2
    assert pool.created == 1


@pytest.mark.parametrize(
    "stopped_in",
    [
        "var t = Date.now(); while (true) { if (Date.now() - t > 1e9) break; }",  # JavaScript
        "K.query('SELECT pg_sleep(150)', []);",  # a host call, interrupted
    ],
)
def test_the_run_after_a_timed_out_one_on_its_context_starts_clean(pool: Pool, stopped_in: str) -> None:
    # Given a run that patches a built-in, adds a global, logs and takes the session state
    # in hand, then is stopped by its time limit (terminated: its `finally` blocks never ran)
    db = SleepingDatabase(sleep_s=10.0)
    host = Host(database=db, interrupt=Interrupts(db))  # type: ignore[arg-type]
    polluter = (
        "Array.prototype.map = function () { return 'hacked'; }; var leftover = 'still here';"
        " K.log('from the timed-out run'); try { " + stopped_in + " } finally { globalThis.cleaned = true; }"
    )
    with pytest.raises(ScriptTimeout):
        run_script("app1", polluter, host=host, pool=pool, limits=RunLimits(timeout_s=0.3, deprioritize_after_s=None))
    # When the next run of the app gets the same context
    result = run_script(
        "app1",
        "K.log('next'); K.setResponse([[1, 2].map(String), typeof leftover, typeof cleaned]);",
        pool=pool,
    )
    # Then it sees the built-ins and globals as a fresh context would, and only its own log
    assert pool.created == 1
    assert result.value == [["1", "2"], "undefined", "undefined"]
    assert [entry.args for entry in result.logs] == [("next",)]


def test_a_host_call_that_ignores_the_interrupt_is_given_up_after_a_grace(pool: Pool) -> None:
    # Given a host call that ignores interrupts and sleeps 4 s
    db = SleepingDatabase(sleep_s=4.0, honours_interrupt=False)
    interrupt = Interrupts(db)
    host = Host(database=db, interrupt=interrupt)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        run_script("app1", "K.query('SELECT 2', []);", host=host, limits=RunLimits(timeout_s=0.3), pool=pool)
    elapsed = time.monotonic() - started
    # Then the caller gets its timeout after the 2 s grace, not after the host call
    assert interrupt.threads == [threading.get_ident()]
    assert 2.2 <= elapsed < 3.0, elapsed
    assert db.ended == []
    assert (pool.discarded, pool.idle_count()) == (1, 0)
    # And the context is freed once the call returns, off the caller's thread
    time.sleep(4.0 - elapsed + 0.6)
    assert len(db.ended) == 1
    assert [t.name for t in threading.enumerate() if t.name == "kiln-close"] == []


def test_without_interrupt_a_host_call_is_waited_for(pool: Pool) -> None:
    # Given a host with no way to interrupt a 1 s query
    db = SleepingDatabase(sleep_s=1.0, honours_interrupt=False)
    host = Host(database=db)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        run_script(
            "app1", "K.query('SELECT 2', []); while (true) {}", host=host, limits=RunLimits(timeout_s=0.3), pool=pool
        )
    # Then the run waits for it (the caller's transaction is still in use) and then ends
    assert len(db.ended) == 1
    assert 1.0 <= time.monotonic() - started < 1.5


def test_a_nested_runs_host_call_is_interrupted_at_the_shared_deadline(pool: Pool) -> None:
    # Given a method that calls another one which sleeps in SQL
    db = SleepingDatabase(sleep_s=10.0)
    interrupt = Interrupts(db)
    deadline = Deadline(0.6)
    host: Host | None = None
    sleeper = "K.query('SELECT pg_sleep(150)', []); K.setResponse('woke')"
    methods = MemoryMethods(pool, "app1", {"sleeper": sleeper}, lambda: host, deadline=deadline)  # type: ignore[arg-type,return-value]
    host = Host(database=db, methods=methods, interrupt=interrupt)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(ScriptTimeout):
        run_script("app1", "K.setResponse(K.callAPIMethod('sleeper', {}))", host=host, pool=pool, deadline=deadline)
    elapsed = time.monotonic() - started
    # Then the sleeping query was cancelled and both runs ended at the deadline
    assert interrupt.threads and len(db.ended) == 1
    assert 0.6 <= elapsed < 1.0, elapsed
    assert run_script("app1", "K.setResponse(3)", pool=pool).value == 3
