"""Benchmark: a deployed KScript (select 20 rows, filter + sort) over the Kumulos wire
protocol on Kiln's serving stack, against the floor — a bare Django view running the
same SQL — on the same gunicorn configuration, measured in the same run with wrk.

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
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DURATION = os.environ.get("KILN_BENCH_DURATION", "10s")
WORKERS = os.environ.get("KILN_BENCH_WORKERS", "2")


def bench_database_url() -> str:
    # Not through console.settings: importing it would fix the database before we switch.
    default = f"postgresql://postgres@/kiln?host={ROOT / 'var' / 'postgres' / 'run'}"
    parsed = urlparse(os.environ.get("DATABASE_URL") or default)
    return urlunparse(parsed._replace(path="/kiln_bench"))


def prepare(database_url: str) -> dict[str, str]:
    import psycopg

    admin = urlunparse(urlparse(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'kiln_bench'").fetchone():
            conn.execute("CREATE DATABASE kiln_bench")
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

    App.objects.filter(name="bench").delete()
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


def serve(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", module, "-b", f"127.0.0.1:{port}", "-w", WORKERS, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    time.sleep(3)
    return proc


def wrk(url: str, body: str, headers: dict[str, str], connections: int) -> dict[str, float]:
    header_lines = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    script = f'wrk.method = "POST"\nwrk.body = "{body}"\n{header_lines}'
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{DURATION}", "--latency", "-s", handle.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(pct: str) -> float:
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99"), "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def breakdown(setup: dict[str, str], runs: int = 300) -> dict[str, float]:
    """Where one invocation's time goes, measured in-process."""
    from apimethods import kscript

    spec = kscript.ScriptSpec("topItems", setup["code"], "objects", (("category", "string"),))
    totals = {"total_ms": 0.0, "checkout_ms": 0.0, "run_ms": 0.0, "cleanup_ms": 0.0, "bridge_ms": 0.0, "bridge_calls": 0.0}
    for _ in range(20):
        kscript.run_top_level(int(setup["app_id"]), 30, {"topItems": spec}, spec, {"category": "c3"}, "t")
    for _ in range(runs):
        started = time.perf_counter()
        result = kscript.run_top_level(int(setup["app_id"]), 30, {"topItems": spec}, spec, {"category": "c3"}, "t")
        totals["total_ms"] += (time.perf_counter() - started) * 1000
        t = result.timings
        totals["checkout_ms"] += t.checkout_s * 1000
        totals["run_ms"] += t.run_s * 1000
        totals["cleanup_ms"] += t.cleanup_s * 1000
        totals["bridge_ms"] += t.bridge_s * 1000
        totals["bridge_calls"] += t.bridge_calls
    return {k: round(v / runs, 3) for k, v in totals.items()}


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    setup = prepare(bench_database_url())
    env = {**os.environ, "KILN_BENCH_TABLE": setup["table"], "KILN_LOG_LEVEL": "WARNING"}
    import base64

    auth = base64.b64encode(f"{setup['api_key']}:{setup['secret']}".encode()).decode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    kiln = serve("console.wsgi:application", 18081, env)
    floor = serve("console.wsgi:application", 18082, {**env, "DJANGO_SETTINGS_MODULE": "benchmarks.floor_settings"})
    results: dict[str, object] = {"workers": WORKERS, "duration": DURATION}
    try:
        check = subprocess.run(
            ["curl", "-s", "-X", "POST", "-H", f"Authorization: Basic {auth}", "-d", "params[category]=c3",
             f"http://127.0.0.1:18081/b2.2/{setup['api_key']}/topItems.json"],
            capture_output=True, text=True, check=True,
        ).stdout
        envelope = json.loads(check)
        assert envelope["responseCode"] == 1 and len(envelope["payload"]) == 20, check[:300]
        for connections in (8, 32):
            f = wrk("http://127.0.0.1:18082/floor", "category=c3", form, connections)
            k = wrk(
                f"http://127.0.0.1:18081/b2.2/{setup['api_key']}/topItems.json",
                "params%5Bcategory%5D=c3",
                {**form, "Authorization": f"Basic {auth}"},
                connections,
            )
            results[f"c{connections}"] = {"floor": f, "kiln": k, "ratio": round(k["rps"] / f["rps"], 3)}
    finally:
        for proc in (kiln, floor):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    results["invocation_breakdown"] = breakdown(setup)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kscript_serving.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
