"""`KilnWorker`: the gunicorn worker class `./kiln run` serves with (see the package docstring).

One event loop thread per process owns every socket; lanes of threads run the WSGI
application. The loop also beats gunicorn's heartbeat, so the arbiter's `--timeout`
only fires when the process itself is wedged — never because a request runs long
(invocations have their own deadline, shorter than that timeout).
"""

from __future__ import annotations

import errno
import logging
import os
import selectors
import socket
import threading
import time
import weakref
from collections import deque
from typing import Any

from gunicorn.workers import base

from console.serving import lanes
from console.serving.connection import (
    WRITE_STALL_S,
    BadRequest,
    Connection,
    Limits,
    Request,
    base_environ,
    respond,
)

logger = logging.getLogger("console.serving")

_ACCEPT, _WAKE, _SIGNAL = "accept", "wake", "signal"
_SWEEP_EVERY_S = 0.25
_ACCEPT_BATCH = 1
_BUSY_PARSE_BYTES = 64 * 1024


def _pinning_enabled() -> bool:
    return os.environ.get("KILN_PIN_WORKERS", "").lower() in {"1", "true", "yes", "on"}


class KilnWorker(base.Worker):
    # In the arbiter: the live workers by CPU (see _choose_cpu). A worker the arbiter has
    # reaped and dropped is gone from here too.
    _by_cpu: weakref.WeakValueDictionary[int, KilnWorker] = weakref.WeakValueDictionary()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # in the arbiter, before the fork
        self.cpu = self._choose_cpu() if _pinning_enabled() else None
        if self.cpu is not None:
            self._by_cpu[self.cpu] = self

    def _choose_cpu(self) -> int | None:
        """The lowest CPU of the arbiter's own set that no live worker is pinned to. None
        (the process floats) with fewer workers than CPUs — a lone process would lose the
        CPUs its V8 and database threads use beside its Python — or when every CPU has
        its worker already (the ones beyond)."""
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2 or self.cfg.workers < len(allowed):
            return None
        return next((cpu for cpu in allowed if cpu not in self._by_cpu), None)

    def init_process(self) -> None:
        if self.cpu is not None:
            # Every thread of this process (loop, lanes, the V8 isolates and their helpers)
            # is created after this and inherits it: hand-offs between them then wake a
            # thread on the same CPU, where a wake-up elsewhere cost an inter-processor
            # interrupt and the thread's caches (docs/decisions.md, "Pinning web processes").
            os.sched_setaffinity(0, {self.cpu})
        self.selector = selectors.DefaultSelector()
        self.conns: set[Connection] = set()
        self._done: deque[tuple[Connection, Request]] = deque()
        # Held by a lane thread handing a kept-alive connection back (_resume) and by the
        # shutdown while it closes idle connections (_close_idle): see _resume.
        self._handback = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._accepting = False
        self._beat_at = 0.0
        self._sweep_at = 0.0
        super().init_process()  # loads the application, then calls run()

    # ── set-up ─────────────────────────────────────────────────────────────────

    def _configure(self) -> None:
        from django.conf import settings

        def setting(name: str, default: Any) -> Any:
            return getattr(settings, name, default)

        Limits.header_timeout_s = float(setting("KILN_HEADER_TIMEOUT_SECONDS", 10))
        Limits.body_timeout_s = Limits.header_timeout_s
        Limits.keepalive_s = float(setting("KILN_KEEPALIVE_SECONDS", 60))
        Limits.body_limits = {
            lanes.CLIENT_LANE: int(setting("KILN_MAX_BODY_BYTES", 10 * 1024 * 1024)),
            lanes.CONSOLE_LANE: int(setting("KILN_MAX_UPLOAD_BYTES", 64 * 1024 * 1024)),
        }
        wait_s = float(setting("KILN_APP_QUEUE_WAIT_MS", 2000)) / 1000
        self.max_connections = int(setting("KILN_MAX_CONNECTIONS", 4096))
        self.lanes = {
            lanes.CLIENT_LANE: lanes.Lane(
                lanes.LaneConfig(
                    name=lanes.CLIENT_LANE,
                    threads=int(setting("KILN_CLIENT_THREADS", 16)),
                    per_tenant=int(setting("KILN_APP_CONCURRENCY", 4)),
                    max_wait_s=wait_s,
                    max_waiting=int(setting("KILN_APP_QUEUE", 64)),
                ),
                handler=self._handle,
                refuse=self._refuse,
            ),
            lanes.CONSOLE_LANE: lanes.Lane(
                lanes.LaneConfig(
                    name=lanes.CONSOLE_LANE,
                    threads=int(setting("KILN_CONSOLE_THREADS", 8)),
                    per_tenant=int(setting("KILN_CONSOLE_APP_CONCURRENCY", 2)),
                    max_wait_s=max(wait_s, 10.0),
                    max_waiting=int(setting("KILN_APP_QUEUE", 64)),
                ),
                handler=self._handle,
                refuse=self._refuse,
            ),
        }
        from apimethods.client import busy_answer, refusal_answer

        self._busy_answer = busy_answer
        self._refusal_answer = refusal_answer

    def run(self) -> None:
        self._configure()
        for lane in self.lanes.values():
            lane.start()
        self.selector.register(self._wake_r, selectors.EVENT_READ, _WAKE)
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, _SIGNAL)
        self._bases = {}
        for listener in self.sockets:
            listener.setblocking(False)
            name = listener.getsockname()
            server = (str(name[0]), str(name[1])) if isinstance(name, tuple) else ("localhost", "")
            self._bases[listener.fileno()] = (server, base_environ(server))
        self._set_accepting(True)
        try:
            self._loop()
        finally:
            self._shutdown()

    def _set_accepting(self, enabled: bool) -> None:
        if enabled == self._accepting:
            return
        for listener in self.sockets:
            if enabled:
                self.selector.register(listener, selectors.EVENT_READ, _ACCEPT)
            else:
                self.selector.unregister(listener)
        self._accepting = enabled

    # ── the loop ───────────────────────────────────────────────────────────────

    def _loop(self) -> None:
        while self.alive:
            self._tick()
            for key, events in self.selector.select(_SWEEP_EVERY_S):
                data = key.data
                if data is _ACCEPT:
                    self._accept(key.fileobj)
                elif data is _WAKE:
                    self._drain_done()
                elif data is _SIGNAL:
                    try:
                        os.read(self.PIPE[0], 4096)
                    except OSError:
                        pass
                else:
                    if events & selectors.EVENT_WRITE:
                        self._on_writable(data)
                    elif events & selectors.EVENT_READ:
                        self._on_readable(data)

    def _tick(self) -> None:
        now = time.monotonic()
        if now >= self._beat_at:
            self._beat_at = now + 1.0
            self.notify()
            if self.ppid != os.getppid():
                logger.info("parent changed, shutting down: %s", self)
                self.alive = False
        if now >= self._sweep_at:
            self._sweep_at = now + _SWEEP_EVERY_S
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        for conn in list(self.conns):
            if conn.busy or conn.deadline is None or now < conn.deadline:
                continue
            if conn.outbox:
                self._close(conn)  # the client stopped reading its answer
            else:
                # A request that did not arrive in time (slow or stalled client), or an
                # idle kept-alive connection: close it. A client call whose headers came
                # but whose body did not still gets its envelope.
                request = conn.current
                if request is not None and lanes.answers_with_envelope(request.lane, request.tenant):
                    body, content_type = self._refusal_answer(
                        bytes(request.url).decode("latin-1"), 32, "Invalid request: the body did not arrive in time"
                    )
                    self._send_and_close(conn, b"200 OK", content_type, body)
                else:
                    self._close(conn)
        for lane in self.lanes.values():
            lane.expire(now)
        self._set_accepting(len(self.conns) < self.max_connections)

    def _accept(self, listener: Any) -> None:
        fileno = listener.fileno()
        server, base_env = self._bases[fileno]
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNABORTED, errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    return
                raise
            sock.setblocking(False)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, peer, server, lanes.classify)
            conn.base_environ = base_env
            self.conns.add(conn)
            self._watch(conn, selectors.EVENT_READ)
            if len(self.conns) >= self.max_connections:
                self._set_accepting(False)
                return

    def _watch(self, conn: Connection, events: int) -> None:
        if events == conn.watching:
            return
        if conn.watching == 0:
            self.selector.register(conn.sock, events, conn)
        elif events == 0:
            self.selector.unregister(conn.sock)
        else:
            self.selector.modify(conn.sock, events, conn)
        conn.watching = events

    def _close(self, conn: Connection) -> None:
        if conn.watching:
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.watching = 0
        self.conns.discard(conn)
        conn.close()

    def _on_readable(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        try:
            conn.feed(data)
        except BadRequest as exc:
            self._answer_and_close(conn, exc.status)
            return
        self._pump(conn)

    def _answer_and_close(self, conn: Connection, status: str) -> None:
        self._send_and_close(conn, status.encode("latin-1"), "text/plain", status.encode("latin-1"))

    def _send_and_close(self, conn: Connection, status: bytes, content_type: str, body: bytes) -> None:
        conn.outbox.append(
            b"HTTP/1.1 %b\r\nContent-Type: %b\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%b"
            % (status, content_type.encode("latin-1"), len(body), body)
        )
        conn.closing = True
        conn.ready.clear()
        conn.deadline = time.monotonic() + Limits.header_timeout_s  # for a client that never reads it
        self._flush(conn)

    def _pump(self, conn: Connection) -> None:
        """Start the connection's next request, or wait for more input."""
        if conn.busy or conn.outbox:
            return
        if conn.ready:
            request = conn.ready.popleft()
            conn.busy = True
            conn.deadline = None
            self._watch(conn, 0)
            self.lanes[request.lane].submit(request.tenant, (conn, request))
            return
        if conn.closing or not self.alive:
            self._close(conn)
            return
        if conn.current is None:
            conn.deadline = time.monotonic() + Limits.keepalive_s
        self._watch(conn, selectors.EVENT_READ)

    def _flush(self, conn: Connection) -> None:
        try:
            done = conn.flush()
        except OSError:
            self._close(conn)
            return
        if not done:
            # Each bit of progress gives a slow reader another WRITE_STALL_S.
            conn.deadline = time.monotonic() + WRITE_STALL_S
            self._watch(conn, selectors.EVENT_WRITE)
            return
        if conn.closing:
            self._close(conn)
            return
        self._pump(conn)

    def _on_writable(self, conn: Connection) -> None:
        self._flush(conn)

    # ── lanes ──────────────────────────────────────────────────────────────────

    def _handle(self, item: tuple[Connection, Request]) -> None:
        """On a lane thread: run the application, send the answer, then either put the
        connection back to reading here or leave the rest to the loop."""
        conn, request = item
        resumed = False
        try:
            respond(self.wsgi, conn, request, conn.base_environ)
            resumed = self._resume(conn, request)
        except Exception:
            logger.exception("failed to answer %s %r", request.method, bytes(request.url[:200]))
            conn.closing = True
        finally:
            if not resumed:
                self._done.append((conn, request))
                try:
                    os.write(self._wake_w, b"x")
                except BlockingIOError:
                    pass  # the loop is awake already: the pipe is full of wake-ups

    def _resume(self, conn: Connection, request: Request) -> bool:
        """On the lane thread, once a whole answer went out on a connection that stays open
        with nothing more read: finish the request and watch the socket for the next one
        from here. Waking the loop to do it cost a pipe write, a wake-up of the loop's
        thread, two reads and the bookkeeping there for every call. False (the loop's
        `_drain_done` does it): something is left to write, the connection closes, a
        pipelined request waits, or the worker is stopping.

        TRICKY: the loop leaves a busy connection alone (it is not registered, and the
        sweep skips it), so until the register below this thread owns it. `busy` goes
        false first: once registered, the loop may read the next request at once and
        would not start it while `busy` held. `watching` is set before the register: the
        loop may see the client hang up and close the connection before `register`
        returns, and must then unregister it (else a later socket with the same number
        could not be registered).

        TRICKY: `_handback` covers the check of `alive` through the register. Once `busy`
        is false the connection looks idle, and the shutdown closes idle connections: it
        did so between those two lines once (in a benchmark, at SIGTERM), and the register
        then met a closed descriptor, or could have met another file's that took its number.
        Under the lock the shutdown closes it after the register (unregistering it), or
        this sees `alive` false and leaves it to the loop."""
        with self._handback:
            if conn.outbox or conn.closing or conn.ready or conn.current is not None or not self.alive:
                return False
            lane = self.lanes[request.lane]
            lane.finished(request.tenant)
            self.nr += 1
            conn.deadline = time.monotonic() + Limits.keepalive_s
            conn.busy = False
            conn.watching = selectors.EVENT_READ
            try:
                self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            except Exception:  # noqa: BLE001 - the request is finished whatever happens here
                logger.exception("could not watch a kept-alive connection")
                conn.deadline = 0.0  # the sweep closes it
            return True

    def _drain_done(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while self._done:
            conn, request = self._done.popleft()
            self.lanes[request.lane].finished(request.tenant)
            conn.busy = False
            self.nr += 1
            if conn in self.conns:
                self._flush(conn)

    def _refuse(self, item: tuple[Connection, Request]) -> None:
        """On the loop thread: the request waited too long for one of its tenant's slots."""
        conn, request = item
        small_body: bytes | None = None
        if request.body is not None:
            if request.body_length <= _BUSY_PARSE_BYTES:  # for the caller's session token
                request.body.seek(0)
                small_body = request.body.read()
            request.body.close()
        path = bytes(request.url).decode("latin-1")
        if lanes.answers_with_envelope(request.lane, request.tenant):
            content_type = next((v.decode("latin-1") for n, v in request.headers if n.lower() == b"content-type"), None)
            body, content_type = self._busy_answer(path, content_type, small_body)
            status = b"200 OK"
        else:
            body, content_type = b'{"detail": "Kiln is busy with this app; try again in a moment."}', "application/json"
            status = b"503 Service Unavailable"
        keep = request.keep_alive and not conn.closing
        conn.outbox.append(
            b"HTTP/1.1 %b\r\nContent-Type: %b\r\nContent-Length: %d\r\nRetry-After: 1\r\n%b\r\n%b"
            % (status, content_type.encode("latin-1"), len(body), b"" if keep else b"Connection: close\r\n", body)
        )
        if not keep:
            conn.closing = True
        conn.busy = False
        if conn in self.conns:
            self._flush(conn)

    # ── stopping ───────────────────────────────────────────────────────────────

    def _close_idle(self) -> None:
        """At shutdown (`alive` is false): close every connection no request is using. A
        lane thread handing one back finishes doing so first (see _resume)."""
        with self._handback:
            for conn in list(self.conns):
                if conn.idle():
                    self._close(conn)

    def _shutdown(self) -> None:
        """Stop accepting, let running requests finish (up to the graceful timeout), close."""
        self._set_accepting(False)
        self._close_idle()
        deadline = time.monotonic() + float(self.cfg.graceful_timeout)
        while any(conn.busy or conn.outbox for conn in self.conns) and time.monotonic() < deadline:
            self.notify()
            for key, events in self.selector.select(0.2):
                if key.data is _WAKE:
                    self._drain_done()
                elif isinstance(key.data, Connection) and events & selectors.EVENT_WRITE:
                    self._on_writable(key.data)
                elif key.data is _SIGNAL:
                    try:
                        os.read(self.PIPE[0], 4096)
                    except OSError:
                        pass
        for conn in list(self.conns):
            self._close(conn)
        for lane in self.lanes.values():
            lane.stop(timeout_s=1.0)
