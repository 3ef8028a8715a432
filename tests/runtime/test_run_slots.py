"""Run slots: a pool lets at most `run_slots` scripts' JavaScript run at once; a run keeps
its slot through quick host calls, gives it back for a long one and for good once lowered,
and a nested run takes its caller's over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import MemoryMethods
from test_deadlines import SleepingDatabase

from runtime import Deadline, Host, Pool, RunLimits, ScriptTimeout, run_script
from runtime.engine import RunSlots

STEADY = RunLimits(timeout_s=5.0, deprioritize_after_s=None)  # never lowered: keeps its slot


def _busy(ms: int) -> str:
    return f"var t = Date.now(); while (Date.now() - t < {ms}) {{}} K.setResponse([t, Date.now()]);"


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = work()
        except Exception as error:  # noqa: BLE001 - the test looks at it
            out["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def _spans(pool: Pool, count: int) -> list[list[int]]:
    """Run `count` 40 ms busy loops of different apps at once; their [start, end] in ms."""
    runs = [
        _in_thread(lambda i=i: run_script(f"app{i}", _busy(40), pool=pool, limits=STEADY).value) for i in range(count)
    ]
    for thread, _ in runs:
        thread.join(10)
    return sorted(out["value"] for _, out in runs)


def _slot_free(pool: Pool) -> bool:
    assert pool.run_slots is not None
    assert pool.run_slots.free() <= pool.run_slots.count  # none given back twice
    if pool.run_slots.acquire(Deadline(1.0).expired):
        pool.run_slots.release()
        return True
    return False


def test_one_slot_runs_the_scripts_of_a_process_one_at_a_time() -> None:
    pool = Pool(run_slots=1)
    try:
        spans = _spans(pool, 4)
        assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), spans
        assert _slot_free(pool)
    finally:
        pool.close()
    # Without slots, the same four overlap
    unlimited = Pool(run_slots=0)
    try:
        spans = _spans(unlimited, 4)
        assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), spans
    finally:
        unlimited.close()


def test_a_long_host_call_gives_the_slot_back_for_the_other_apps() -> None:
    # Given the only slot's run waiting 0.6 s in SQL (a lock wait, a slow query)
    pool = Pool(run_slots=1)
    db = SleepingDatabase(sleep_s=0.6, honours_interrupt=False)
    waiting, out = _in_thread(
        lambda: (
            run_script(
                "app1", "K.query('SELECT pg_sleep(0.6)', []); K.setResponse('woke')", host=Host(database=db), pool=pool
            ).value
        )
    )
    try:
        while not db.started:
            time.sleep(0.005)
        # When another app's quick call comes
        started = time.monotonic()
        assert run_script("app2", "K.setResponse(2)", pool=pool).value == 2
        # Then it runs at once, and the waiting run takes a slot again when its call returns
        assert time.monotonic() - started < 0.3
        waiting.join(5)
        assert out == {"value": "woke"}
        assert _slot_free(pool)
    finally:
        pool.close()


def test_nested_runs_take_their_callers_slot_over() -> None:
    # Given one slot and a method calling itself five levels deep, each level doing SQL
    pool = Pool(run_slots=1)
    host: Host | None = None
    code = "var n = K.params.n; K.setResponse(n === 0 ? 'bottom' : K.callAPIMethod('down', {n: n - 1}));"
    methods = MemoryMethods(pool, "app1", {"down": code}, lambda: host)  # type: ignore[arg-type,return-value]
    host = Host(methods=methods)
    try:
        # Then it neither deadlocks nor waits for the slot at each level
        assert run_script("app1", code, params={"n": 5}, host=host, pool=pool).value == "bottom"
        assert len(methods.calls) == 5
        assert _slot_free(pool)
    finally:
        pool.close()


def test_a_lowered_runaway_gives_its_slot_back() -> None:
    # Given the only slot taken by a `while (true) {}`, which is lowered after 0.1 s
    pool = Pool(run_slots=1)
    spinner, out = _in_thread(
        lambda: run_script("spin", "while (true) {}", pool=pool, limits=RunLimits(timeout_s=1.5)).value
    )
    try:
        time.sleep(0.3)
        # When another app calls while it still spins
        started = time.monotonic()
        assert run_script("app2", "K.setResponse(2)", pool=pool).value == 2
        # Then that call did not wait for the spinner's end
        assert time.monotonic() - started < 0.5
        assert spinner.is_alive()
        spinner.join(5)
        assert isinstance(out.get("error"), ScriptTimeout)
        assert _slot_free(pool)
    finally:
        pool.close()


def test_waiting_for_a_slot_ends_at_the_runs_deadline() -> None:
    # Given the only slot held by a 1.2 s run that is never lowered
    pool = Pool(run_slots=1)
    holder, out = _in_thread(lambda: run_script("app1", _busy(1200), pool=pool, limits=STEADY).value)
    try:
        time.sleep(0.1)
        # Then a call with 0.3 s to live times out waiting, without waiting for the holder
        started = time.monotonic()
        with pytest.raises(ScriptTimeout):
            run_script("app2", "K.setResponse(2)", pool=pool, limits=RunLimits(timeout_s=0.3))
        assert 0.25 <= time.monotonic() - started < 0.9
        holder.join(5)
        assert "value" in out
        # And no slot leaked: the next call runs
        assert run_script("app2", "K.setResponse(3)", pool=pool).value == 3
        assert _slot_free(pool)
    finally:
        pool.close()


def test_when_one_run_of_an_app_is_lowered_its_others_are_too_and_free_the_slot() -> None:
    # Given eight `while (true) {}` calls of one app at once, and one run slot
    pool = Pool(run_slots=1)
    spinners = [
        _in_thread(lambda: run_script("spin", "while (true) {}", pool=pool, limits=RunLimits(timeout_s=1.5)))
        for _ in range(8)
    ]
    try:
        # Then the first one lowered lowers the others still waiting for the slot (or, if
        # one had not even been checked out yet, it starts low): none of them holds the
        # slot at normal priority for its own 0.1 s first
        deadline = time.monotonic() + 5
        while pool.lowered_with_app + pool.started_low < 7 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.lowered_with_app + pool.started_low == 7 and pool.lowered_with_app >= 1
        assert pool.runs_low("spin")
        # And another app's call runs while they all still spin
        assert run_script("app2", "K.setResponse(2)", pool=pool, limits=RunLimits(timeout_s=0.5)).value == 2
        for thread, out in spinners:
            thread.join(5)
            assert isinstance(out.get("error"), ScriptTimeout)
        assert _slot_free(pool)
    finally:
        pool.close()


# ── the line for a slot (RunSlots alone, no V8) ─────────────────────────────────────────


def _waiter(slots: RunSlots, give_up: Callable[[], bool] = lambda: False) -> tuple[threading.Thread, dict[str, Any]]:
    """A thread that waits in line for a slot; returns once it is in line."""
    before = slots.waiting()
    thread, out = _in_thread(lambda: slots.acquire(give_up, poll_s=0.01))
    until = time.monotonic() + 5
    while slots.waiting() == before and time.monotonic() < until:
        time.sleep(0.001)
    assert slots.waiting() == before + 1
    return thread, out


def test_a_slot_given_back_goes_to_a_run_that_waited_long_enough_and_nobody_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With free-for-all tokens, a run asking just as a slot came back took it before the
    # woken waiter could: 8 threads on one slot had a p99 of 290 ms against a p50 of 1 ms.
    monkeypatch.setattr(RunSlots, "STARVED_S", 0.0)
    slots = RunSlots(1)
    assert slots.acquire(lambda: True)
    first, first_out = _waiter(slots)
    second, second_out = _waiter(slots)
    slots.release()
    assert not slots.acquire(lambda: True)  # handed over: not free for the one asking now
    first.join(5)
    assert first_out == {"value": True}
    assert second_out == {}  # still in line, behind it
    slots.release()
    second.join(5)
    assert second_out == {"value": True}
    slots.release()
    assert (slots.free(), slots.waiting()) == (1, 0)


def test_before_that_a_run_ready_to_go_may_take_a_slot_and_the_waiter_keeps_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RunSlots, "STARVED_S", 60.0)
    slots = RunSlots(1)
    assert slots.acquire(lambda: True)
    waiter, out = _waiter(slots)
    slots.release()
    # Asked at once, before the woken waiter's thread gets going (this thread keeps the GIL).
    assert slots.acquire(lambda: True)
    time.sleep(0.05)  # the waiter woke, found nothing free, and waits on in place
    assert out == {} and slots.waiting() == 1
    slots.release()
    waiter.join(5)
    assert out == {"value": True}
    slots.release()
    assert (slots.free(), slots.waiting()) == (1, 0)


def test_a_waiter_that_gives_up_leaves_the_line_and_passes_on_what_it_was_woken_for() -> None:
    slots = RunSlots(1)
    assert slots.acquire(lambda: True)
    stop = threading.Event()
    quitter, quitter_out = _waiter(slots, stop.is_set)
    stayer, stayer_out = _waiter(slots)
    stop.set()
    quitter.join(5)
    assert quitter_out == {"value": False}
    assert slots.waiting() == 1
    slots.release()
    stayer.join(5)
    assert stayer_out == {"value": True}
    slots.release()
    assert (slots.free(), slots.waiting()) == (1, 0)


def test_many_runs_on_one_slot_each_get_it_and_none_is_lost() -> None:
    slots = RunSlots(1)
    held = [0]
    most = [0]
    done = [0]
    lock = threading.Lock()

    def run() -> None:
        for _ in range(200):
            assert slots.acquire(lambda: False, poll_s=0.01)
            with lock:
                held[0] += 1
                most[0] = max(most[0], held[0])
            time.sleep(0)
            with lock:
                held[0] -= 1
            slots.release()
        with lock:
            done[0] += 1

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert (done[0], most[0]) == (8, 1)
    assert (slots.free(), slots.waiting()) == (1, 0)
