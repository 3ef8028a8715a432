"""Warm V8 contexts per process, keyed by app; never shared between apps.

`checkout(app_id)` hands out an idle context of that app or builds one; `checkin` returns
it unless it is broken or its isolate thread was deprioritized (then it is closed). An
idle context still holds what its last run left behind: the next run restores the
globals first, in the same V8 task, and reports a context that cannot be restored, which
run_script then replaces (runtime/__init__.py). Contexts are never shared between apps.
Idle contexts are capped per app and in total (least recently used app loses one
first). Thread-safe.

Runaway apps: a run that outlasts RunLimits.deprioritize_after_s while keeping a CPU
busy has its isolate thread lowered to nice 19 / SCHED_IDLE (runtime/engine.py), which
an unprivileged process cannot undo, so its context is closed at checkin. The pool also
remembers the app for RUNAWAY_MEMORY_S: each of its checkouts meanwhile lowers the
context it hands out before the script starts (and that context is closed at checkin
like any lowered one). A flood of `while (true) {}` therefore runs at idle priority from
its first instant instead of taking 0.1 s at normal priority per run; other apps are
never lowered, and an app whose runs stay under 0.1 s of CPU for RUNAWAY_MEMORY_S is
back at normal priority. Lowered contexts are never kept idle: freeing a V8 context is
done at checkin, on the thread that ran it.

The job watch: V8 runs a script's promise jobs after its result went back (see
runtime/engine.py), and a job can queue the next one forever. Nothing on a run's own
path can see such jobs without a second hand-off to the isolate thread, so one watch
thread per process looks at each context shortly after its checkin: an isolate thread
that keeps running (or waiting for a CPU) for most of a WATCH_PERIOD_S, while its
context is idle, is running jobs, and the context is closed, which stops them. Jobs
therefore run two to three WATCH_PERIOD_S past their run (21–43 ms measured, on a busy
machine); a context handed out again before the watch judged it waits for its jobs at
the start of the next run, and is replaced after RunLimits.cleanup_timeout_s.

Run slots: a run's JavaScript runs only while it holds one of the pool's `run_slots`
(KILN_V8_RUNS_PER_PROCESS, default 1: one web process per CPU). Many runs in flight in
one process only thrash: at 32 connections, 16 at once per process served about half the
requests per second that one slot did. A run keeps its slot through host calls under
5 ms, gives it back for a longer one and to a nested run (runtime/engine.py), and for good
once it is lowered (a lowered run only gets CPU nobody else wants). The first run of an
app to be lowered makes the app a remembered runaway at once and lowers its other runs
not waiting in a host call (`_ran_away`); a run of a remembered runaway app starts
lowered and takes none. Waiting for a slot ends at the run's deadline.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from runtime import prelude
from runtime.binds import all_binds
from runtime.engine import Engine, RunSlots
from runtime.limits import Deadline

BUFFER_BYTES = 256 * 1024
_PRELUDE_TIMEOUT_S = 10.0
# The job watch's period; a context is first measured one period after its checkin (its
# isolate thread winding down from the run is not mistaken for jobs), then judged on the
# next one.
WATCH_PERIOD_S = 0.01
# The share of a period an isolate thread of an idle context may spend running or waiting
# to run before it counts as running jobs. An idle one sleeps (0 %); a job loop never
# does (100 %; when starved of CPU it is seen runnable at both looks instead).
_BUSY_SHARE = 0.5
# How long an app's runs start at low priority after its last long run (see above).
RUNAWAY_MEMORY_S = 30.0
# A run that started low counts as long (and keeps its app remembered) once its isolate
# thread has used this much CPU (the default RunLimits.deprioritize_after_s). CPU, not
# time: on a busy machine a quick run at idle priority can wait long for a CPU.
_LONG_RUN_NS = 100_000_000


@dataclass(eq=False)  # compared and hashed by identity (the job watch keeps a set)
class Context:
    """An engine with its prelude installed: the run entry point."""

    engine: Engine
    run: Any
    created: float
    # The sources the prelude holds for this context: (code, script) -> id (prelude.SOURCES).
    sources: dict[tuple[str, str], int] = field(default_factory=dict)
    next_source_id: int = 0
    idle: bool = False  # in the pool's idle lists (changed under the pool's lock)
    # The job watch's notes on the run it judges: when the context came back (which also
    # tells that run from a later one), and its isolate thread at the watch's last look.
    checked_in: float = 0.0
    measured_at: float = 0.0
    busy_ns: int | None = None
    runnable: bool = False
    started_low: bool = False  # lowered at its checkout (its app was remembered as runaway)
    cpu_at_checkout: int | None = None  # then: its isolate thread's CPU time (ns)

    def source(self, code: str, script: str) -> tuple[int, bool]:
        """The id of this source on the context, and whether JS still has to be sent it."""
        key = (code, script)
        known = self.sources.get(key)
        if known is not None:
            return known, False
        if len(self.sources) >= prelude.MAX_SOURCES:  # the prelude starts over at the same count
            self.sources.clear()
        self.next_source_id += 1
        self.sources[key] = self.next_source_id
        return self.next_source_id, True

    @property
    def app_id(self) -> str:
        return self.engine.app_id


_prelude_lock = threading.Lock()
_prelude_source: str | None = None


def prelude_source() -> str:
    global _prelude_source
    with _prelude_lock:
        if _prelude_source is None:
            _prelude_source = prelude.build((b.js for b in all_binds()), BUFFER_BYTES)
        return _prelude_source


def create_context(app_id: str) -> Context:
    engine = Engine(app_id)
    try:
        deadline = Deadline(_PRELUDE_TIMEOUT_S)
        engine.set_global("__kiln_notify", engine.make_bridge_function(), deadline)
        entry = engine.eval_handle(prelude_source(), deadline)
        run, sab = engine.item(entry, 0), engine.item(entry, 1)
        engine.attach_buffer(sab)
        engine.prepare_calls(deadline)
        return Context(engine=engine, run=run, created=time.monotonic())
    except BaseException:
        engine.close()
        raise


def default_run_slots() -> int:
    """KILN_V8_RUNS_PER_PROCESS, 1 when unset: Kiln starts a web process per CPU."""
    return max(0, int(os.environ.get("KILN_V8_RUNS_PER_PROCESS") or 1))


class Pool:
    def __init__(self, idle_per_app: int = 4, idle_total: int = 32, run_slots: int | None = None) -> None:
        self.idle_per_app = idle_per_app
        self.idle_total = idle_total
        # How many runs' JavaScript may run at once in this process (0: no limit); see
        # "Run slots" in the module docstring.
        slots = default_run_slots() if run_slots is None else run_slots
        self.run_slots = RunSlots(slots) if slots > 0 else None
        self._idle: OrderedDict[str, list[Context]] = OrderedDict()
        self._lock = threading.Lock()
        self._watched: set[Context] = set()  # idle contexts the job watch has not judged
        self.created = 0
        self.discarded = 0  # every context closed, for whatever reason
        self.retired = 0  # of those: deprioritized by a long run (not reused on purpose)
        self.started_low = 0  # runs lowered from their first instant (runaway apps)
        self.jobs_stopped = 0  # of those: closed by the job watch, still running jobs
        self.lowered_with_app = 0  # runs lowered because another run of their app was
        self._low_until: dict[str, float] = {}  # app -> its runs start low until then
        self._out: dict[str, set[Context]] = {}  # contexts checked out, by app
        _pools.add(self)

    def runs_low(self, app_id: str) -> bool:
        """Whether the app's runs start at low priority now (a recent long run)."""
        return self._low_until.get(app_id, 0.0) > time.monotonic()

    def checkout(self, app_id: str, may_lower: bool = True) -> Context:
        """An idle context of the app, or a new one; lowered before its run when the app
        is remembered as runaway (see the module docstring) and `may_lower`."""
        context = self._checkout(app_id)
        context.started_low = False
        if context.engine.on_lowered is None:
            context.engine.on_lowered = functools.partial(self._ran_away, app_id)
        with self._lock:
            self._out.setdefault(app_id, set()).add(context)
        if may_lower and self.runs_low(app_id) and context.engine.deprioritize():
            context.started_low = True
            context.cpu_at_checkout = context.engine.cpu_ns()
            with self._lock:
                self.started_low += 1
        return context

    @staticmethod
    def _used_long(context: Context) -> bool:
        """Whether a run that started low used _LONG_RUN_NS of CPU (unknown: it did not)."""
        before, after = context.cpu_at_checkout, context.engine.cpu_ns()
        return before is not None and after is not None and after - before >= _LONG_RUN_NS

    def _checkout(self, app_id: str) -> Context:
        while True:
            with self._lock:
                contexts = self._idle.get(app_id)
                if not contexts:
                    break
                self._idle.move_to_end(app_id)
                context = contexts.pop()
                context.idle = False
                if not contexts:
                    # An empty list left here would be the eviction's "oldest" in checkin.
                    del self._idle[app_id]
            if not context.engine.broken:
                return context
            self._close(context)
        context = create_context(app_id)
        with self._lock:
            self.created += 1
        return context

    def _ran_away(self, app_id: str) -> None:
        """A run of the app was just lowered: its app's runs start low from now on, and its
        other runs in progress (or waiting for a run slot) are lowered too — each would
        otherwise spin at normal priority, holding a run slot, until lowered on its own.
        A run waiting in a host call (a nested run's caller, say) uses no CPU: left be."""
        with self._lock:
            self._low_until[app_id] = time.monotonic() + RUNAWAY_MEMORY_S
            running = list(self._out.get(app_id, ()))
        for context in running:
            engine = context.engine
            if not engine.deprioritized and not engine.in_host_call() and engine.deprioritize():
                with self._lock:
                    self.lowered_with_app += 1

    def checkin(self, context: Context, healthy: bool = True) -> None:
        with self._lock:
            out = self._out.get(context.app_id)
            if out is not None:
                out.discard(context)
                if not out:
                    del self._out[context.app_id]
        if context.engine.deprioritized:
            # Its isolate thread stays at low priority for good: a long run pays for a
            # new context (about 15 ms), quick runs never do. Lowered during its run, or
            # long on a context lowered at checkout: its app's runs start low for a while.
            now = time.monotonic()
            long_run = not context.started_low or self._used_long(context)
            with self._lock:
                if not context.started_low:
                    self.retired += 1
                if long_run:
                    self._low_until[context.app_id] = now + RUNAWAY_MEMORY_S
                    if len(self._low_until) > 4 * self.idle_total:
                        self._low_until = {a: t for a, t in self._low_until.items() if t > now}
            self._close(context)
            return
        if not healthy or context.engine.broken:
            self._close(context)
            return
        evicted: list[Context] = []
        with self._lock:
            contexts = self._idle.setdefault(context.app_id, [])
            self._idle.move_to_end(context.app_id)
            if len(contexts) >= self.idle_per_app:
                evicted.append(context)
            else:
                contexts.append(context)
                context.idle = True
                context.checked_in, context.busy_ns = time.monotonic(), None
                self._watched.add(context)
            while self._idle_count() > self.idle_total:
                oldest_app = next(iter(self._idle))
                gone = self._idle[oldest_app].pop(0)
                gone.idle = False
                evicted.append(gone)
                if not self._idle[oldest_app]:
                    del self._idle[oldest_app]
        for extra in evicted:
            self._close(extra)
        _job_watch.wake()

    def _sweep(self) -> bool:
        """One look of the job watch at the contexts checked in since it last judged them.
        Closes those whose isolate thread is still busy. True while some remain to judge."""
        with self._lock:
            watched = [(context, context.checked_in) for context in self._watched]
        now = time.monotonic()
        judged: list[tuple[Context, float]] = []
        busy: list[tuple[Context, float]] = []
        for context, checked_in in watched:
            if not context.idle or now - checked_in < WATCH_PERIOD_S:
                continue  # in use again (its run waits for leftover jobs itself), or still
                # winding down from its run
            sample = context.engine.activity()
            if sample is None:
                judged.append((context, checked_in))  # no way to tell on this system: the
                continue  # next run's start check remains
            runnable, busy_ns = sample
            if context.busy_ns is None or not context.runnable and runnable:
                # First look; or it slept and now runs (a V8 housekeeping task, or a job
                # loop seen in a GC pause): measure again from here.
                if context.checked_in == checked_in:
                    context.busy_ns, context.measured_at, context.runnable = busy_ns, now, runnable
            elif (runnable and context.runnable) or (
                busy_ns - context.busy_ns >= _BUSY_SHARE * (now - context.measured_at) * 1e9
            ):
                busy.append((context, checked_in))
            else:
                judged.append((context, checked_in))  # asleep after sleeping most of the
                # period: its jobs (if any) are done
        doomed: list[Context] = []
        with self._lock:
            for context, checked_in in judged:
                if context.checked_in == checked_in:
                    self._watched.discard(context)
            for context, checked_in in busy:
                if not context.idle or context.checked_in != checked_in:
                    continue  # taken or back again meanwhile: judged anew
                self._watched.discard(context)
                group = self._idle.get(context.app_id, [])
                if context in group:
                    group.remove(context)
                    if not group:
                        del self._idle[context.app_id]
                context.idle = False
                doomed.append(context)
            # Contexts no longer idle leave the watch; checked in again, they come back.
            self._watched = {context for context in self._watched if context.idle}
            pending = bool(self._watched)
        for context in doomed:
            self._close(context)
            with self._lock:
                self.jobs_stopped += 1
        return pending

    def prewarm(self, app_id: str, count: int) -> None:
        for _ in range(count):
            self.checkin(create_context(app_id))

    def idle_count(self, app_id: str | None = None) -> int:
        with self._lock:
            if app_id is not None:
                return len(self._idle.get(app_id, ()))
            return self._idle_count()

    def _idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def _close(self, context: Context) -> None:
        context.engine.close()
        with self._lock:
            self.discarded += 1

    def close(self) -> None:
        with self._lock:
            contexts = [c for group in self._idle.values() for c in group]
            self._idle.clear()
            self._watched.clear()
            for context in contexts:
                context.idle = False
        for context in contexts:
            context.engine.close()


_default_lock = threading.Lock()
_default: Pool | None = None


def default_pool() -> Pool:
    global _default
    with _default_lock:
        if _default is None:
            _default = Pool()
        return _default


_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


class _JobWatch:
    """The thread behind Pool._sweep: it sleeps until a checkin wakes it, then looks every
    WATCH_PERIOD_S until every pool's checked-in contexts are judged. A checkin while it
    is already looking costs a flag read."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self.sweeping = threading.Lock()  # held while a look may close contexts
        self._thread: threading.Thread | None = None
        self.stopped = False

    def wake(self) -> None:
        if not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self.stopped:
                    self._thread = threading.Thread(target=self._loop, name="kiln-job-watch", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while not self.stopped:
            self._wake.wait()
            while not self.stopped and not sys.is_finalizing():
                self._wake.clear()
                time.sleep(WATCH_PERIOD_S)
                pending = False
                with self.sweeping:
                    if self.stopped:
                        return
                    for pool in list(_pools):
                        if pool._sweep():
                            pending = True
                if not pending and not self._wake.is_set():
                    break


_job_watch = _JobWatch()


@atexit.register
def _close_pools() -> None:
    # TRICKY: an isolate still running (jobs a script left behind) when the interpreter
    # finalises would call back into Python after it can no longer take the GIL, and
    # freeing its context then hangs the exit. Close every pool's contexts while Python
    # is still whole — and not while the job watch is closing one: wait for its look.
    _job_watch.stopped = True
    with _job_watch.sweeping:
        for pool in list(_pools):
            pool.close()
