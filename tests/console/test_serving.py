"""Kiln's web process as `./kiln run` starts it (gunicorn + console.serving's worker), over
real sockets: kept-alive connections, chunked and 100-continue bodies, pipelining, slow
and broken clients, and per-app admission with the busy envelope."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from apimethods import services as method_services
from apimethods.client import BUSY_MESSAGE
from console.apps import services as app_services
from console.apps.models import App

pytestmark = pytest.mark.django_db(transaction=True)


def deploy(app: App, owner: Any, code: str, *, title: str = "Echo name", timeout_s: int | None = None) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    if timeout_s is not None:
        App.objects.filter(pk=app.pk).update(script_timeout_seconds=timeout_s)
    method_services.create_kscript(
        app, owner, title=title, return_type="objects", params=[{"name": "name", "type": "string"}], code=code
    )
    method_services.deploy_app(app, owner)


ECHO = "K.setResponse({name: K.params.name});"


@pytest.fixture
def echo_app(app: App, owner: Any) -> App:
    deploy(app, owner, ECHO)
    return app


def address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def auth_header(app: App) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{app.api_key}:{app.secret_key}".encode()).decode()


# What a read took off a socket past the response it wanted: pipelined answers can arrive
# in one recv, and the next read_response starts with them.
_unread: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_response(sock: socket.socket, timeout: float = 10) -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length, read off a raw socket."""
    sock.settimeout(timeout)
    data = _unread.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if len(rest) > length:
        _unread[sock] = rest[length:]
    return lines[0], headers, rest[:length]


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


# ── keep-alive, bodies as real clients send them ────────────────────────────────


def test_calls_share_one_kept_alive_connection(echo_app: App, kiln_server: Callable[..., str]) -> None:
    host, port = address(kiln_server())
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": auth_header(echo_app), "Content-Type": "application/x-www-form-urlencoded"}
    bodies = []
    sockets = []
    for name in ("Ann", "Bob", "Cy"):
        conn.request("POST", f"/b2.2/{echo_app.api_key}/echoName.json", body=f"params[name]={name}", headers=headers)
        response = conn.getresponse()
        bodies.append(json.loads(response.read()))
        assert response.getheader("Connection") is None  # HTTP/1.1: open unless it says close
        sockets.append(conn.sock)
    assert [(b["responseCode"], b["payload"]) for b in bodies] == [(1, {"name": n}) for n in ("Ann", "Bob", "Cy")]
    assert sockets[0] is sockets[1] is sockets[2] and sockets[0] is not None


def test_a_chunked_json_body_reaches_the_method_like_flutter_sends_it(
    echo_app: App, kiln_server: Callable[..., str]
) -> None:
    host, port = address(kiln_server())
    payload = json.dumps({"installId": "i-1", "sessionToken": "tok-flutter", "params": {"name": "Dart"}}).encode()
    half = len(payload) // 2
    chunks = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in (payload[:half], payload[half:])) + b"0\r\n\r\n"
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nContent-Type: application/json; charset=utf-8\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
            + chunks
        )
        status, _, body = read_response(sock)
    envelope = json.loads(body)
    assert status == "HTTP/1.1 200 OK"
    assert (envelope["responseCode"], envelope["payload"], envelope["sessionToken"]) == (
        1,
        {"name": "Dart"},
        "tok-flutter",
    )


def test_expect_100_continue_is_answered_before_the_body_like_php_curl(
    echo_app: App, kiln_server: Callable[..., str]
) -> None:
    host, port = address(kiln_server())
    body = b"params%5Bname%5D=Curl"
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        sock.settimeout(5)
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        _, _, answer = read_response(sock)
    assert json.loads(answer)["payload"] == {"name": "Curl"}


def test_pipelined_requests_are_answered_in_order(echo_app: App, kiln_server: Callable[..., str]) -> None:
    host, port = address(kiln_server())
    requests_bytes = b""
    for name in ("one", "two", "three"):
        body = f"params[name]={name}".encode()
        requests_bytes += (
            f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    with socket.create_connection((host, port)) as sock:
        sock.sendall(requests_bytes)
        names = [json.loads(read_response(sock)[2])["payload"]["name"] for _ in range(3)]
    assert names == ["one", "two", "three"]


def test_a_declared_body_over_the_limit_is_refused_unread_and_the_connection_closed(
    echo_app: App, kiln_server: Callable[..., str]
) -> None:
    host, port = address(kiln_server(KILN_MAX_BODY_BYTES="1000"))
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nContent-Length: 50000000\r\n\r\n".encode()
        )
        _, headers, body = read_response(sock)
        envelope = json.loads(body)
        assert (envelope["responseCode"], headers["connection"]) == (32, "close")
        assert "larger than 1000 bytes" in envelope["responseMessage"]
        assert closed_by_server(sock, 5)


def test_a_chunked_body_over_the_limit_is_refused(echo_app: App, kiln_server: Callable[..., str]) -> None:
    host, port = address(kiln_server(KILN_MAX_BODY_BYTES="1000"))
    chunk = b"a" * 600
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + (b"%x\r\n%b\r\n" % (len(chunk), chunk)) * 2
        )
        _, _, body = read_response(sock)
    assert json.loads(body)["responseCode"] == 32


def test_a_malformed_request_gets_400_and_a_closed_connection(kiln_server: Callable[..., str], db: Any) -> None:
    host, port = address(kiln_server())
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"POST /b2.2/k/m.json HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert (status, headers["connection"]) == ("HTTP/1.1 400 Bad Request", "close")
        assert closed_by_server(sock, 5)


# ── slow and broken clients ─────────────────────────────────────────────────────


def test_a_body_that_never_arrives_gets_an_envelope_not_a_500(echo_app: App, kiln_server: Callable[..., str]) -> None:
    host, port = address(kiln_server(KILN_HEADER_TIMEOUT_SECONDS="1"))
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /b2.2/{echo_app.api_key}/echoName.plist HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {auth_header(echo_app)}\r\nContent-Length: 100\r\n\r\nparams".encode()
        )
        started = time.monotonic()
        status, headers, body = read_response(sock, timeout=20)
        waited = time.monotonic() - started
    import plistlib

    envelope = plistlib.loads(body)
    assert (status, envelope["responseCode"]) == ("HTTP/1.1 200 OK", 32)
    assert envelope["responseMessage"] == "Invalid request: the body did not arrive in time"
    assert headers["connection"] == "close"
    assert waited < 15


def test_slow_clients_hold_no_thread_and_are_dropped(echo_app: App, kiln_server: Callable[..., str]) -> None:
    """64 slowloris sockets against one process with two client threads: calls still go
    through, and the slow sockets are closed once their headers are overdue."""
    base = kiln_server(KILN_HEADER_TIMEOUT_SECONDS="2", KILN_CLIENT_THREADS="2", KILN_CONSOLE_THREADS="1")
    host, port = address(base)
    stop = threading.Event()
    slow = [socket.create_connection((host, port)) for _ in range(64)]

    def dribble() -> None:
        header = f"POST /b2.2/{echo_app.api_key}/echoName.json HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
        for sock in slow:
            sock.sendall(header)
        while not stop.wait(0.3):
            for sock in slow:
                try:
                    sock.sendall(b"a")
                except OSError:
                    pass

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    try:
        time.sleep(0.5)
        answers = [
            requests.post(
                f"{base}/b2.2/{echo_app.api_key}/echoName.json",
                auth=(echo_app.api_key, echo_app.secret_key),
                data={"params[name]": f"n{i}"},
                timeout=5,
            ).json()
            for i in range(10)
        ]
        assert [a["payload"] for a in answers] == [{"name": f"n{i}"} for i in range(10)]
        time.sleep(2.5)
        assert all(closed_by_server(sock, 0.5) for sock in slow)
    finally:
        stop.set()
        dribbler.join(5)
        for sock in slow:
            sock.close()


# ── admission: one app's flood never takes the others' threads ──────────────────


def test_a_flooding_app_gets_busy_envelopes_while_another_app_is_served(
    app: App, other_app: App, owner: Any, kiln_server: Callable[..., str]
) -> None:
    deploy(app, owner, "while (true) {}", title="Spin", timeout_s=8)
    deploy(other_app, owner, ECHO)
    base = kiln_server(KILN_APP_CONCURRENCY="1", KILN_APP_QUEUE="1", KILN_APP_QUEUE_WAIT_MS="300")

    def call_victim() -> dict[str, Any]:
        return requests.post(
            f"{base}/b2.2/{other_app.api_key}/echoName.json",
            auth=(other_app.api_key, other_app.secret_key),
            data={"params[name]": "calm"},
            timeout=10,
        ).json()

    def spin() -> dict[str, Any]:
        return requests.post(
            f"{base}/b2.2/{app.api_key}/spin.json", auth=(app.api_key, app.secret_key), timeout=30
        ).json()

    assert call_victim()["payload"] == {"name": "calm"}  # warm: its V8 context exists
    with ThreadPoolExecutor(6) as pool:
        flood_started = time.monotonic()
        flood = [pool.submit(spin) for _ in range(6)]
        time.sleep(0.8)
        victim = call_victim()
        victim_done = time.monotonic() - flood_started
        answers = [f.result() for f in flood]
        flood_done = time.monotonic() - flood_started
    # The victim was answered while the spinner still held its app's only slot (8 s).
    assert victim["payload"] == {"name": "calm"} and victim_done < 6 < flood_done
    busy = [a for a in answers if a["responseMessage"] == BUSY_MESSAGE]
    ran = [a for a in answers if a["responseMessage"] != BUSY_MESSAGE]
    # One runs (until its time limit), one waits and then runs or is refused, the rest are
    # refused at once: at least four busy envelopes, every answer code 64.
    assert len(busy) >= 4 and {a["responseCode"] for a in answers} == {64}
    assert all("time limit" in a["responseMessage"] for a in ran)


# ── processes and CPUs ──────────────────────────────────────────────────────────

CPUS = sorted(os.sched_getaffinity(0))


def worker_affinities(
    base: str, count: int, ready: Callable[[set[frozenset[int]]], bool] = bool, timeout: float = 15
) -> dict[int, set[frozenset[int]]]:
    """The web processes serving `base` (the arbiter's children) and the CPU sets of all
    their threads, once `count` of them run and `ready` holds for each one's sets."""
    port = address(base)[1]
    deadline = time.monotonic() + timeout
    while True:
        # The listening socket is listed once, under the arbiter or one of its workers.
        owner = next(
            psutil.Process(c.pid)
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid
        )
        parent = owner.parent()
        arbiter = parent if parent is not None and "gunicorn" in " ".join(parent.cmdline()) else owner
        found: dict[int, set[frozenset[int]]] = {}
        for process in arbiter.children():
            try:
                found[process.pid] = {frozenset(os.sched_getaffinity(t.id)) for t in process.threads()}
            except (psutil.NoSuchProcess, ProcessLookupError):
                continue
        if len(found) == count and all(map(ready, found.values())) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def pinned_alone(sets: set[frozenset[int]]) -> bool:
    return all(len(cpus) == 1 for cpus in sets)


@pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two CPUs")
def test_one_process_per_cpu_is_pinned_to_its_own_and_a_replacement_takes_the_freed_one(
    echo_app: App, kiln_server: Callable[..., str]
) -> None:
    base = kiln_server(workers=len(CPUS), KILN_PIN_WORKERS="1")
    # A call first: a V8 context, and its isolate thread, in one of the processes.
    answer = requests.post(
        f"{base}/b2.2/{echo_app.api_key}/echoName.json",
        auth=(echo_app.api_key, echo_app.secret_key),
        data={"params[name]": "pinned"},
        timeout=10,
    ).json()
    assert answer["payload"] == {"name": "pinned"}
    workers = worker_affinities(base, len(CPUS), pinned_alone)
    # Every thread of a process shares its one CPU, and each CPU has one process.
    assert all(len(sets) == 1 and len(next(iter(sets))) == 1 for sets in workers.values()), workers
    pinned = {pid: next(iter(next(iter(sets)))) for pid, sets in workers.items()}
    assert sorted(pinned.values()) == CPUS

    victim = next(iter(pinned))
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while True:
        after = worker_affinities(base, len(CPUS), pinned_alone)
        if victim not in after and len(after) == len(CPUS) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    replacement = {pid: sets for pid, sets in after.items() if pid not in pinned}
    assert list(replacement.values()) == [{frozenset({pinned[victim]})}], after


@pytest.mark.skipif(len(CPUS) < 2, reason="pinning needs two CPUs")
def test_processes_float_over_every_cpu_by_default_or_when_fewer_than_cpus(
    kiln_server: Callable[..., str], db: Any
) -> None:
    everywhere = {frozenset(CPUS)}
    lone = worker_affinities(kiln_server(workers=1, KILN_PIN_WORKERS="1"), 1)
    assert list(lone.values()) == [everywhere]
    off = worker_affinities(kiln_server(workers=len(CPUS)), len(CPUS))
    assert len(off) == len(CPUS) and all(sets == everywhere for sets in off.values())
