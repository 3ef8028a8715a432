"""Benchmark: drag-and-drop API methods (issue "Drag-and-drop API methods").

1. Over the wire: the KScript benchmark's query (20 rows of `items`, filter + sort) as a
   deployed API method, called like a client on Kiln's serving stack, against the same
   floor as benchmarks/kscript_serving.py in the same run (8 and 32 connections, rounds
   alternating with the fastest floor configuration; ratio = the median round's).
2. In process, per call: a select with related data (20 items, each with its notes) and a
   select with a nested update per selected row, run as deployed methods, against
   hand-written SQL doing the same work on the same app connection. Ratio = Kiln's median
   time / the hand-written median (lower is better; 1.0 = as fast as hand-written).

Run with the embedded servers up (`./kiln services`) or DATABASE_URL / REDIS_URL set:
    .venv/bin/python -m benchmarks.apimethods_serving
Needs wrk. Writes benchmarks/results/apimethods_serving.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.kscript_serving import (
    DURATION,
    RESULTS,
    ROUNDS,
    bench_database_url,
    compare_with_floor,
    prepare,
    start_servers,
    stop_servers,
)

CALLS = int(os.environ.get("KILN_BENCH_CALLS", "400"))


def add_api_methods(setup: dict[str, str]) -> dict[str, str]:
    """The API methods (and the notes table they read) on the benchmark's app, deployed."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from apimethods import services as method_services
    from apimethods.actions import services as api_services
    from console.apps.models import App
    from console.tables import services as table_services
    from console.tables.models import Table

    app = App.objects.get(api_key=setup["api_key"])
    user = get_user_model().objects.get(username="bench")
    items = Table.objects.get(app=app, name="items")
    notes = table_services.create_table(app, "notes")
    table_services.add_field(notes, "item", "belongs_to", target=items)
    table_services.add_field(notes, "body", "string")
    notes.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{notes.schema}"."notes" (item, body) '  # noqa: S608 - our own names
            "SELECT 1 + (i % 10000), 'note ' || i FROM generate_series(0, 29999) i"
        )
        cursor.execute(f'ANALYZE "{notes.schema}"."notes"')
    category = [{"field": "category", "op": "=", "value": {"param": "category"}}]
    top = {"sort": [{"field": "score", "direction": "desc"}], "limit": {"param": "limit"}, "offset": None}
    category_and_limit = [{"name": "category", "field": "category"}, {"name": "limit", "type": "integer"}]
    definitions = {
        "top items api": {
            "table": "items",
            "params": category_and_limit,
            "actions": [{"id": "a1", "type": "select", "table": "items", "filters": category, **top}],
            "returned": "a1",
        },
        "top items with notes": {
            "table": "items",
            "params": category_and_limit,
            "actions": [
                {
                    "id": "a1",
                    "type": "select",
                    "table": "items",
                    "filters": category,
                    **top,
                    "related": [{"table": "notes", "field": "item"}],
                }
            ],
            "returned": "a1",
        },
        "relabel top items": {
            "table": "items",
            "params": [*category_and_limit, {"name": "label", "type": "string"}],
            "actions": [
                {
                    "id": "a1",
                    "type": "select",
                    "table": "items",
                    "filters": category,
                    **top,
                    "actions": [
                        {
                            "id": "a2",
                            "type": "update",
                            "table": "items",
                            "values": [{"field": "label", "value": {"param": "label"}}],
                            "filters": [{"field": "itemID", "op": "=", "value": {"row": "itemID"}}],
                        }
                    ],
                }
            ],
            "returned": "a1",
        },
    }
    names = {}
    for title, definition in definitions.items():
        revision = api_services.create_api_method(app, user, title=title, definition=definition)
        names[title] = revision.method.name
    method_services.deploy_app(app, user)
    return {"app_id": str(app.id), "notes": f'"{notes.schema}"."notes"', **names}


def median_ms(fn: Callable[[], Any], calls: int = CALLS) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def in_process(setup: dict[str, str], methods: dict[str, str]) -> dict[str, object]:
    from apimethods import registry
    from apimethods.appfacts import app_facts
    from console.tables.isolation import app_cursor

    app_id = int(setup["app_id"])
    facts = app_facts(setup["api_key"])
    assert facts is not None
    deployment = facts["live__deployment_id"]

    def call(name: str, params: dict[str, Any]) -> Callable[[], Any]:
        method = registry.find_method(deployment, name)
        assert method is not None, name

        def run() -> Any:
            context = registry.CallContext(
                app_id=app_id,
                method=name,
                params=params,
                session_token=str(uuid.uuid4()),
                schema_version=facts["schema_version"],
            )
            return method.invoke(context)

        return run

    items, notes = setup["table"], methods["notes"]

    def with_notes_sql() -> Any:
        with app_cursor(app_id) as cur:
            cur.execute(
                'SELECT i.*, COALESCE((SELECT json_agg(n ORDER BY n."noteID") FROM '  # noqa: S608 - our own names
                f"{notes} n WHERE n.item = i.\"itemID\"), '[]') AS notes FROM {items} i"
                " WHERE i.category = %s ORDER BY i.score DESC LIMIT 20",
                ["c3"],
                prepare=True,
            )
            return cur.fetchall()

    def relabel_sql() -> Any:
        with app_cursor(app_id) as cur:
            cur.execute(
                f'WITH top AS (SELECT "itemID" FROM {items} WHERE category = %s ORDER BY score DESC LIMIT 20)'  # noqa: S608
                f' UPDATE {items} i SET label = %s FROM top WHERE i."itemID" = top."itemID" RETURNING i.*',
                ["c3", "relabelled"],
                prepare=True,
            )
            return cur.fetchall()

    cases = {
        "select_with_related_data": (
            call(methods["top items with notes"], {"category": "c3", "limit": 20}),
            with_notes_sql,
        ),
        "select_with_nested_update_per_row": (
            call(methods["relabel top items"], {"category": "c3", "limit": 20, "label": "relabelled"}),
            relabel_sql,
        ),
    }
    results: dict[str, object] = {}
    for name, (kiln, hand) in cases.items():
        kiln_ms, hand_ms = [], []
        for _ in range(3):  # alternate, as the wire benchmark does
            hand_ms.append(median_ms(hand))
            kiln_ms.append(median_ms(kiln))
        results[name] = {
            "kiln_ms": round(statistics.median(kiln_ms), 3),
            "hand_written_sql_ms": round(statistics.median(hand_ms), 3),
            "ratio": round(statistics.median(kiln_ms) / statistics.median(hand_ms), 2),
        }
    return results


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    setup = prepare(bench_database_url())
    methods = add_api_methods(setup)
    results: dict[str, object] = {"duration": DURATION, "rounds": ROUNDS, "load_before": os.getloadavg()}
    kiln, floors = start_servers(setup)
    try:
        results["wire_select_20_rows"] = compare_with_floor(
            setup, methods["top items api"], list(floors), "params%5Bcategory%5D=c3&params%5Blimit%5D=20"
        )
    finally:
        stop_servers(kiln, floors)
    results["in_process"] = in_process(setup, methods)
    results["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "apimethods_serving.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
