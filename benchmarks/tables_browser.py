"""Benchmark: data-browser pages on a 1,000,000-row table, against a plain SELECT … LIMIT 50.

Creates a throwaway database on the configured PostgreSQL server (DATABASE_URL, default
the embedded one under var/), migrates it, fills one app table with generate_series,
then times pages through console.tables.queries.browse — first page, deep pages (by
offset and by keyset token), sorted pages, filtered pages — next to the floor, a plain
`SELECT * FROM t LIMIT 50` on the same table and connection. Prints ratios and writes
benchmarks/results/tables_browser.json.

Run:  .venv/bin/python -m benchmarks.tables_browser [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = "kiln_bench_tables"


def _base_url() -> str:
    return os.environ.get("DATABASE_URL") or f"postgresql://postgres@/kiln?host={ROOT / 'var' / 'postgres' / 'run'}"


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


def timed(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    base = _base_url()
    _admin(base, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _admin(base, f"CREATE DATABASE {BENCH_DB}")
    os.environ["DATABASE_URL"] = _with_db(base, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from console.accounts.services import create_user
    from console.apps import services as app_services
    from console.tables import services
    from console.tables.queries import BrowseRequest, browse

    call_command("migrate", verbosity=0)
    user = create_user(
        username="bench", email="bench@example.test", password="correct horse battery staple", is_staff=False
    )
    app = app_services.create_app(user, "Bench")
    table = services.create_table(app, "items")
    for name, field_type in [("name", "string"), ("score", "integer"), ("category", "string"), ("flag", "boolean")]:
        services.add_field(table, name, field_type)
    qualified = f'"{table.schema}"."{table.name}"'
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {qualified} (name, score, category, flag) "  # noqa: S608 - fixed text
            "SELECT 'item ' || g, (g::bigint * 7919) %% 100000, 'c' || (g %% 50), g %% 2 = 0 FROM generate_series(1, %s) g",
            [args.rows],
        )
    fill_seconds = time.perf_counter() - started
    services.add_index(table, ["score"])
    services.add_index(table, ["category"])
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {qualified}")

    def floor() -> None:
        with connection.cursor() as cur:
            cur.execute(f"SELECT * FROM {qualified} LIMIT 50")  # noqa: S608 - fixed text
            cur.fetchall()

    deep_token = browse(table, BrowseRequest(limit=50, offset=args.rows // 2 - 50))["next"]
    sorted_token = browse(table, BrowseRequest(sort="score", limit=50, offset=args.rows // 2 - 50))["next"]
    cases: dict[str, Callable[[], Any]] = {
        "floor: SELECT * LIMIT 50": floor,
        "first page": lambda: browse(table, BrowseRequest(limit=50)),
        "deep page (keyset token, middle)": lambda: browse(table, BrowseRequest(limit=50, after=deep_token)),
        "deep page (offset, middle)": lambda: browse(table, BrowseRequest(limit=50, offset=args.rows // 2)),
        "sorted by indexed field, first page": lambda: browse(
            table, BrowseRequest(sort="score", descending=True, limit=50)
        ),
        "sorted by indexed field, keyset middle": lambda: browse(
            table, BrowseRequest(sort="score", limit=50, after=sorted_token)
        ),
        "sorted by unindexed field, first page": lambda: browse(table, BrowseRequest(sort="name", limit=50)),
        "filtered (indexed eq), first page": lambda: browse(
            table, BrowseRequest(filter_field="category", filter_op="eq", filter_value="c7", limit=50)
        ),
        "filtered (unindexed contains), first page": lambda: browse(
            table, BrowseRequest(filter_field="name", filter_op="contains", filter_value="99999", limit=50)
        ),
    }
    results = {name: timed(run, args.repeat) for name, run in cases.items()}
    floor_ms = results["floor: SELECT * LIMIT 50"]
    print(f"{args.rows:,} rows filled in {fill_seconds:.1f} s; median of {args.repeat} runs")
    print(f"{'case':45} {'ms':>9} {'× floor':>9}")
    for name, ms in results.items():
        print(f"{name:45} {ms:9.2f} {ms / floor_ms:9.1f}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "tables_browser.json").write_text(
        json.dumps(
            {
                "rows": args.rows,
                "floor_ms": floor_ms,
                "cases": {n: {"ms": ms, "ratio": ms / floor_ms} for n, ms in results.items()},
            },
            indent=2,
        )
    )
    app_services.delete_app(app)  # drops the app's schema and its cluster-wide role
    connection.close()
    _admin(base, f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
