"""The bridge and the mini-racer internals it relies on."""

from __future__ import annotations

import ctypes
import inspect
import os
import queue
import time
from importlib.metadata import version

import py_mini_racer._dll as mr_dll
import py_mini_racer._objects as mr_objects

from runtime.engine import ERROR_KINDS, T_FUNCTION, T_SHARED_ARRAY_BUFFER, T_STR, Engine
from runtime.limits import Deadline, RunLimits
from runtime.pool import create_context


def test_bridge_contract_with_mini_racer_internals() -> None:
    # Given the mini-racer build the engine was written against
    problems = []
    if version("mini-racer") != "0.14.1":
        problems.append(f"mini-racer is {version('mini-racer')}, runtime/engine.py was verified on 0.14.1")
    for name in (
        "mr_init_context",
        "mr_eval",
        "mr_call_function",
        "mr_cancel_task",
        "mr_free_context",
        "mr_free_value",
        "mr_alloc_string_val",
        "mr_alloc_int_val",
        "mr_make_js_callback",
        "mr_get_object_item",
        "mr_set_object_item",
        "mr_set_hard_memory_limit",
        "mr_hard_memory_limit_reached",
    ):
        if not hasattr(mr_dll.init_mini_racer(ignore_duplicate_init=True), name):
            problems.append(f"libmini_racer lost {name}")
    types = mr_objects._MiniRacerTypes
    expected = {"str_utf8": T_STR, "function": T_FUNCTION, "shared_array_buffer": T_SHARED_ARRAY_BUFFER}
    for attr, code in expected.items():
        if getattr(types, attr, None) != code:
            problems.append(f"value type {attr} is no longer {code}")
    for code, kind in ((200, "execute"), (201, "parse"), (202, "oom"), (204, "terminated")):
        if ERROR_KINDS.get(code) != kind:
            problems.append(f"error code {code} changed")
    fields = [f[0] for f in mr_dll._RawValue._fields_]
    if fields != ["value", "len", "type"]:
        problems.append(f"raw value layout changed: {fields}")
    if "callback_id" not in inspect.signature(mr_dll.MrCallback.__call__).parameters:
        problems.append("callback signature changed")

    # When JS calls the native callback, then it blocks until our callback returns,
    # and our callback runs on another thread than the caller's
    engine = Engine("contract")
    try:
        deadline = Deadline(5)
        engine.set_global("__n", engine.make_bridge_function(), deadline)
        sab = engine.eval_handle("globalThis.__b = new SharedArrayBuffer(64); __b", deadline)
        view = engine.attach_buffer(sab)
        words = view[:16].cast("i")
        seen: list[int] = []

        def handler(_: str) -> str:
            seen.append(words[1])
            return "x"

        engine.channel.handle = lambda h: (seen.append(words[1]), words.__setitem__(2, 7))  # type: ignore[method-assign,union-attr]
        got = engine.eval("const w = new Int32Array(__b); w[1] = 41; __n(); w[2]", deadline, handler)
        if seen != [41] or got != 7:
            problems.append(f"synchronous callback contract broken: seen={seen} got={got}")
        # and a cancelled infinite loop leaves the context usable
        try:
            engine.eval("while (true) {}", Deadline(0.2))
            problems.append("infinite loop was not cancelled")
        except Exception:  # noqa: BLE001
            pass
        if engine.eval("1 + 1", deadline) != 2:
            problems.append("context unusable after cancellation")
    finally:
        engine.close()

    # And a job loop left behind by a task keeps the isolate thread running after the
    # task's result; freeing the context stops it, and still calls back for a task posted
    # just before (the engine lets its Python thread state go that way)
    spinner = Engine("contract-jobs")
    tid: int | None = None
    try:
        if spinner.eval("(function spin() { Promise.resolve().then(spin); })(); 7", Deadline(5)) != 7:
            problems.append("a task leaving jobs did not return its result")
        tid = spinner.native_tid
        time.sleep(0.05)
        activity = spinner.activity()
        if activity is None or not activity[0]:
            problems.append(f"a job loop does not show as a runnable isolate thread: {activity}")
    finally:
        spinner.close()
    if spinner._thread_hold is not None:
        problems.append("freeing a context did not call back for the task posted before it")
    if tid is None or os.path.exists(f"/proc/self/task/{tid}"):
        problems.append("freeing a context busy with jobs left its isolate thread running")
    assert not problems, (
        "mini-racer internals changed; runtime/engine.py and runtime/bridge.py need review:\n" + "\n".join(problems)
    )
    assert isinstance(ctypes.sizeof(mr_dll._RawValue), int)
    assert queue.SimpleQueue  # the engine's hand-off primitive


def _bridge_context():  # type: ignore[no-untyped-def]
    return create_context("bridge-test")


def test_round_trip_returns_answer_and_is_fast() -> None:
    # Given a warm context whose prelude bridge is exposed through a test-only hook
    context = _bridge_context()
    engine = context.engine
    try:
        deadline = Deadline(10)
        calls: list[str] = []

        def handler(request: str) -> str:
            calls.append(request)
            return '{"v":"pong"}'

        # When the script makes 500 host calls (md5 goes through the bridge)
        started = time.perf_counter()
        from runtime import Host
        from runtime.invocation import Invocation

        invocation = Invocation("bridge-test", "main", Host())
        engine.channel.preload(
            '{"code":"for (var i = 0; i < 500; i++) md5(\\"x\\" + i); K.setResponse(md5(\\"abc\\"))","method":"main","script":"main","params":{},"maxLogEntries":10,"maxLogChars":1000,"maxResponseChars":1000}'
        )
        out = engine.call(context.run, deadline, invocation.handle)
        elapsed = time.perf_counter() - started
    finally:
        engine.close()
    # Then every call was answered synchronously and each round trip is well under 1 ms
    assert out.endswith('\n"900150983cd24fb0d6963f7d28e17f72"')
    assert invocation.bridge_calls == 501
    assert elapsed / 501 < 0.001
    assert calls == []


def test_requests_and_answers_larger_than_the_buffer_travel_in_chunks(run, db) -> None:  # type: ignore[no-untyped-def]
    # Given rows far larger than the 256 KiB bridge buffer
    big = "é" * 300_000
    db.add("1_1_big", body=big)
    db.add("1_1_big", body=big + "!")
    # When the script reads them and writes one back
    result = run(
        "var rows = K.select('1_1_big').run(); K.insert('1_1_big', {body: rows.first().body + rows.last().body}); K.setResponse(rows.length)"
    )
    # Then nothing was truncated either way
    assert result.value == 2
    assert db.tables["1_1_big"][2]["body"] == big + big + "!"


def test_host_calls_run_on_the_isolate_thread_with_the_callers_context_variables(run, db) -> None:  # type: ignore[no-untyped-def]
    import contextvars
    import threading

    from runtime import Host

    # Given a host that records where it runs and what context it sees
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")
    seen: list[tuple[int, str]] = []

    class Recording:
        def run(self, request):  # type: ignore[no-untyped-def]
            seen.append((threading.get_ident(), request_id.get()))
            return []

        def query(self, sql, params):  # type: ignore[no-untyped-def]
            return []

    # When a script makes three host calls from a caller that set the variable
    token = request_id.set("req-42")
    try:
        run(
            "K.select('1_1_t').run(); K.select('1_1_t').run(); K.select('1_1_t').run();",
            host_=Host(database=Recording()),
        )
    finally:
        request_id.reset(token)
    # Then each ran on V8's thread (no hand-off to the caller), seeing the caller's value
    assert len(seen) == 3
    assert {value for _, value in seen} == {"req-42"}
    assert threading.get_ident() not in {thread for thread, _ in seen}


def test_a_host_call_outlasting_the_time_limit_ends_the_run_as_a_timeout(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import threading

    import runtime.engine
    from runtime import Host, RunLimits, ScriptTimeout

    monkeypatch.setattr(runtime.engine, "_CANCEL_GRACE_S", 0.2)
    # Given a host call that takes longer than the limit plus the grace after it
    calls: list[float] = []
    finished = threading.Event()

    class Slow:
        def run(self, request):  # type: ignore[no-untyped-def]
            calls.append(time.monotonic())
            time.sleep(0.8)
            finished.set()
            return []

        def query(self, sql, params):  # type: ignore[no-untyped-def]
            return []

    started = time.monotonic()
    # When a script keeps calling it under a 0.3 s limit
    try:
        run("while (true) K.select('1_1_t').run();", limits=RunLimits(timeout_s=0.3), host_=Host(database=Slow()))
        raise AssertionError("the run should time out")
    except ScriptTimeout:
        pass
    # Then the run ends as a timeout, only after the host call in progress returned
    # (the caller may end the transaction it used), and no host call started after the limit
    assert finished.is_set()
    assert len(calls) == 1
    assert time.monotonic() - started >= 0.8
    # And the pool keeps serving
    assert run("K.setResponse(1)").value == 1


def _python_thread_states() -> int:
    interp = ctypes.pythonapi.PyInterpreterState_Get
    interp.restype = ctypes.c_void_p
    head = ctypes.pythonapi.PyInterpreterState_ThreadHead
    head.restype, head.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    following = ctypes.pythonapi.PyThreadState_Next
    following.restype, following.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    count, state = 0, head(interp())
    while state:
        count, state = count + 1, following(state)
    return count


def test_an_isolate_thread_keeps_one_python_thread_state_and_gives_it_back(run, pool) -> None:  # type: ignore[no-untyped-def]
    # Given the Python thread states before any context exists
    before = _python_thread_states()
    # When one context serves many runs with host calls, then contexts come and go
    for _ in range(20):
        run("K.setResponse(md5('x'))")
    during = _python_thread_states()
    for _ in range(10):
        engine = Engine("thread-states")
        engine.eval("1", Deadline(5))
        engine.close()
    pool.close()
    # Then the isolate thread held one state while it lived, and none is left behind
    assert during == before + 1
    assert _python_thread_states() == before


def test_a_run_with_thousands_of_host_calls_frees_their_values_along_the_way(run, pool) -> None:  # type: ignore[no-untyped-def]
    import runtime.engine

    # Given a script making more host calls than the engine keeps values of in one run
    calls = runtime.engine._GARBAGE_LIMIT * 3
    # (a long run: kept at its priority, so its context stays in the pool to look at)
    limits = RunLimits(timeout_s=5.0, deprioritize_after_s=None)
    code = f"var n = 0; for (var i = 0; i < {calls}; i++) if (md5('x' + i).length === 32) n++; K.setResponse(n);"
    result = run(code, limits=limits)
    # Then every call was answered and the values were handed back in batches meanwhile
    assert result.value == calls
    assert result.timings.bridge_calls >= calls
    (context,) = pool._idle["app1"]
    assert len(context.engine._garbage) < runtime.engine._GARBAGE_LIMIT
