"""Benchmark: a deployed KScript (select 20 rows, filter + sort) over the Kumulos wire
protocol on Kiln's serving stack — the gunicorn command `./kiln run` uses
(console.launcher.web, Kiln's own worker with keep-alive) — against the floor, a bare
Django view running the same SQL on its fastest configuration (gunicorn sync workers, 2
or 2 per CPU, or Kiln's worker; client-side binding, or server-side with the SELECT
prepared), measured in the same run with wrk: one trial of each floor
configuration picks the fastest, then KILN_BENCH_ROUNDS rounds (default 5) of
KILN_BENCH_DURATION (default 5s) alternate it with Kiln; the ratio is the median of the
rounds' Kiln/floor ratios. Each wrk run also reports what the whole machine spent per
request (CPU µs, context switches; Linux). Also prints where one request's time goes, in-process.

Run with the embedded servers up (`./kiln services` in another terminal) or with
DATABASE_URL / REDIS_URL set:  .venv/bin/python -m benchmarks.kscript_serving
Needs wrk (Debian: apt-get install wrk). Writes benchmarks/results/kscript_serving.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DURATION = os.environ.get("KILN_BENCH_DURATION", "5s")
ROUNDS = int(os.environ.get("KILN_BENCH_ROUNDS", "5"))
# The benchmarks' own database (created when missing, on DATABASE_URL's server).
BENCH_DB = os.environ.get("KILN_BENCH_DB", "kiln_bench")


def bench_database_url() -> str:
    # Not through console.settings: importing it would fix the database before we switch.
    default = f"postgresql://postgres@/kiln?host={ROOT / 'var' / 'postgres' / 'run'}"
    parsed = urlparse(os.environ.get("DATABASE_URL") or default)
    return urlunparse(parsed._replace(path=f"/{BENCH_DB}"))


def prepare(database_url: str) -> dict[str, str]:
    import psycopg

    admin = urlunparse(urlparse(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from apimethods import services as method_services
    from console.apps import services as app_services
    from console.apps.models import App
    from console.tables import services as table_services

    for old in App.objects.filter(name="bench"):
        app_services.delete_app(old)  # its schema and role too
    user = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_user("bench")
    app = app_services.create_app(user, "bench")
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "items")
    table_services.add_field(table, "category", "string")
    table_services.add_field(table, "score", "integer")
    table_services.add_field(table, "label", "string")
    table_services.add_index(table, ["category", "score"])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table.schema}"."items" (category, score, label) '  # noqa: S608 - our own names
            "SELECT 'c' || (i % 10), (i * 7919) % 1000, 'item ' || i FROM generate_series(1, 10000) i"
        )
        # As autovacuum soon would: both sides then run the planned index scan from the start.
        cursor.execute(f'ANALYZE "{table.schema}"."items"')
    code = (
        f"var rows = K.select('{table.alias}').filter('category', '=', K.params.category)"
        ".sort('score', 'DESC').limit(20).run();\nK.setResponse(rows);"
    )
    method_services.create_kscript(
        app, user, title="top items", return_type="objects", params=[{"name": "category", "type": "string"}], code=code
    )
    method_services.deploy_app(app, user)
    return {
        "api_key": app.api_key,
        "secret": app.secret_key,
        "table": f'"{table.schema}"."items"',
        "app_id": str(app.id),
        "alias": table.alias,
        "code": code,
    }


def serve(
    port: int, env: dict[str, str], workers: str | None = None, worker_class: str | None = None
) -> subprocess.Popen[bytes]:
    from console.launcher.web import WORKER_CLASS, gunicorn_command

    if workers is not None:
        env = {**env, "KILN_WEB_WORKERS": workers}
    command = gunicorn_command(f"127.0.0.1:{port}", python=sys.executable, worker_class=worker_class or WORKER_CLASS)
    proc = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    time.sleep(3)
    return proc


def machine_counters() -> tuple[int, int, int] | None:
    """(busy CPU ticks, all CPU ticks, context switches) of the whole machine so far, from
    /proc/stat; None where there is none (not Linux)."""
    try:
        with open("/proc/stat") as stat:
            lines = stat.read().splitlines()
    except OSError:
        return None
    ticks = [int(v) for v in lines[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    switches = next((int(line.split()[1]) for line in lines if line.startswith("ctxt ")), 0)
    return sum(ticks) - idle, sum(ticks), switches


def machine_cost(before: tuple[int, int, int] | None, requests: float) -> dict[str, float]:
    """What the machine spent per request since `before` (machine_counters): CPU time in
    µs (every process: the server, PostgreSQL and wrk itself), context switches, and how
    busy the CPUs were. Tells a server that uses more CPU per request from one that waits."""
    after = machine_counters()
    if before is None or after is None or requests <= 0:
        return {}
    busy, total, switches = (a - b for a, b in zip(after, before, strict=True))
    tick_us = 1_000_000 / os.sysconf("SC_CLK_TCK")
    return {
        "cpu_us_per_request": round(busy * tick_us / requests),
        "switches_per_request": round(switches / requests, 1),
        "cpu_busy": round(busy / total, 3) if total else 0.0,
    }


def wrk(
    url: str,
    body: str,
    headers: dict[str, str],
    connections: int,
    duration: str = DURATION,
    request: str = "",
) -> dict[str, float]:
    """POST `body` to `url` for `duration`; `request`, when given, is Lua appended to the
    script (e.g. a `request()` function building each request)."""
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    script = f'wrk.method = "POST"\nwrk.body = "{body}"\n{header_lines}{request}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    before = machine_counters()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}", "--latency", "-s", handle.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        **machine_cost(before, int(requests.group(1)) if requests else 0),
    }


def median_round(runs: list[dict[str, float]]) -> dict[str, float]:
    """The round with the median requests/s (its latencies with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def breakdown(setup: dict[str, str], requests: int = 1000) -> dict[str, float]:
    """Where one client request's time goes, in-process through the WSGI application."""
    import base64
    import io

    from apimethods import client, kscript
    from console.wsgi import application

    spent: dict[str, float] = {}

    def timed(module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        setattr(module, name, wrapper)

    run_script = kscript.runtime.run_script

    def run_and_count(*args: Any, **kwargs: Any) -> Any:
        result = run_script(*args, **kwargs)
        t = result.timings
        for label, value in (("v8_checkout", t.checkout_s), ("v8_run_incl_restore", t.run_s)):
            spent[label] = spent.get(label, 0.0) + value
        spent["bridge_sql_and_rows"] = spent.get("bridge_sql_and_rows", 0.0) + t.bridge_s
        return result

    timed(client, "_handle", "view")
    timed(client, "app_facts", "app_lookup")
    timed(kscript, "run_top_level", "invocation")
    kscript.runtime.run_script = run_and_count
    auth = base64.b64encode(f"{setup['api_key']}:{setup['secret']}".encode()).decode()
    body = b"params%5Bcategory%5D=c3"
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/b2.2/{setup['api_key']}/topItems.json",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Basic {auth}",
        "wsgi.url_scheme": "http",
    }

    def request() -> None:
        chunks = application({**environ, "wsgi.input": io.BytesIO(body)}, lambda *_: None)
        b"".join(chunks)
        getattr(chunks, "close", lambda: None)()  # Django iterables close; the fast path returns a list

    try:
        for _ in range(100):
            request()
        spent.clear()
        started = time.perf_counter()
        for _ in range(requests):
            request()
        spent["wsgi_request"] = time.perf_counter() - started
    finally:
        kscript.runtime.run_script = run_script
    return {f"{k}_ms": round(v / requests * 1000, 3) for k, v in spent.items()}


def start_servers(setup: dict[str, str]) -> tuple[subprocess.Popen[bytes], dict[str, subprocess.Popen[bytes]]]:
    """Kiln on 18081 and every floor configuration worth trying on 18082…: gunicorn's sync
    workers (2, or 2 per CPU) and Kiln's own worker (its process count) x client- or
    server-side binding. Returns Kiln's process and the floors' by label."""
    from console.launcher.web import default_workers

    env = {**os.environ, "KILN_BENCH_TABLE": setup["table"], "KILN_LOG_LEVEL": "WARNING"}
    kiln_workers = os.environ.get("KILN_WEB_WORKERS") or str(default_workers())
    floor_env = {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.floor_settings"}
    kiln = serve(18081, env)
    cpus = os.cpu_count() or 1
    servers = [("sync", w) for w in sorted({"2", str(2 * cpus)})] + [("kiln", kiln_workers)]
    variants = [(kind, w, prepared) for kind, w in servers for prepared in ("0", "1")]
    labels = [f"{kind} x{w}{', prepared' if prepared == '1' else ''}" for kind, w, prepared in variants]
    floors = {
        label: serve(
            18082 + i,
            {**floor_env, "KILN_BENCH_FLOOR_PREPARED": prepared},
            w,
            worker_class="sync" if kind == "sync" else None,
        )
        for i, (label, (kind, w, prepared)) in enumerate(zip(labels, variants, strict=True))
    }
    return kiln, floors


def stop_servers(kiln: subprocess.Popen[bytes], floors: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in (kiln, *floors.values()):
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def floor_url(floors: list[str], label: str) -> str:
    return f"http://127.0.0.1:{18082 + floors.index(label)}/floor"


def warm_floors(floors: list[str]) -> None:
    """Warm every floor worker up (imports, connections): a steady state is measured."""
    for label in floors:
        wrk(floor_url(floors, label), "category=c3", FORM, 8, "3s")


def alternate_with_floor(
    floors: list[str], connections: int, kiln: Callable[[int], dict[str, float]]
) -> dict[str, object]:
    """One trial of each floor configuration picks the fastest, then ROUNDS rounds alternate
    it with `kiln` (a wrk run at `connections`) (this shared machine's speed drifts by tens
    of percent within minutes; the ratio of two runs seconds apart drifts far less than
    either run). The ratio is the median round's Kiln/floor requests per second."""
    trials = {label: wrk(floor_url(floors, label), "category=c3", FORM, connections) for label in floors}
    best = max(trials, key=lambda label: trials[label]["rps"])
    floor_rounds: list[dict[str, float]] = []
    kiln_rounds: list[dict[str, float]] = []
    for _ in range(ROUNDS):
        floor_rounds.append(wrk(floor_url(floors, best), "category=c3", FORM, connections))
        kiln_rounds.append(kiln(connections))
    ratios = sorted(k["rps"] / f["rps"] for k, f in zip(kiln_rounds, floor_rounds, strict=True))
    return {
        "floor": {**median_round(floor_rounds), "configuration": best},
        "floor_trials": {label: r["rps"] for label, r in trials.items()},
        "kiln": median_round(kiln_rounds),
        "floor_rounds_rps": [r["rps"] for r in floor_rounds],
        "kiln_rounds_rps": [r["rps"] for r in kiln_rounds],
        "ratio": round(ratios[len(ratios) // 2], 3),  # the median round's
    }


def compare_with_floor(
    setup: dict[str, str], method: str, floors: list[str], kiln_body: str = "params%5Bcategory%5D=c3"
) -> dict[str, object]:
    """Kiln's `method` (deployed, called like a client) against the fastest floor, at 8 and 32
    connections (alternate_with_floor)."""
    import base64

    auth = base64.b64encode(f"{setup['api_key']}:{setup['secret']}".encode()).decode()
    kiln_url = f"http://127.0.0.1:18081/b2.2/{setup['api_key']}/{method}.json"
    kiln_headers = {**FORM, "Authorization": f"Basic {auth}"}
    check = subprocess.run(
        ["curl", "-s", "-X", "POST", "-H", f"Authorization: Basic {auth}", "-d", kiln_body, kiln_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    envelope = json.loads(check)
    assert envelope["responseCode"] == 1 and len(envelope["payload"]) == 20, check[:300]
    # Warm every worker up first (imports, the V8 context, the app connection).
    warm_floors(floors)
    wrk(kiln_url, kiln_body, kiln_headers, 8, "3s")
    return {
        f"c{connections}": alternate_with_floor(
            floors, connections, lambda c: wrk(kiln_url, kiln_body, kiln_headers, c)
        )
        for connections in (8, 32)
    }


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    setup = prepare(bench_database_url())
    kiln, floors = start_servers(setup)
    results: dict[str, object] = {"duration": DURATION, "rounds": ROUNDS, "load_before": os.getloadavg()}
    try:
        results.update(compare_with_floor(setup, "topItems", list(floors)))
    finally:
        stop_servers(kiln, floors)
    results["load_after"] = os.getloadavg()
    results["invocation_breakdown"] = breakdown(setup)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kscript_serving.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
