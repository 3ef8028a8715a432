"""One V8 isolate + context, driven directly through mini-racer's C API.

We use `py_mini_racer._dll` rather than the `MiniRacer` class: the class routes every
call through an asyncio loop thread (three thread hops per eval, ~0.3 ms); calling the
DLL from the caller's thread and waiting on a queue costs ~0.08 ms. This relies on
mini-racer internals, so `mini-racer` is pinned and
`tests/runtime/test_bridge.py::test_bridge_contract_with_mini_racer_internals` checks
every assumption made here.

Facts this module relies on (mini-racer 0.14.1):
- `mr_init_context(cb)` starts an isolate thread; results of `mr_eval` /
  `mr_call_function` arrive through `cb(callback_id, raw_value)` on that thread.
- Microtasks run *after* the result callback (in the message pump), so a script's
  leftover jobs run before the next task on that context: the next run cleans up after
  them, and a context whose next run does not even start in time is stuck in them. No
  task can stop them (`mr_cancel_task` only stops the task that is running): the pool's
  job watch closes an idle context whose isolate thread keeps running (runtime/pool.py).
- `mr_cancel_task` terminates a running task and the context stays usable.
- `mr_free_context` stops even an isolate stuck in a microtask loop, and a task posted
  just before it still gets its result callback (V8 refuses to run it), on the isolate
  thread, before it returns.
- After the hard memory limit was hit, the context keeps failing: discard it.
"""

from __future__ import annotations

import contextvars
import ctypes
import itertools
import os
import queue
import sys
import threading
import time
from _thread import allocate_lock as _allocate_lock
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from py_mini_racer._dll import init_mini_racer, mr_callback_func
from py_mini_racer._objects import _ArrayBufferByte

from runtime.bridge import Channel
from runtime.errors import RawEngineError
from runtime.limits import Deadline

# mini-racer value type codes (py_mini_racer/_objects.py, _MiniRacerTypes)
T_NULL, T_BOOL, T_INT, T_DOUBLE, T_STR = 1, 2, 3, 4, 5
T_ARRAY, T_OBJECT, T_UNDEFINED = 6, 10, 11
T_FUNCTION, T_SHARED_ARRAY_BUFFER = 100, 101
ERROR_KINDS = {200: "execute", 201: "parse", 202: "oom", 203: "timeout", 204: "terminated"}
ERROR_KINDS.update({205: "execute", 206: "execute"})

BRIDGE_CALLBACK_ID = 1
_COLLECT = 0  # message id: a batch of values for the caller's thread to free
_CANCEL_GRACE_S = 2.0
# How long a failing run waits for a host call still running on the isolate thread (its
# SQL is bounded by the statement timeout) before giving up on it, when the host gave no
# way to interrupt it. With Host.interrupt the wait is one _CANCEL_GRACE_S.
_HOST_CALL_WAIT_S = 60.0
# While a timed-out run waits for V8 to stop, how often it looks for a host call that
# started just as the deadline passed (and must be interrupted too).
_INTERRUPT_POLL_S = 0.05
# Values V8 hands us are freed in batches, between tasks: each free posts work to the
# isolate's thread and wakes it, and while JS runs it also waits for the isolate.
_GARBAGE_BATCH = 64
_GARBAGE_LIMIT = 1024

# The isolate thread keeps one Python thread state for its whole life. Without it, every
# callback into Python from that (non-Python) thread creates a thread state and deletes
# it again, with a fresh frame-stack chunk each time (an mmap, page faults and a munmap
# that interrupts the other CPUs): 8 µs of a 13 µs host call, measured here.
# How long closing a context waits for the isolate thread to let go of its Python thread
# state (see Engine._let_thread_state_go).
_UNHOLD_WAIT_S = 0.05
# How much CPU time a long run's isolate thread must use after the first look to be
# lowered, as a share of deprioritize_after_s (Engine._maybe_deprioritize): 12.5 ms for
# the default 0.1 s. A quick script uses a few ms in all, however long it waited for a
# CPU; a CPU-bound one is there by the next look alone on a CPU, and with 8 sharing it
# (12.5 ms each in 100 ms) one look later.
_LOWER_CPU_SHARE = 0.125
# How often a run waiting for a run slot looks at its deadline again.
_SLOT_POLL_S = 0.05
# A run keeps its slot through a host call shorter than this (most SQL): giving it back
# and waiting for it again on every call let more runs in at once, which is what slots are
# there to stop. A longer call (a lock wait, a slow query) gives it back.
_HOST_SLOT_S = 0.005
# A run that outlasts RunLimits.deprioritize_after_s gets this nice value on its isolate
# thread (see Engine.deprioritize).
LOW_PRIORITY_NICE = 19

_pyapi = ctypes.pythonapi
_pyapi.PyGILState_Ensure.restype = ctypes.c_int
_pyapi.PyGILState_Release.argtypes = [ctypes.c_int]

# mini-racer's default (`--single-threaded`: no V8 helper threads; GC runs on the isolate's
# own thread), and no memory protection keys. TRICKY: on CPUs with PKU (AMD EPYC here), V8
# tags its heap with a protection key that only threads it set up may touch: freeing a
# context from any other thread (the pool's owner or its job watch, the exit hook) then
# died with SIGSEGV (SEGV_PKUERR) in the heap's teardown, every time.
V8_FLAGS = ("--single-threaded", "--no-memory-protection-keys")

_dll_lock = threading.Lock()
_dll: ctypes.CDLL | None = None
# TRICKY: V8 sets up process-wide state (its memory pools) when it creates an isolate, and
# two isolates created at the same moment can both try: "Check failed:
# !IsConfigurablePoolInitialized()" aborted a fresh web process now and then when its
# first requests (two apps) made contexts at once. mr_init_context builds the isolate on
# the caller's thread in about 1.5 ms, so creating contexts one at a time costs nothing
# that matters.
_create_lock = threading.Lock()


def dll() -> ctypes.CDLL:
    global _dll
    with _dll_lock:
        if _dll is None:
            _dll = init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)
        return _dll


def _value(raw: Any) -> Any:
    """Convert a raw mini-racer value we expect to be primitive; raise RawEngineError on errors."""
    contents = raw.contents
    typ = contents.type
    if typ in ERROR_KINDS:
        text = contents.value.bytes_val[0 : contents.len].decode("utf-8", "replace")
        raise RawEngineError(ERROR_KINDS[typ], text)
    if typ == T_STR:
        return contents.value.bytes_val[0 : contents.len].decode("utf-8", "surrogatepass")
    if typ == T_INT:
        return int(contents.value.int_val)
    if typ == T_DOUBLE:
        return float(contents.value.double_val)
    if typ == T_BOOL:
        return contents.value.int_val == 1
    if typ in (T_NULL, T_UNDEFINED):
        return None
    return ("<handle>", typ)


_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 10_000_000


def thread_activity(tid: int) -> tuple[bool, int] | None:
    """Whether kernel thread `tid` of this process is runnable (running or waiting for a
    CPU) right now, and how long it has run or waited to run so far, in ns. Linux only
    (/proc/self/task/<tid>/stat and schedstat); None elsewhere or if the thread is gone.

    Both are needed: the times grow for a thread that wants the CPU and stand still for
    one asleep, but the kernel adds a wait to them only once the thread got the CPU, so a
    starved thread shows up by its state alone."""
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            stat = f.read()
        after_name = stat[stat.rindex(b")") + 2 :]
        runnable = after_name[:1] == b"R"
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                fields = f.read().split()
            return runnable, int(fields[0]) + int(fields[1])
        except (OSError, ValueError, IndexError):
            fields = after_name.split()
            return runnable, (int(fields[11]) + int(fields[12])) * _TICK_NS  # utime + stime
    except (OSError, ValueError, IndexError):
        return None


def thread_cpu_ns(tid: int) -> int | None:
    """How long kernel thread `tid` of this process has run on a CPU so far, in ns (not
    counting time spent waiting for one). Linux only; None elsewhere or if it is gone."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _nice(tid: int) -> int:
    """The nice value of kernel thread `tid` (0: the calling thread); 0 where unknown."""
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except (OSError, AttributeError):
        return 0


_base: list[int] = []


def _base_nice() -> int:
    """The process's own nice value (its main thread's: the runtime never lowers that one)."""
    if not _base:
        _base.append(_nice(os.getpid()))
    return _base[0]


# The run in a host call on this (isolate) thread, if it holds run slots: a nested run
# started by that call takes its slot over.
_on_isolate = threading.local()


class _Turn:
    """A run waiting in line for a slot: a lock it sleeps on (held until someone wakes it)."""

    __slots__ = ("lock", "since", "woken", "handed")

    def __init__(self) -> None:
        self.lock = _allocate_lock()
        self.lock.acquire()
        self.since = time.monotonic()
        self.woken = False
        self.handed = False  # a slot was given to it directly


class RunSlots:
    """A process's run slots (see Engine.call). Waiters line up, oldest first.

    A slot given back wakes the oldest waiter, but whoever asks before it gets going may
    take the slot first (a run that just gave one back and asks again, a lane arriving):
    the CPU then goes to a run that is ready rather than idling while a thread wakes up.
    Once the oldest has waited STARVED_S, a slot given back goes to it directly and nobody
    can take it in between. Without that bound, 8 threads running a quick script in one
    process had a p50 of 1 ms and a p99 of 290 ms (the slowest call 1.3 s); handing every
    slot over directly cut the p99 to 36 ms but the calls per second by a third; with this
    bound the p99 was 35–46 ms at the first one's calls per second (docs/decisions.md)."""

    STARVED_S = 0.02

    def __init__(self, count: int) -> None:
        self.count = count
        self._free = count
        self._lock = threading.Lock()
        self._waiting: deque[_Turn] = deque()

    def acquire(self, give_up: Callable[[], bool], poll_s: float = _SLOT_POLL_S) -> bool:
        """Take a slot, waiting in line for one; `give_up()` is asked every `poll_s` while
        waiting (a deadline: Stop brings it forward). False: gave up, holds none."""
        with self._lock:
            if self._free and not self._starving():
                self._free -= 1
                return True
            turn = _Turn()
            self._waiting.append(turn)
        while True:
            turn.lock.acquire(timeout=poll_s)
            with self._lock:
                turn.woken = False
                if turn.handed:
                    return True
                if self._free and self._waiting[0] is turn:
                    self._waiting.popleft()
                    self._free -= 1
                    self._wake_oldest()  # another slot may be free too
                    return True
                if not give_up():
                    continue  # (a slot taken before this run got to it: wait on, in place)
                self._waiting.remove(turn)
                self._wake_oldest()
                return False

    def release(self) -> None:
        with self._lock:
            if self._starving():
                turn = self._waiting.popleft()
                turn.handed = True
                if not turn.woken:
                    turn.lock.release()
                return
            self._free += 1
            self._wake_oldest()

    def _starving(self) -> bool:
        return bool(self._waiting) and time.monotonic() - self._waiting[0].since >= self.STARVED_S

    def _wake_oldest(self) -> None:
        if self._free and self._waiting and not self._waiting[0].woken:
            self._waiting[0].woken = True
            self._waiting[0].lock.release()

    def free(self) -> int:
        """How many slots nobody holds."""
        return self._free

    def waiting(self) -> int:
        """How many runs wait in line for one."""
        return len(self._waiting)


def _interrupt(interrupt: Callable[[], None]) -> None:
    try:
        interrupt()
    except Exception:  # noqa: BLE001 - a host bug must not keep the caller from its timeout
        pass


@dataclass
class _Task:
    """The task a caller waits for, as the isolate thread sees it."""

    callback_id: int
    deadline: Deadline
    handler: Callable[[str], str] | None
    # The caller's context variables: host calls run on the isolate thread but see them.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    serving: bool = True  # host calls are answered (until the result arrives)
    cancelled: bool = False
    # The host's way to stop a host call in progress (Host.interrupt), called from the
    # waiting thread once the deadline passed.
    interrupt: Callable[[], None] | None = None
    # When to look whether the isolate thread is busy enough to be deprioritized
    # (RunLimits.deprioritize_after_s), every `lower_every_s` from then on.
    lower_at: Deadline | None = None
    lower_every_s: float = 0.0
    first_look_cpu_ns: int | None = None  # the isolate thread's CPU time at the first look
    lower_cpu_ns: float = 0.0  # CPU time after the first look that lowers it
    # The run slot (see Engine.call's `slots`): held while V8 runs the task's JavaScript
    # and through quick host calls, given back during a long one (or to a nested run), for
    # good once the run is lowered or over.
    slots: RunSlots | None = None
    slot_held: bool = False
    slot_done: bool = False
    slot_lock: threading.Lock = field(default_factory=threading.Lock)
    host_since: float | None = None  # when the host call in progress began


class Engine:
    """A warm V8 context. Not thread-safe: one thread at a time (the pool ensures it).

    Host calls run on the isolate's thread, inside our callback, while the caller's
    thread waits for the task's result: a run costs two thread hand-offs (start, result)
    however many host calls it makes. Handlers must therefore not rely on thread-local
    state of the caller (the caller's context variables are carried over)."""

    def __init__(self, app_id: str, buffer_bytes: int = 256 * 1024) -> None:
        self.app_id = app_id
        self.broken = False
        self.runs = 0
        self._dll = dll()
        self._messages: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self._callback_ids = itertools.count(BRIDGE_CALLBACK_ID + 1)
        self._task: _Task | None = None
        self._hosting = threading.Lock()  # held by the isolate thread while it runs a host call
        self._memory_limit = 0
        self._keep: list[Any] = []
        self._garbage: list[Any] = []
        self._garbage_lock = threading.Lock()
        self.channel: Channel | None = None
        self._thread_hold: int | None = None  # PyGILState_Ensure's answer, on the isolate thread
        self._unhold_cid = -1  # the task whose result lets the isolate thread's state go
        # The isolate thread's kernel thread id, learnt in its first callback: how the
        # runtime sees whether that thread still works and lowers its priority.
        self.native_tid: int | None = None
        # The isolate thread runs at LOW_PRIORITY_NICE: an unprivileged process cannot
        # raise it again, so the pool retires the context after its run.
        self.deprioritized = False
        # Called (on the waiting thread) when a run of this context is lowered as runaway.
        self.on_lowered: Callable[[], None] | None = None

        @mr_callback_func
        def on_v8(callback_id: int, raw: Any) -> None:
            # Runs on the isolate thread. A host call is answered right here: JS waits in
            # the native call until this returns, which makes the K API synchronous.
            if self._thread_hold is None:
                self._thread_hold = _pyapi.PyGILState_Ensure()
                if self.native_tid is None:
                    self.native_tid = threading.get_native_id()
                    # TRICKY: a thread inherits its creator's nice value. A context built
                    # inside a deprioritized run (a nested call's checkout) starts low, and
                    # must be retired like the run's own.
                    self.deprioritized = _nice(0) > _base_nice()
            elif callback_id == self._unhold_cid:
                # ctypes' own release, as this callback returns, then deletes the state.
                _pyapi.PyGILState_Release(self._thread_hold)
                self._thread_hold = None
            task = self._task
            if callback_id != BRIDGE_CALLBACK_ID:
                if task is not None and callback_id == task.callback_id:
                    # The run's result: jobs the script left behind run next, on this
                    # thread, and must not reach the host.
                    task.serving = False
                self._messages.put((callback_id, raw))
                return
            self._free(raw, on_isolate=True)
            channel = self.channel
            if channel is None:
                return
            if task is None or not task.serving or task.cancelled or task.handler is None or task.deadline.expired():
                channel.abort()
                return
            if self.deprioritized:
                # TRICKY: a host call runs Python, so it holds the process's GIL, which quick
                # calls of other apps need too; a nice-19 thread can lose its CPU while it
                # holds it, and a runaway loop of host calls takes it back at once. Letting
                # go of it first (about 1 µs) puts this thread behind any thread waiting for
                # it: measured here, 4 runaway `md5()` loops in one process took the p99 of
                # another app's quick calls from 5 ms to 50 ms without this, 10 ms with it.
                time.sleep(0)
            if task.slots is None:
                with self._hosting:
                    task.context.run(channel.handle, task.handler)
                return
            task.host_since = time.monotonic()
            _on_isolate.task = task  # a nested run takes the slot over (see _run)
            try:
                with self._hosting:
                    task.context.run(channel.handle, task.handler)
            finally:
                _on_isolate.task = None
                with task.slot_lock:
                    task.host_since = None
                    retake = not task.slot_held and not task.slot_done
            if retake:
                self._retake_slot(task)

        self._on_v8 = on_v8  # must outlive the context
        with _create_lock:
            self._ctx = self._dll.mr_init_context(on_v8)

    # -- low level -------------------------------------------------------------------

    def _string(self, text: str) -> Any:
        data = text.encode("utf-8", "surrogatepass")
        return self._dll.mr_alloc_string_val(self._ctx, data, len(data), T_STR)

    def _free(self, raw: Any, on_isolate: bool = False) -> None:
        """Set a value aside; it is freed with others between tasks (see _GARBAGE_BATCH)."""
        with self._garbage_lock:
            self._garbage.append(raw)
            if not on_isolate or len(self._garbage) < _GARBAGE_LIMIT:
                return
            batch, self._garbage = self._garbage, []
        # A script making very many host calls: the caller's thread frees these now, even
        # if that waits for the isolate (freeing on the isolate thread itself would not).
        self._messages.put((_COLLECT, batch))

    def _collect(self, at_least: int = 1) -> None:
        with self._garbage_lock:
            if len(self._garbage) < at_least:
                return
            batch, self._garbage = self._garbage, []
        self._free_now(batch)

    def _free_now(self, batch: list[Any]) -> None:
        if self._ctx is not None:
            for raw in batch:
                self._dll.mr_free_value(self._ctx, raw)

    def _wait(
        self,
        task: _Task,
        task_id: int,
        started: Callable[[], bool] | None,
        start_deadline: Deadline | None,
    ) -> Any:
        """Wait on this thread until the task's result arrives (host calls are answered on
        the isolate thread meanwhile). Returns the raw result."""
        grace: Deadline | None = None
        host_waited = False
        interrupted = False
        while True:
            timeout = grace.remaining() if grace else task.deadline.remaining()
            if task.lower_at is not None:
                timeout = min(timeout, task.lower_at.remaining())
            if task.deadline.poll_s is not None:
                timeout = min(timeout, task.deadline.poll_s)  # it may be brought forward (Stop)
            if start_deadline is not None:
                timeout = min(timeout, start_deadline.remaining())
            if grace is not None and task.interrupt is not None and not interrupted:
                timeout = min(timeout, _INTERRUPT_POLL_S)
            if task.slot_held:
                timeout = min(timeout, _HOST_SLOT_S)
            try:
                cid, raw = self._messages.get(timeout=max(timeout, 0.0005))
            except queue.Empty:
                if task.slot_held:
                    if self.deprioritized:  # lowered from outside (Pool: its app ran away)
                        self._give_slot(task, done=True)
                    else:
                        self._free_slot_of_long_host_call(task)
                if start_deadline is not None and start_deadline.expired():
                    assert started is not None
                    if started():
                        start_deadline = None  # a long run, not a stuck context: keep waiting
                        continue
                    # Still busy with an earlier task (a job loop a script left behind): only
                    # freeing the context stops it (the owner closes it).
                    self._dll.mr_cancel_task(self._ctx, task_id)
                    self.broken = True
                    raise RawEngineError("stuck", "the context did not start the run in time") from None
                if task.lower_at is not None and task.lower_at.expired():
                    self._maybe_deprioritize(task)
                if not task.cancelled:
                    if not task.deadline.expired():
                        continue  # woke early (the start check above was still pending)
                    # No further host call is answered; one in progress finishes first.
                    task.cancelled = True
                    grace = Deadline(_CANCEL_GRACE_S)
                    self._dll.mr_cancel_task(self._ctx, task_id)
                if task.interrupt is not None:
                    if not interrupted and self._hosting.locked():
                        # A host call is running past the deadline: the host stops it (its SQL
                        # is cancelled), and V8 stops as soon as the call returns.
                        interrupted = True
                        grace = Deadline(_CANCEL_GRACE_S)
                        _interrupt(task.interrupt)
                    if grace is not None and not grace.expired():
                        continue
                    if self._hosting.locked():
                        # The host call ignored the interrupt: the run is over for the caller
                        # all the same. The context is unusable while that call runs on its
                        # thread (close() leaves freeing it to the call's end).
                        self.broken = True
                        raise RawEngineError("timeout", "script exceeded its time limit") from None
                elif not host_waited and self._hosting.locked():
                    if grace is not None and not grace.expired():
                        continue
                    # A host call outlasted the grace (its SQL is bounded by the statement
                    # timeout): V8 stops once it returns. It must end before the caller
                    # ends the transaction it works in.
                    host_waited = True
                    if self._hosting.acquire(timeout=_HOST_CALL_WAIT_S):
                        self._hosting.release()
                        grace = Deadline(_CANCEL_GRACE_S)
                        continue
                if grace is not None and not grace.expired():
                    continue
                self.broken = True
                raise RawEngineError("broken", "V8 did not stop after cancellation") from None
            if cid == _COLLECT:
                self._free_now(raw)
                continue
            if cid != task.callback_id:  # a late result of an earlier cancelled task
                self._free(raw)
                continue
            if task.cancelled or task.deadline.expired():
                # A result after the deadline counts as a timeout too: a nested run sharing
                # the deadline may have ended first and handed the script its failure.
                self._free(raw)
                raise RawEngineError("timeout", "script exceeded its time limit")
            return raw

    def _run(
        self,
        start: Callable[[int], int],
        deadline: Deadline,
        handler: Callable[[str], str] | None,
        started: Callable[[], bool] | None = None,
        start_timeout_s: float | None = None,
        interrupt: Callable[[], None] | None = None,
        deprioritize_after_s: float | None = None,
        slots: RunSlots | None = None,
    ) -> Any:
        if self.broken:
            raise RawEngineError("broken", "context is broken")
        self._collect(at_least=_GARBAGE_BATCH)
        task = _Task(next(self._callback_ids), deadline, handler, interrupt=interrupt)
        if slots is not None and not self.deprioritized:
            # A lowered run takes none: it only gets CPU nobody else wants. A nested run
            # (on the isolate thread of a run in a host call) takes over that run's slot.
            outer = getattr(_on_isolate, "task", None)
            if outer is not None:
                self._give_slot(outer)
            if not slots.acquire(deadline.expired):
                raise RawEngineError("timeout", "script exceeded its time limit")
            task.slots, task.slot_held = slots, True
            if self.deprioritized:  # lowered while it waited: its app ran away meanwhile
                self._give_slot(task, done=True)
        if deprioritize_after_s is not None and not self.deprioritized:
            # The first look (half-way) notes the thread's CPU time, the next ones compare.
            half = deprioritize_after_s / 2
            task.lower_at, task.lower_every_s = Deadline(half), max(half, 0.005)
            task.lower_cpu_ns = _LOWER_CPU_SHARE * deprioritize_after_s * 1e9
        self._task = task
        try:
            # (counted from here: not the wait for a slot)
            start_deadline = None if start_timeout_s is None else Deadline(start_timeout_s)
            return self._wait(task, start(task.callback_id), started, start_deadline)
        finally:
            task.serving = False
            self._give_slot(task, done=True)

    @staticmethod
    def _give_slot(task: _Task, done: bool = False) -> None:
        """Give the task's run slot back; `done`: and never take it again (the run is over
        or lowered). From the waiting thread or the isolate thread (around a host call)."""
        if task.slots is None:
            return
        with task.slot_lock:
            held, task.slot_held = task.slot_held, False
            task.slot_done = task.slot_done or done
        if held:
            task.slots.release()

    @staticmethod
    def _free_slot_of_long_host_call(task: _Task) -> None:
        """On the waiting thread: give the slot back for a host call running longer than
        _HOST_SLOT_S (the isolate thread takes one again when the call returns)."""
        with task.slot_lock:
            since = task.host_since
            if not task.slot_held or since is None or time.monotonic() - since < _HOST_SLOT_S:
                return
            task.slot_held = False
        assert task.slots is not None
        task.slots.release()

    @staticmethod
    def _retake_slot(task: _Task) -> None:
        """After a host call, on the isolate thread: wait for a run slot before the script
        goes on. Given up once the run is over, lowered or out of time (V8 then stops it)."""
        slots = task.slots
        assert slots is not None
        if slots.acquire(lambda: task.slot_done or task.cancelled or task.deadline.expired()):
            with task.slot_lock:
                if not task.slot_done:
                    task.slot_held = True
                    return
            slots.release()  # the run ended meanwhile

    def _result(self, raw: Any) -> Any:
        try:
            return _value(raw)
        except RawEngineError as error:
            if error.kind == "oom" or self._dll.mr_hard_memory_limit_reached(self._ctx):
                self.broken = True
                raise RawEngineError("oom", error.text or "script exceeded its memory limit") from None
            raise
        finally:
            self._free(raw)

    # -- public ----------------------------------------------------------------------

    def eval_handle(self, code: str, deadline: Deadline) -> Any:
        """Evaluate code and keep the raw result handle (functions, buffers, arrays)."""
        code_raw = self._string(code)
        try:
            raw = self._run(lambda cid: self._dll.mr_eval(self._ctx, code_raw, cid), deadline, None)
        finally:
            self._free(code_raw)
        typ = raw.contents.type
        if typ in ERROR_KINDS:
            self._result(raw)  # raises
        self._keep.append(raw)
        return raw

    def eval(self, code: str, deadline: Deadline, handler: Callable[[str], str] | None = None) -> Any:
        code_raw = self._string(code)
        try:
            raw = self._run(lambda cid: self._dll.mr_eval(self._ctx, code_raw, cid), deadline, handler)
        finally:
            self._free(code_raw)
        return self._result(raw)

    def call(
        self,
        function: Any,
        deadline: Deadline,
        handler: Callable[[str], str] | None = None,
        start_timeout_s: float | None = None,
        interrupt: Callable[[], None] | None = None,
        deprioritize_after_s: float | None = None,
        slots: RunSlots | None = None,
    ) -> Any:
        """Call a JS function handle with no arguments.

        start_timeout_s: the function must bump the channel's run counter within this
        time, or the context is declared stuck (RawEngineError "stuck", engine broken).
        interrupt: called from this thread when the deadline passes during a host call
        (Host.interrupt); the run then ends within _CANCEL_GRACE_S.
        deprioritize_after_s: a call still running after this long gets its isolate
        thread's priority lowered (see deprioritize).
        slots: the process's run slots (Pool.run_slots): the call's JavaScript runs only
        while it holds one (waited for until the deadline); it is given back during a
        host call longer than _HOST_SLOT_S or one that starts a nested run, and for good
        once the run is lowered."""
        argv, this = self._no_args
        started: Callable[[], bool] | None = None
        if start_timeout_s is not None and self.channel is not None:
            channel, before = self.channel, self.channel.runs_started()
            started = lambda: channel.runs_started() != before  # noqa: E731
        else:
            start_timeout_s = None
        raw = self._run(
            lambda cid: self._dll.mr_call_function(self._ctx, function, this, argv, cid),
            deadline,
            handler,
            started,
            start_timeout_s,
            interrupt,
            deprioritize_after_s,
            slots,
        )
        return self._result(raw)

    def item(self, obj: Any, index: int) -> Any:
        key = self._dll.mr_alloc_int_val(self._ctx, index, T_INT)
        try:
            raw = self._dll.mr_get_object_item(self._ctx, obj, key)
        finally:
            self._free(key)
        self._keep.append(raw)
        return raw

    def set_global(self, name: str, value_raw: Any, deadline: Deadline) -> None:
        glob = self.eval_handle("globalThis", deadline)
        key = self._string(name)
        try:
            result = self._dll.mr_set_object_item(self._ctx, glob, key, value_raw)
            self._free(result)
        finally:
            self._free(key)

    def make_bridge_function(self) -> Any:
        raw = self._dll.mr_make_js_callback(self._ctx, BRIDGE_CALLBACK_ID)
        self._keep.append(raw)
        return raw

    def attach_buffer(self, raw: Any) -> memoryview:
        contents = raw.contents
        if contents.type != T_SHARED_ARRAY_BUFFER:
            raise RuntimeError(f"expected a SharedArrayBuffer handle, got type {contents.type}")
        cdata = (_ArrayBufferByte * contents.len).from_address(contents.value.value_ptr)
        view = memoryview(cdata).cast("B")
        self.channel = Channel(view)
        return view

    def prepare_calls(self, deadline: Deadline) -> None:
        self._no_args = (self.eval_handle("[]", deadline), self.eval_handle("undefined", deadline))

    def _maybe_deprioritize(self, task: _Task) -> None:
        """A long task: lower the isolate thread's priority once it has run on a CPU for
        _LOWER_CPU_SHARE of deprioritize_after_s since the first look (made half-way
        there). Waiting for a CPU does not count: on a loaded machine a quick run can wait
        in the run queue for longer than deprioritize_after_s, and lowering it for that
        made its whole app run at idle priority for RUNAWAY_MEMORY_S (runtime/pool.py),
        which loaded the machine more. CPU time rather than a share of the time: runaway
        scripts competing with each other for the CPUs each get a small share, and are
        lowered all the same, a little later. One waiting for a host call (its SQL, a
        nested run) uses no CPU and is looked at again later."""
        used_ns = self.cpu_ns()
        first = task.first_look_cpu_ns
        if used_ns is not None and (first is None or used_ns - first < task.lower_cpu_ns):
            if first is None:
                task.first_look_cpu_ns = used_ns
            task.lower_at = Deadline(task.lower_every_s)
            return
        task.lower_at = None
        self.deprioritize()  # (or no way to tell on this system: lowered as a long run)
        if self.on_lowered is not None:
            self.on_lowered()  # first: the app's runs waiting for this slot are lowered
        self._give_slot(task, done=True)

    def deprioritize(self) -> bool:
        """Lower the isolate thread's CPU priority to LOW_PRIORITY_NICE (Linux keeps a nice
        value per thread): a runaway script then only gets CPU the quick calls of other
        apps leave over. Irreversible without privileges, so the context is retired after
        its run. False when the thread or the OS would not have it."""
        if self.deprioritized:
            return True
        if self.native_tid is None or not hasattr(os, "setpriority"):
            return False
        try:
            os.setpriority(os.PRIO_PROCESS, self.native_tid, LOW_PRIORITY_NICE)
        except OSError:
            return False
        # SCHED_IDLE as well where there is one: a thread of that policy is preempted at
        # once whenever a normal thread wakes up, where nice 19 alone still made a waking
        # quick call wait for the end of the spinner's slice (EEVDF, measured here: the
        # victim's p99 2.7x quiet with nice 19 alone).
        if hasattr(os, "SCHED_IDLE"):
            try:
                os.sched_setscheduler(self.native_tid, os.SCHED_IDLE, os.sched_param(0))
            except OSError:
                pass
        self.deprioritized = True
        return True

    def in_host_call(self) -> bool:
        """Whether the isolate thread is answering a host call right now."""
        return self._hosting.locked()

    def cpu_ns(self) -> int | None:
        """The isolate thread's thread_cpu_ns."""
        if self.native_tid is None or self._ctx is None:
            return None
        return thread_cpu_ns(self.native_tid)

    def activity(self) -> tuple[bool, int] | None:
        """The isolate thread's thread_activity: (runnable now, ns run or waited to run)."""
        if self.native_tid is None or self._ctx is None:
            return None
        return thread_activity(self.native_tid)

    def set_memory_limit(self, limit: int) -> None:
        if limit != self._memory_limit:
            self._dll.mr_set_hard_memory_limit(self._ctx, limit)
            self._memory_limit = limit

    def close(self) -> None:
        if self._ctx is None:
            return
        if self._hosting.locked():
            # TRICKY: a host call that ignored Host.interrupt still runs on the isolate
            # thread, and freeing the context waits for that thread: the caller would wait
            # as long as the call. Free it once the call returns, off the caller's thread.
            self.broken = True
            threading.Thread(target=self._close_after_host_call, name="kiln-close", daemon=True).start()
            return
        self._close_now()

    def _close_after_host_call(self) -> None:
        with self._hosting:
            pass
        self._close_now()

    def _close_now(self) -> None:
        if self._ctx is None:
            return
        self._let_thread_state_go()
        self._collect()
        ctx, self._ctx = self._ctx, None
        self.broken = True
        self.channel = None
        self._keep.clear()
        self._dll.mr_free_context(ctx)

    def _let_thread_state_go(self) -> None:
        """Have the isolate thread drop the Python thread state it keeps, through the result
        callback of one last task, posted just before the context is freed, and wait (at
        most _UNHOLD_WAIT_S) for that callback: on an idle isolate it runs at once; on one
        still busy with a script's jobs, freeing the context stops them and the task then
        fails — its callback comes either way, before mr_free_context returns."""
        if self._thread_hold is None or sys.is_finalizing():
            return  # (while Python exits, the isolate thread could not call back into it)
        task = _Task(next(self._callback_ids), Deadline(0.0), None, serving=False)
        self._task = task
        self._unhold_cid = task.callback_id
        code = self._string("0")
        self._dll.mr_eval(self._ctx, code, task.callback_id)
        self._free(code)
        # TRICKY: freeing the context while the isolate thread is still inside that
        # callback (dropping its thread state) crashed the process now and then (a loop
        # closing pools of idle contexts: a segfault on the isolate thread within seconds).
        # On an idle isolate the callback comes at once; on one busy with jobs it comes only
        # as the context is freed, so that wait is short.
        until = time.monotonic() + _UNHOLD_WAIT_S
        while (left := until - time.monotonic()) > 0:
            try:
                cid, raw = self._messages.get(timeout=left)
            except queue.Empty:
                return
            if cid == task.callback_id:
                self._free(raw)
                return

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter teardown
            pass
