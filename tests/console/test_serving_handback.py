"""A lane thread handing a kept-alive connection back to the loop's selector while the
worker shuts down (SIGTERM): seen once in a benchmark as "could not watch a kept-alive
connection: Bad file descriptor", because the shutdown closed the connection between the
lane marking it idle and registering it. Driven on a bare KilnWorker with a real socket
pair and selector, the register held open in that window."""

from __future__ import annotations

import selectors
import socket
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from console.serving.connection import Connection, Request
from console.serving.worker import KilnWorker


class CountingLane:
    def __init__(self) -> None:
        self.finished_tenants: list[bytes] = []

    def finished(self, tenant: bytes) -> None:
        self.finished_tenants.append(tenant)


class PausingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Registers like the real one, after the test lets the first register go on."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.go_on = threading.Event()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        self.entered.set()
        self.go_on.wait(5)
        return super().register(fileobj, events, data)


@pytest.fixture
def worker() -> Iterator[KilnWorker]:
    w = object.__new__(KilnWorker)  # no gunicorn: only what _resume and _close_idle use
    w.selector = PausingSelector()
    w.conns = set()
    w._done = deque()
    w._handback = threading.Lock()
    w.alive = True
    w.nr = 0
    w.lanes = {"client": CountingLane()}
    yield w
    w.selector.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _busy_connection(worker: KilnWorker, sock: socket.socket) -> Connection:
    conn = Connection(sock, None, ("127.0.0.1", "8000"), lambda path, auth: ("client", b"k:x"))
    conn.busy = True
    worker.conns.add(conn)
    return conn


def test_a_shutdown_during_a_hand_back_waits_for_it_then_closes_the_connection(
    worker: KilnWorker, pair: tuple[socket.socket, socket.socket], caplog: pytest.LogCaptureFixture
) -> None:
    server, client = pair
    conn = _busy_connection(worker, server)
    request = Request(lane="client", tenant=b"k:x")
    resumed: list[bool] = []
    lane = threading.Thread(target=lambda: resumed.append(worker._resume(conn, request)))
    lane.start()
    assert worker.selector.entered.wait(5)  # the lane is in the window: idle, not registered
    assert conn.idle()

    worker.alive = False  # SIGTERM
    closing = threading.Thread(target=worker._close_idle)
    closing.start()
    closing.join(0.3)
    assert closing.is_alive(), "the shutdown must not close a connection being handed back"
    worker.selector.go_on.set()
    lane.join(5)
    closing.join(5)

    assert not [r for r in caplog.records if "could not watch" in r.getMessage()]
    assert resumed == [True]
    assert worker.lanes["client"].finished_tenants == [b"k:x"]  # once, by the lane
    assert conn not in worker.conns and conn.sock.fileno() == -1  # closed by the shutdown
    assert not worker.selector.get_map()  # and unregistered: no stale descriptor left


def test_a_hand_back_after_the_shutdown_began_leaves_the_connection_to_the_loop(
    worker: KilnWorker, pair: tuple[socket.socket, socket.socket]
) -> None:
    server, _ = pair
    conn = _busy_connection(worker, server)
    worker.alive = False
    worker._close_idle()
    assert conn in worker.conns  # busy: not closed
    worker.selector.go_on.set()
    assert worker._resume(conn, Request(lane="client", tenant=b"k:x")) is False
    assert worker.lanes["client"].finished_tenants == []  # the loop's _drain_done counts it
    assert not worker.selector.get_map()
