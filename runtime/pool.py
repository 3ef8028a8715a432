"""Warm V8 contexts per process, keyed by app; never shared between apps.

`checkout(app_id)` hands out an idle context of that app or builds one; `checkin` returns
it unless it is broken (then it is closed). An idle context still holds what its last run
left behind: the next run restores the globals first, in the same V8 task, and reports a
context that cannot be restored, which run_script then replaces (runtime/__init__.py).
Contexts are never shared between apps. Idle contexts are capped per app and in total
(least recently used app loses one first). Thread-safe.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from runtime import prelude
from runtime.binds import all_binds
from runtime.engine import Engine
from runtime.limits import Deadline

BUFFER_BYTES = 256 * 1024
_PRELUDE_TIMEOUT_S = 10.0


@dataclass
class Context:
    """An engine with its prelude installed: the run entry point."""

    engine: Engine
    run: Any
    created: float
    # The sources the prelude holds for this context: (code, script) -> id (prelude.SOURCES).
    sources: dict[tuple[str, str], int] = field(default_factory=dict)
    next_source_id: int = 0

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


class Pool:
    def __init__(self, idle_per_app: int = 4, idle_total: int = 32) -> None:
        self.idle_per_app = idle_per_app
        self.idle_total = idle_total
        self._idle: OrderedDict[str, list[Context]] = OrderedDict()
        self._lock = threading.Lock()
        self.created = 0
        self.discarded = 0
        _pools.add(self)

    def checkout(self, app_id: str) -> Context:
        while True:
            with self._lock:
                contexts = self._idle.get(app_id)
                if not contexts:
                    break
                self._idle.move_to_end(app_id)
                context = contexts.pop()
            if not context.engine.broken:
                return context
            self._close(context)
        context = create_context(app_id)
        with self._lock:
            self.created += 1
        return context

    def checkin(self, context: Context, healthy: bool = True) -> None:
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
            while self._idle_count() > self.idle_total:
                oldest_app = next(iter(self._idle))
                evicted.append(self._idle[oldest_app].pop(0))
                if not self._idle[oldest_app]:
                    del self._idle[oldest_app]
        for extra in evicted:
            self._close(extra)

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
        with self._lock:
            self.discarded += 1
        context.engine.close()

    def close(self) -> None:
        with self._lock:
            contexts = [c for group in self._idle.values() for c in group]
            self._idle.clear()
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


@atexit.register
def _close_pools() -> None:
    # TRICKY: an isolate still running (jobs a script left behind) when the interpreter
    # finalises would call back into Python after it can no longer take the GIL, and
    # freeing its context then hangs the exit. Close every pool's contexts while Python
    # is still whole.
    for pool in list(_pools):
        pool.close()
