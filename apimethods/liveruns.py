"""Run It! while it runs: its log lines reach the console live, and Stop reaches it.

A Run It! runs on a console lane thread of a web process; the console's WebSockets are
served by daphne, another process, and there may be several web processes. They meet in
Redis, and only Run It! runs with a run id pay anything (deployed calls never come here):

- Log lines: the run's `on_log` keeps each entry the runtime kept (within the usual log
  caps). One thread per web process ("kiln-live-runs") sends each run's new lines as one
  channel-layer message to the run's group every FLUSH_S while the run goes on, so a
  script that logs 10,000 lines makes about ten sends a second, not 10,000.
- Stop: the consumer stores who asked under the run's stop key (`request_stop`); the same
  thread reads the keys of every run of its process with one MGET per FLUSH_S and brings
  the stopped run's deadline forward to now: the run ends as at its deadline (JS
  terminated, running SQL cancelled, the transaction rolled back) and fails with
  ScriptStopped, "Stopped by <user>". A stop that arrives before its run has started is
  found by the first look (the key lives STOP_TTL_S).

Run ids come from the browser (it watches the run's group before it starts the run), and
every key and group carries the app id too: a run id of another app leads nowhere.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from rest_framework.exceptions import APIException

from apimethods.hosts import redis_client
from console.apps.models import Role
from console.apps.queries import access_app
from console.realtime import broadcast_async, run_group
from runtime.limits import StoppableDeadline

logger = logging.getLogger(__name__)

RUN_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
FLUSH_S = 0.1
STOP_TTL_S = 300


def stop_key(app_id: int, run_id: str) -> str:
    # The database name keeps installations (and parallel test databases) sharing one
    # Redis apart, as for K.session.
    return f"kiln:{settings.DATABASES['default']['NAME']}:runstop:{app_id}:{run_id}"


@dataclass(eq=False)
class LiveRun:
    app_id: int
    run_id: str
    deadline: StoppableDeadline
    # Every log entry the run kept so far, as Run It! answers them. Appended on the
    # isolate's thread, read by the watcher's (list appends and slices are atomic).
    entries: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0  # how many of `entries` went out


class _Watcher:
    """The per-process thread that sends live runs' lines and looks for their stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[tuple[int, str], LiveRun] = {}
        self._ended: list[LiveRun] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run: LiveRun) -> None:
        with self._lock:
            self._runs[(run.app_id, run.run_id)] = run
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._main, name="kiln-live-runs", daemon=True)
                self._thread.start()
            self._wake.set()

    def remove(self, run: LiveRun) -> None:
        with self._lock:
            if self._runs.get((run.app_id, run.run_id)) is run:
                del self._runs[(run.app_id, run.run_id)]
            self._ended.append(run)
            self._wake.set()

    def _main(self) -> None:
        # One event loop for the thread's life: the channel layer keeps its Redis
        # connections per loop.
        loop = asyncio.new_event_loop()
        while True:
            self._wake.wait()
            with self._lock:
                running, ended, self._ended = list(self._runs.values()), self._ended, []
                if not running and not ended:
                    self._wake.clear()
                    continue
            try:
                self._look_for_stops(running)
                loop.run_until_complete(self._send(running, ended))
            except Exception:  # noqa: BLE001 - Redis trouble costs live lines, never the runs
                logger.warning("live Run It! lines or stops not handled", exc_info=True)
            time.sleep(FLUSH_S)

    def _look_for_stops(self, running: list[LiveRun]) -> None:
        if not running:
            return
        asked = redis_client().mget([stop_key(run.app_id, run.run_id) for run in running])
        for run, who in zip(running, asked, strict=True):
            if who is not None:
                run.deadline.stop(f"Stopped by {who.decode()}")

    async def _send(self, running: list[LiveRun], ended: list[LiveRun]) -> None:
        for run in running + ended:
            group = run_group(run.app_id, run.run_id)
            count = len(run.entries)
            if count > run.sent:
                lines, run.sent = run.entries[run.sent : count], count
                await broadcast_async(group, "run.logs", {"run": run.run_id, "logs": lines})
        for run in ended:
            await broadcast_async(run_group(run.app_id, run.run_id), "run.ended", {"run": run.run_id})


_watcher = _Watcher()


@contextmanager
def watch(app_id: int, run_id: str | None, timeout_s: float) -> Iterator[LiveRun | None]:
    """While inside, the run `run_id` of the app (None: not watched) sends its lines live
    and can be stopped; its deadline (`timeout_s` from now) is the run's."""
    if run_id is None:
        yield None
        return
    run = LiveRun(app_id, run_id, StoppableDeadline(timeout_s))
    _watcher.add(run)
    try:
        yield run
    finally:
        _watcher.remove(run)


def request_stop(app_id: int, run_id: str, username: str) -> None:
    """Ask whichever web process runs the app's run `run_id` to stop it."""
    redis_client().set(stop_key(app_id, run_id), username, ex=STOP_TTL_S)


def access_problem(user: Any, app_id: int) -> str | None:
    """Why `user` may not watch or stop the app's runs (the run endpoint's rules), or None."""
    from apimethods.services import ensure_kscript_enabled

    try:
        ensure_kscript_enabled(access_app(user, app_id, Role.DEVELOPER))
    except APIException as exc:
        return str(exc.detail)
    return None
