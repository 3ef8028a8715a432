"""CPU fairness: a run that outlasts RunLimits.deprioritize_after_s drops its isolate
thread to nice 19 (and SCHED_IDLE), and that context is retired after the run (never
reused); for a while after a long run, every run of that app is lowered before it starts
(runtime/pool.py)."""

from __future__ import annotations

import glob
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from conftest import MemoryMethods

from runtime import EngineBroken, Host, Pool, RunLimits, ScriptTimeout, run_script
from runtime.engine import LOW_PRIORITY_NICE

BUSY_300_MS = "var t = Date.now(); while (Date.now() - t < 300) {} K.setResponse('done');"


def _nice_by_thread() -> dict[int, int]:
    """The nice value of every thread of this process (field 19 of /proc/…/stat)."""
    nice = {}
    for path in glob.glob("/proc/self/task/*/stat"):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        nice[int(path.split("/")[4])] = int(data[data.rindex(b")") + 2 :].split()[16])
    return nice


class NiceWatcher:
    """Records, while it runs, every thread of this process seen at LOW_PRIORITY_NICE."""

    def __init__(self) -> None:
        self.low: set[int] = set()
        self.idle_policy: set[int] = set()  # of those, the ones seen under SCHED_IDLE
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            low = {tid for tid, nice in _nice_by_thread().items() if nice == LOW_PRIORITY_NICE}
            self.low |= low
            for tid in low:
                try:
                    if os.sched_getscheduler(tid) == os.SCHED_IDLE:
                        self.idle_policy.add(tid)
                except OSError:
                    pass

    def __enter__(self) -> NiceWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not os.path.exists("/proc/self/task") or not hasattr(os, "setpriority"):
        pytest.skip("per-thread priorities are a Linux feature")


def test_a_runaway_script_runs_at_the_lowest_priority_and_is_not_reused(pool: Pool) -> None:
    # Given a script that never ends, under a 0.6 s limit
    with NiceWatcher() as watcher, pytest.raises(ScriptTimeout):
        run_script("app1", "while (true) {}", pool=pool, limits=RunLimits(timeout_s=0.6, deprioritize_after_s=0.1))
    # Then one thread (its isolate's) ran at nice 19 and SCHED_IDLE meanwhile, and is gone
    # with its context
    assert len(watcher.low) == 1
    assert watcher.idle_policy == watcher.low
    assert not os.path.exists(f"/proc/self/task/{next(iter(watcher.low))}")
    assert (pool.retired, pool.discarded, pool.idle_count()) == (1, 1, 0)


def _isolate_nice(pool: Pool, app_id: str, code: str = "K.setResponse(1)", **limits: Any) -> int:
    """The nice value of the isolate thread that ran `code` for `app_id`, seen at checkin."""
    seen: list[int] = []
    checkin = pool.checkin

    def spying(context: Any, healthy: bool = True) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, context.engine.native_tid))
        checkin(context, healthy)

    pool.checkin = spying  # type: ignore[method-assign]
    try:
        run_limits = RunLimits(**{"timeout_s": 5.0, "deprioritize_after_s": 0.1, **limits})
        run_script(app_id, code, pool=pool, limits=run_limits)
    finally:
        pool.checkin = checkin  # type: ignore[method-assign]
    return seen[-1]


def test_a_long_successful_run_retires_its_context(pool: Pool) -> None:
    limits = RunLimits(timeout_s=5.0, deprioritize_after_s=0.1)
    with NiceWatcher() as watcher:
        assert run_script("app1", BUSY_300_MS, pool=pool, limits=limits).value == "done"
    assert len(watcher.low) == 1
    # Its context is closed at checkin instead of being reused at low priority
    assert (pool.created, pool.retired, pool.idle_count()) == (1, 1, 0)
    assert run_script("app1", "K.setResponse(1)", pool=pool, limits=limits).value == 1
    # The next run (on a new context) was lowered before it started, and retired too
    assert (pool.created, pool.retired, pool.started_low, pool.idle_count()) == (2, 1, 1, 0)
    assert all(nice != LOW_PRIORITY_NICE for nice in _nice_by_thread().values())


def test_after_a_long_run_its_app_runs_low_from_the_start_and_other_apps_do_not(pool: Pool) -> None:
    # Given an app with a warm context at normal priority
    assert _isolate_nice(pool, "app1") == 0
    assert pool.idle_count("app1") == 1
    # When one of its runs is long
    run_script("app1", BUSY_300_MS, pool=pool, limits=RunLimits(timeout_s=5.0, deprioritize_after_s=0.1))
    assert pool.runs_low("app1") and not pool.runs_low("app2")
    # Then its next runs are lowered from their first instant, and never kept
    assert _isolate_nice(pool, "app1") == LOW_PRIORITY_NICE
    assert _isolate_nice(pool, "app1") == LOW_PRIORITY_NICE
    assert pool.idle_count("app1") == 0
    # While another app's runs keep their priority and their context
    assert _isolate_nice(pool, "app2") == 0
    assert _isolate_nice(pool, "app2") == 0
    assert pool.idle_count("app2") == 1
    # And a run that asks not to be lowered is not
    assert _isolate_nice(pool, "app1", deprioritize_after_s=None) == 0


def test_a_runaway_app_timing_out_is_remembered_too(pool: Pool) -> None:
    with pytest.raises(ScriptTimeout):
        run_script("app1", "while (true) {}", pool=pool, limits=RunLimits(timeout_s=0.3, deprioritize_after_s=0.1))
    assert pool.runs_low("app1")
    assert _isolate_nice(pool, "app1") == LOW_PRIORITY_NICE
    assert (pool.created, pool.retired, pool.started_low) == (2, 1, 1)


# About 0.2 s of CPU here, however long it waits for a CPU at idle priority.
BUSY_CPU = "var x = 0; for (var i = 0; i < 3e7; i++) { x = (x + i) | 0; } K.setResponse(x);"


def test_quick_runs_bring_an_app_back_to_normal_priority_after_a_while(pool: Pool) -> None:
    limits = RunLimits(timeout_s=5.0, deprioritize_after_s=0.1)
    run_script("app1", BUSY_300_MS, pool=pool, limits=limits)
    # A quick run lowered at its start does not extend the app's low time, however long
    # it waited for a CPU...
    until = pool._low_until["app1"]
    assert _isolate_nice(pool, "app1") == LOW_PRIORITY_NICE
    assert pool._low_until["app1"] == until
    # ...one that uses 0.1 s of CPU does (a flood of runaway runs keeps its app low)
    run_script("app1", BUSY_CPU, pool=pool, limits=RunLimits(timeout_s=60.0, deprioritize_after_s=0.1))
    assert pool._low_until["app1"] > until
    # Once the time is up, runs are back on normal contexts, kept warm again
    pool._low_until["app1"] = time.monotonic() - 1
    assert not pool.runs_low("app1")
    assert _isolate_nice(pool, "app1") == 0
    assert pool.idle_count("app1") == 1


def test_quick_runs_keep_their_priority_and_context(pool: Pool) -> None:
    limits = RunLimits(timeout_s=5.0, deprioritize_after_s=0.1)
    with NiceWatcher() as watcher:
        for i in range(30):
            assert run_script("app1", f"K.setResponse({i})", pool=pool, limits=limits).value == i
    assert watcher.low == set()
    assert (pool.created, pool.retired, pool.discarded, pool.idle_count()) == (1, 0, 0, 1)


def test_deprioritizing_can_be_switched_off(pool: Pool) -> None:
    limits = RunLimits(timeout_s=5.0, deprioritize_after_s=None)
    with NiceWatcher() as watcher:
        assert run_script("app1", BUSY_300_MS, pool=pool, limits=limits).value == "done"
    assert watcher.low == set()
    assert (pool.created, pool.retired, pool.idle_count()) == (1, 0, 1)


def test_a_long_nested_call_retires_the_busy_context_only(pool: Pool) -> None:
    # Given a quick method calling a long one: the caller's run lasts as long as the callee's
    host: Host | None = None
    methods = MemoryMethods(pool, "app1", {"long": BUSY_300_MS}, lambda: host)  # type: ignore[arg-type,return-value]
    host = Host(methods=methods)
    result = run_script("app1", "K.setResponse(K.callAPIMethod('long', {}))", host=host, pool=pool)
    assert result.value == "done"
    # Then the callee's isolate thread was lowered and its context retired; the caller's
    # only waited (no CPU), so it keeps its priority and its context
    assert (pool.created, pool.retired, pool.idle_count()) == (2, 1, 1)
    assert all(nice != LOW_PRIORITY_NICE for nice in _nice_by_thread().values())


class SlowDatabase:
    """K.query waits 0.3 s, as for a slow query: the isolate thread sleeps meanwhile."""

    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]] | int:
        time.sleep(0.3)
        return [{"n": 1}]

    def run(self, request: Any) -> list[dict[str, Any]] | int:
        return []


def test_a_run_waiting_for_its_sql_keeps_its_priority_and_context(pool: Pool) -> None:
    host = Host(database=SlowDatabase())  # type: ignore[arg-type]
    with NiceWatcher() as watcher:
        result = run_script("app1", "K.setResponse(K.query('SELECT pg_sleep(0.3)', []))", host=host, pool=pool)
    assert result.value == [{"n": 1}]
    assert watcher.low == set()
    assert (pool.created, pool.retired, pool.idle_count()) == (1, 0, 1)


class RecordingPool(Pool):
    """Notes the nice value of each context's isolate thread as the context comes back."""

    def __init__(self) -> None:
        super().__init__()
        self.nice_at_checkin: list[int] = []

    def checkin(self, context, healthy: bool = True) -> None:  # type: ignore[no-untyped-def]
        self.nice_at_checkin.append(os.getpriority(os.PRIO_PROCESS, context.engine.native_tid))
        super().checkin(context, healthy)


def test_a_context_built_inside_a_deprioritized_run_is_retired_too() -> None:
    pool = RecordingPool()
    # Given a long run that, once lowered, calls a method whose context is built then (on
    # its isolate thread, whose nice value a new thread inherits)
    host: Host | None = None
    methods = MemoryMethods(pool, "app1", {"quick": "K.setResponse('quick')"}, lambda: host)  # type: ignore[arg-type,return-value]
    host = Host(methods=methods)
    code = "var t = Date.now(); while (Date.now() - t < 300) {} K.setResponse(K.callAPIMethod('quick', {}));"
    try:
        assert run_script("app1", code, host=host, pool=pool).value == "quick"
        # Then both ran at low priority, and neither context is kept (the callee's started
        # low: lowering the caller made its app a remembered runaway at once)
        assert pool.nice_at_checkin == [LOW_PRIORITY_NICE, LOW_PRIORITY_NICE]
        assert (pool.created, pool.retired, pool.started_low, pool.idle_count()) == (2, 1, 1, 0)
        time.sleep(0.05)
        assert all(nice != LOW_PRIORITY_NICE for nice in _nice_by_thread().values())
    finally:
        pool.close()


def _loop(iterations: int) -> str:
    return f"var x = 0; for (var i = 0; i < {iterations}; i++) {{ x = (x + i) | 0; }} K.setResponse(x);"


def test_a_quick_run_that_waits_for_a_cpu_keeps_its_priority_and_its_app_is_not_remembered(pool: Pool) -> None:
    # On a loaded machine a quick run can wait in the run queue for longer than
    # deprioritize_after_s. It used to be lowered for that (it was runnable), and its app
    # then ran at idle priority for RUNAWAY_MEMORY_S: under load, ordinary apps were
    # demoted. Here its isolate thread shares one CPU with 24 busy processes.
    import subprocess
    import sys

    limits = RunLimits(timeout_s=10.0, deprioritize_after_s=0.1)
    # About 6 ms of CPU (measured in the isolate thread's CPU time, then scaled).
    unbounded = RunLimits(timeout_s=10.0, deprioritize_after_s=None)
    run_script("app1", "K.setResponse(0)", pool=pool, limits=unbounded)
    (context,) = pool._idle["app1"]
    before = context.engine.cpu_ns()
    run_script("app1", _loop(10_000_000), pool=pool, limits=unbounded)
    after = context.engine.cpu_ns()
    assert before is not None and after is not None
    iterations = int(10_000_000 * 0.006e9 / max(after - before, 1))
    cpu = min(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdout=subprocess.DEVNULL) for _ in range(24)]
    try:
        for process in busy:
            os.sched_setaffinity(process.pid, {cpu})
        assert context.engine.native_tid is not None
        os.sched_setaffinity(context.engine.native_tid, {cpu})
        time.sleep(0.2)
        started = time.monotonic()
        run_script("app1", _loop(iterations), pool=pool, limits=limits)
        waited = time.monotonic() - started
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert waited > 0.12  # it did wait for the CPU past the looks (at 50 and 100 ms)
    assert pool.retired == 0
    assert not pool.runs_low("app1")
    assert os.getpriority(os.PRIO_PROCESS, context.engine.native_tid) == 0


def test_runaway_scripts_sharing_one_cpu_are_all_lowered() -> None:
    # Lowering counts CPU time, not wall time: runaway scripts competing for a CPU each get
    # a small share of it, and must still be lowered (a little later than one alone).
    pool = Pool(idle_per_app=6, idle_total=12)
    try:
        pool.prewarm("app1", 6)
        cpu = min(os.sched_getaffinity(0))
        tids = [context.engine.native_tid for context in pool._idle["app1"]]
        for tid in tids:
            assert tid is not None
            os.sched_setaffinity(tid, {cpu})
        limits = RunLimits(timeout_s=1.5, deprioritize_after_s=0.1)
        timeouts: list[bool] = []

        def spin() -> None:
            try:
                run_script("app1", "while (true) {}", pool=pool, limits=limits)
            except (ScriptTimeout, EngineBroken):
                # (a lowered thread pinned to a CPU that other tests keep busy can take
                # longer than the cancel grace to stop: this test is about lowering)
                timeouts.append(True)

        with NiceWatcher() as watcher:
            threads = [threading.Thread(target=spin) for _ in tids]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert len(timeouts) == 6
        assert watcher.low == set(tids)
        assert pool.retired == 6
    finally:
        pool.close()
