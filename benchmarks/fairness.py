"""Benchmark: does one app's load hurt another app? (issue "Fair and bounded")

The victim is the KScript benchmark's app (a deployed 20-row select, `topItems`), called
by wrk with 8 connections. Its latency is measured quiet, then beside each attack:

- `spin`: 32 clients calling another app's deployed `while (true) {}`;
- `sql-wait`: 32 clients calling another app's method whose UPDATE waits on a row lock
  the benchmark holds (an invocation that waits in SQL, using no CPU);
- `slowloris`: 64 sockets sending request headers one byte at a time;
- `slow-body`: 64 sockets declaring a body larger than what they send, held open.

Each configuration is started with the gunicorn command `./kiln run` uses
(console.launcher.web). `KILN_BENCH_WORKERS` picks the worker classes to compare:
`kiln` (console.serving, the default) and/or `sync` (the former model: gunicorn sync
workers, two per CPU), e.g. `KILN_BENCH_WORKERS=sync,kiln` for before/after in one run.

Run with the embedded servers up (`./kiln services`) or DATABASE_URL / REDIS_URL set:
    .venv/bin/python -m benchmarks.fairness
Quiet and attacked phases (KILN_BENCH_DURATION, default 10s) alternate KILN_BENCH_ROUNDS
times (default 3); each phase reported is the round with the median req/s, and "x" is the
median of the rounds' attacked/quiet p99 ratios. KILN_BENCH_ATTACKS picks attacks.
Meanwhile a signed-in probe calls the console API every 50 ms (console_p50_ms /
console_max_ms; console_failures counts answers other than 200).
Needs wrk. Writes benchmarks/results/fairness.json; prints p50/p99 quiet vs attacked.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.kscript_serving import RESULTS, ROOT, bench_database_url, median_round, prepare, wrk

DURATION = os.environ.get("KILN_BENCH_DURATION", "10s")
ROUNDS = int(os.environ.get("KILN_BENCH_ROUNDS", "3"))
VICTIM_CONNECTIONS = 8


def prepare_attackers() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from apimethods import services as method_services
    from console.apps import services as app_services
    from console.apps.models import App
    from console.tables import services as table_services

    user = get_user_model().objects.get(username="bench")
    apps: dict[str, Any] = {}
    for name in ("bench-spin", "bench-lock"):
        for old in App.objects.filter(name=name):
            app_services.delete_app(old)
    spin = app_services.create_app(user, "bench-spin")
    app_services.set_platform_flags(spin, kscript_enabled=True)
    method_services.create_kscript(spin, user, title="spin", return_type="objects", params=[], code="while (true) {}")
    method_services.deploy_app(spin, user)
    apps["spin"] = {"api_key": spin.api_key, "secret": spin.secret_key, "method": "spin"}

    lock = app_services.create_app(user, "bench-lock")
    app_services.set_platform_flags(lock, kscript_enabled=True)
    table = table_services.create_table(lock, "slots")
    table_services.add_field(table, "n", "integer")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{table.schema}"."slots" (n) VALUES (0)')  # noqa: S608 - our own names
    code = f"K.query('UPDATE {table.alias} SET n = n + 1'); K.setResponse('done');"
    method_services.create_kscript(lock, user, title="wait", return_type="objects", params=[], code=code)
    method_services.deploy_app(lock, user)
    apps["sql-wait"] = {"api_key": lock.api_key, "secret": lock.secret_key, "method": "wait"}
    apps["lock_table"] = f'"{table.schema}"."slots"'
    return apps


def serve(port: int, worker: str) -> subprocess.Popen[bytes]:
    from console.launcher.web import gunicorn_command

    if worker == "sync":
        command = gunicorn_command(f"127.0.0.1:{port}", worker_class="sync", workers=2 * (os.cpu_count() or 1))
    else:
        command = gunicorn_command(f"127.0.0.1:{port}")
    env = {**os.environ, "KILN_LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([*command, "--log-level", "error"], cwd=ROOT, env=env, start_new_session=True)
    time.sleep(3)
    return proc


def background_wrk(url: str, headers: dict[str, str], connections: int, seconds: int) -> subprocess.Popen[str]:
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(f'wrk.method = "POST"\n{header_lines}')
    return subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", handle.name, url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@contextmanager
def flood(port: int, app: dict[str, str], seconds: int) -> Iterator[None]:
    auth = base64.b64encode(f"{app['api_key']}:{app['secret']}".encode()).decode()
    proc = background_wrk(
        f"http://127.0.0.1:{port}/b2.2/{app['api_key']}/{app['method']}.json",
        {"Authorization": f"Basic {auth}"},
        32,
        seconds,
    )
    time.sleep(1.5)  # let the flood fill whatever it can
    try:
        yield
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def row_lock(table: str) -> Iterator[None]:
    import psycopg
    from django.conf import settings

    with psycopg.connect(settings.DATABASE_URL) as conn:
        conn.execute(f"SELECT * FROM {table} FOR UPDATE")  # noqa: S608 - our own name
        yield
        conn.rollback()


@contextmanager
def slow_sockets(port: int, api_key: str, kind: str, count: int = 64) -> Iterator[None]:
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def opener() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port))
        head = f"POST /b2.2/{api_key}/topItems.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if kind == "slow-body":
            sock.sendall(f"{head}Content-Length: 100000\r\n\r\nparams".encode())
        else:
            sock.sendall(head.encode())
        return sock

    def keep_dribbling() -> None:
        while not stop.wait(0.5):
            for i, sock in enumerate(sockets):
                try:
                    sock.sendall(b"X" if kind == "slow-body" else b"X-a: b\r\n")
                except OSError:
                    # Dropped by the server: a real attacker reconnects at once.
                    try:
                        sockets[i] = opener()
                    except OSError:
                        pass

    for _ in range(count):
        sockets.append(opener())
    thread = threading.Thread(target=keep_dribbling, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        yield
    finally:
        stop.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def signed_in_cookie() -> str:
    """A Cookie header with a session of the benchmarks' developer, as after signing in."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@contextmanager
def console_probe(port: int, session_cookie: str) -> Iterator[dict[str, float]]:
    """The console's responsiveness meanwhile: the signed-in developer's app list
    (`/api/apps/`: Django, DRF, the session and a query, on the console lane) every 50 ms,
    on a kept-alive connection. Fills in console_p50_ms / console_max_ms when the block ends."""
    import http.client

    figures: dict[str, float] = {}
    stop = threading.Event()
    samples: list[float] = []
    failures: list[int] = []  # statuses other than 200

    def probe() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not stop.wait(0.05):
            started = time.perf_counter()
            try:
                conn.request("GET", "/api/apps/", headers={"Cookie": session_cookie})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            samples.append((time.perf_counter() - started) * 1000)
        conn.close()

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        stop.set()
        thread.join(35)
        if samples:
            figures["console_p50_ms"] = round(statistics.median(samples), 2)
            figures["console_max_ms"] = round(max(samples), 2)
        figures["console_failures"] = len(failures)


def measure(worker: str, setup: dict[str, str], attackers: dict[str, Any]) -> dict[str, Any]:
    port = 18181
    proc = serve(port, worker)
    auth = base64.b64encode(f"{setup['api_key']}:{setup['secret']}".encode()).decode()
    victim_url = f"http://127.0.0.1:{port}/b2.2/{setup['api_key']}/topItems.json"
    victim_headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {auth}"}
    seconds = int(DURATION.rstrip("s"))

    session_cookie = signed_in_cookie()

    def victim() -> dict[str, float]:
        with console_probe(port, session_cookie) as console:
            figures = wrk(victim_url, "params%5Bcategory%5D=c3", victim_headers, VICTIM_CONNECTIONS, DURATION)
        return {**figures, **console}

    attacks: dict[str, Callable[[], Any]] = {
        "spin": lambda: flood(port, attackers["spin"], seconds + 5),
        "sql-wait": lambda: _both(row_lock(attackers["lock_table"]), flood(port, attackers["sql-wait"], seconds + 5)),
        "slowloris": lambda: slow_sockets(port, setup["api_key"], "slowloris"),
        "slow-body": lambda: slow_sockets(port, setup["api_key"], "slow-body"),
    }
    chosen = [a.strip() for a in os.environ.get("KILN_BENCH_ATTACKS", ",".join(attacks)).split(",") if a.strip()]
    attacks = {name: attacks[name] for name in chosen}
    results: dict[str, Any] = {}
    rounds: dict[str, list[dict[str, float]]] = {"quiet": []}
    try:
        wrk(victim_url, "params%5Bcategory%5D=c3", victim_headers, VICTIM_CONNECTIONS, "3s")  # warm up
        # Quiet and attacked phases alternate, ROUNDS times: one noisy phase on a shared
        # machine no longer decides the ratio, which is the median of the rounds' ratios.
        for _ in range(ROUNDS):
            rounds["quiet"].append(victim())
            for name, attack in attacks.items():
                with attack():
                    rounds.setdefault(name, []).append(victim())
                time.sleep(3)  # let running attack invocations end before the next phase
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    results["quiet"] = median_round(rounds["quiet"])
    for name in attacks:
        attacked = median_round(rounds[name])
        ratios = [a["p99_ms"] / q["p99_ms"] for q, a in zip(rounds["quiet"], rounds[name], strict=True) if q["p99_ms"]]
        attacked["p99_vs_quiet"] = round(statistics.median(ratios), 2) if ratios else None
        attacked["rounds_p99_vs_quiet"] = [round(r, 2) for r in ratios]
        results[name] = attacked
    results["rounds"] = rounds
    return results


@contextmanager
def _both(first: Any, second: Any) -> Iterator[None]:
    with first, second:
        yield


def main() -> None:
    setup = prepare(bench_database_url())
    attackers = prepare_attackers()
    workers = [w.strip() for w in os.environ.get("KILN_BENCH_WORKERS", "kiln").split(",") if w.strip()]
    results: dict[str, Any] = {"duration": DURATION, "victim_connections": VICTIM_CONNECTIONS}
    for worker in workers:
        results[worker] = measure(worker, setup, attackers)
        print(f"== {worker}", file=sys.stderr)
        for name, figures in results[worker].items():
            if name == "rounds":
                continue
            print(
                f"{name:>18}: {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:8.1f} ms  "
                f"p99 {figures['p99_ms']:8.1f} ms  x{figures.get('p99_vs_quiet', 1)}  "
                f"console p50 {figures.get('console_p50_ms', 0):6.1f} ms max {figures.get('console_max_ms', 0):7.1f} ms"
                f" ({figures.get('console_failures', 0)} failed)",
                file=sys.stderr,
            )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fairness.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
