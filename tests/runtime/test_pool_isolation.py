"""Pool: warm reuse per app, no sharing across apps, concurrent threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest

from runtime import Pool, run_script
from runtime.limits import Deadline


def test_contexts_are_reused_per_app_and_never_shared(pool: Pool) -> None:
    # Given two runs of app A and one of app B
    run_script("A", "globalThis.mark = 1; K.setResponse(1)", pool=pool)
    run_script("A", "K.setResponse(2)", pool=pool)
    run_script("B", "K.setResponse(3)", pool=pool)
    # Then app A reused its warm context and B got its own
    assert pool.created == 2
    assert pool.idle_count("A") == 1
    assert pool.idle_count("B") == 1


def test_the_total_cap_evicts_past_an_app_whose_last_idle_context_is_out() -> None:
    # Given a full pool (cap 3) whose oldest app has its only idle context checked out
    pool = Pool(idle_per_app=2, idle_total=3)
    try:
        for app in ("a", "b", "c"):
            run_script(app, "K.setResponse(1)", pool=pool)
        busy = pool.checkout("a")
        for app in ("b", "c"):  # used since: app "a" is now the least recently used
            run_script(app, "K.setResponse(1)", pool=pool)
        # When other apps check contexts in past the cap, the eviction skips app "a"
        for app in ("d", "e"):
            run_script(app, "K.setResponse(1)", pool=pool)
        assert pool.idle_count() == 3
        # And the one it had out comes back
        pool.checkin(busy)
        assert pool.idle_count() == 3
    finally:
        pool.close()


def test_checkout_of_a_warm_context_is_cheap(pool: Pool) -> None:
    pool.prewarm("A", 1)
    result = run_script("A", "K.setResponse(1)", pool=pool)
    assert result.timings.checkout_s < 0.001
    assert pool.created == 0  # prewarm goes through create_context directly


def test_a_methods_code_is_sent_to_a_context_once_and_resent_when_lost(pool: Pool) -> None:
    from runtime import prelude

    code = "K.setResponse(K.params.n * 2)"
    assert [run_script("A", code, params={"n": n}, pool=pool).value for n in (1, 2, 3)] == [2, 4, 6]
    (context,) = pool._idle["A"]
    assert len(context.sources) == 1  # one source held, sent on the first run only
    # A context that lost a source (the host believes it has id 999) gets the code again
    context.sources[("K.setResponse('other')", "main")] = 999
    assert run_script("A", "K.setResponse('other')", pool=pool).value == "other"
    # More distinct scripts than a context keeps: both sides start over at the same count
    for i in range(prelude.MAX_SOURCES * 2 + 3):
        assert run_script("A", f"K.setResponse({i})", pool=pool).value == i
    assert run_script("A", code, params={"n": 5}, pool=pool).value == 10
    assert pool.created == 1 and pool.discarded == 0


def test_eight_threads_get_independent_results(pool: Pool) -> None:
    # Given 8 threads running 20 runs each with their own params
    results: dict[int, list[object]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            out = []
            for i in range(20):
                r = run_script(
                    f"app{n % 3}",
                    "var acc = 0; for (var j = 0; j < 1000; j++) acc += j; "
                    "globalThis.seen = (globalThis.seen || 0) + 1; "
                    "K.setResponse([K.params.n, K.params.i, acc, seen, md5(K.params.n + ':' + K.params.i)])",
                    params={"n": str(n), "i": str(i)},
                    pool=pool,
                )
                out.append(r.value)
            results[n] = out
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Then every run saw only its own params and a fresh global scope
    assert errors == []
    import hashlib

    for n in range(8):
        assert results[n] == [
            [str(n), str(i), 499500, 1, hashlib.md5(f"{n}:{i}".encode()).hexdigest()] for i in range(20)
        ]


def _child(n: int) -> object:
    from runtime import run_script as child_run

    return child_run("proc", "K.setResponse(K.params.n * 2)", params={"n": n}).value


def test_two_processes_run_scripts(pool: Pool) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as processes:
        assert processes.map(_child, [1, 2, 3, 4]) == [2, 4, 6, 8]


def test_a_script_that_throws_keeps_its_context_and_leaves_nothing_behind(pool: Pool) -> None:
    from runtime import ScriptError

    # Given scripts that change globals and built-ins, then throw or fail to parse
    for code in (
        "globalThis.leak = 1; Array.prototype.sum = function () { return 1; }; JSON.parse = null; throw new Error('x');",
        "Object.defineProperty(Object.prototype, 'evil', {get() { return 1; }, configurable: true}); undefinedFunction();",
        "var x = ;",
        "function f() { return f(); } String.prototype.trim = null; f();",
    ):
        try:
            run_script("A", code, pool=pool)
            raise AssertionError(f"{code} should fail")
        except ScriptError:
            pass
        # Then the next run on the same (kept) context sees none of it
        clean = run_script(
            "A",
            "K.setResponse([typeof leak, typeof [].sum, typeof JSON.parse, ({}).evil, typeof ''.trim])",
            pool=pool,
        )
        assert clean.value == ["undefined", "undefined", "function", None, "function"]
    # a new context costs ~15 ms; a failed script must not cost one
    assert pool.created == 1 and pool.discarded == 0


_CLOSING_LOOP = """
import threading
from runtime import Pool, run_script

for _ in range(150):
    pool = Pool()

    def work(app):
        for _ in range(3):
            run_script(app, "K.setResponse([1, 2, 3].length)", pool=pool)

    threads = [threading.Thread(target=work, args=(f"app{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pool.close()
print("closed")
"""


def test_closing_many_pools_of_idle_contexts_never_crashes() -> None:
    # Freeing a context while its isolate thread was still dropping its Python thread
    # state segfaulted this loop within seconds (runtime/engine.py, _let_thread_state_go).
    # A process of its own: a crash must fail this test, not take the test run down.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _CLOSING_LOOP], capture_output=True, text=True, timeout=300
    )
    assert (done.returncode, done.stdout.strip()) == (0, "closed"), done.stderr[-3000:]


class _OverlapWatch:
    """The real mini-racer library, but mr_init_context records how many threads are in it
    at once (and lingers there, to widen the window)."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def mr_init_context(self, callback: Any) -> Any:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        try:
            time.sleep(0.01)
            return self._real.mr_init_context(callback)
        finally:
            with self._lock:
                self.inside -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_contexts_are_created_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two isolates created at the same moment could both set up V8's process-wide memory
    # pools: a fresh web process aborted ("Check failed: !IsConfigurablePoolInitialized()")
    # when its first requests, for two apps, made contexts at once.
    from runtime import engine as engine_module

    watch = _OverlapWatch(engine_module.dll())
    monkeypatch.setattr(engine_module, "dll", lambda: watch)
    barrier = threading.Barrier(6)
    made: list[engine_module.Engine] = []

    def make() -> None:
        barrier.wait()
        made.append(engine_module.Engine("overlap"))

    threads = [threading.Thread(target=make) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(made) == 6
        assert watch.most == 1
        assert all(e.eval("6 * 7", Deadline(5)) == 42 for e in made)
    finally:
        for e in made:
            e.close()


_FIRST_CONTEXTS_AT_ONCE = """
import threading
from runtime.engine import Engine

barrier = threading.Barrier(8)
made = []

def make():
    barrier.wait()
    made.append(Engine("first"))

threads = [threading.Thread(target=make) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
for engine in made:
    engine.close()
print(len(made))
"""


def test_a_fresh_process_making_its_first_contexts_at_once_survives() -> None:
    import subprocess
    import sys

    for _ in range(4):
        done = subprocess.run(
            [sys.executable, "-c", _FIRST_CONTEXTS_AT_ONCE], capture_output=True, text=True, timeout=60
        )
        assert (done.returncode, done.stdout.strip()) == (0, "8"), done.stderr[-3000:]


_CLOSED_ELSEWHERE = """
import threading
from runtime import run_script
from runtime.pool import Pool, default_pool

pool = Pool()
made = threading.Event()
done = threading.Event()

def lane():
    # V8 starts on this thread, as on a web process's first lane to serve a script.
    run_script("1", "K.setResponse(1)", pool=pool)
    run_script("2", "K.setResponse(2)")  # the default pool: closed by the exit hook
    made.set()
    done.wait()

thread = threading.Thread(target=lane)
thread.start()
made.wait()
pool.close()  # on the main thread, while the thread that made the context lives
done.set()
thread.join()
print("closed")
"""


def test_a_context_made_on_one_thread_closes_on_another() -> None:
    # On a CPU with memory protection keys (AMD EPYC here), V8 tagged its heap with a key
    # only the threads it set up could touch: freeing a context from any other thread (the
    # exit hook, the job watch) died with SIGSEGV in the heap's teardown, and every web
    # process crashed as it stopped (runtime/engine.py, V8_FLAGS).
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _CLOSED_ELSEWHERE], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "closed"), done.stderr[-3000:]
