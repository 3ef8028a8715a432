"""Benchmark: client events (issue 12).

1. Ingestion over the wire, as the SDKs upload: `POST /v1/app-installs/{id}/events`,
   HTTP Basic key:secret, a JSON array of 10 events, every event a new uuid and installs
   spread over 1,000 ids (a fixed body would measure the duplicate path). Against the
   KScript benchmark's floor (a bare Django view selecting 20 rows) in the same run, at 8
   and 32 connections, rounds alternating with the fastest floor configuration
   (benchmarks/kscript_serving.py); ratio = the median round's. Target: >= 0.7.
2. The event stream over 1,000,000 stored events: a deployed KScript reads
   K.analytics.getEventStream with one event type and a 30-day window, run in-process
   as a scheduled run runs it; time to the first 100 events and to every matching one.

Run with DATABASE_URL / REDIS_URL set (or `./kiln services` up):
    KILN_BENCH_DB=kiln_bench .venv/bin/python -m benchmarks.events_serving
Needs wrk. Writes benchmarks/results/events_serving.json.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from benchmarks.kscript_serving import (
    DURATION,
    RESULTS,
    ROUNDS,
    alternate_with_floor,
    bench_database_url,
    prepare,
    start_servers,
    stop_servers,
    warm_floors,
    wrk,
)

STORED = int(os.environ.get("KILN_BENCH_EVENTS", "1000000"))
QUERY_RUNS = 5
TYPES = 20  # the stored events' types: purchase is one in TYPES
DAYS = 80  # spread over the last DAYS days (inside the default retention)

# Each request: 10 new events (uuid = run nonce, wrk thread, counter) from one of 1,000 installs.
UPLOAD_LUA = r"""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
local nonce = 0
function init(args)
  math.randomseed(os.time() * 1000 + tid)
  nonce = math.random(0, 0x7fffffff)
end
request = function()
  local parts = {}
  local ms = os.time() * 1000
  for i = 1, 10 do
    counter = counter + 1
    parts[i] = string.format(
      '{"type":"%s","uuid":"%08x-%04x-4000-8000-%012x","timestamp":%d,"data":{"n":%d},"userId":null}',
      (counter % 5 == 0) and "purchase" or "k.fg", nonce, tid, counter, ms, counter)
  end
  local path = string.format("/v1/app-installs/bench-install-%d/events", counter % 1000)
  return wrk.format("POST", path, nil, "[" .. table.concat(parts, ",") .. "]")
end
"""


def ingestion(setup: dict[str, str], floors: list[str]) -> dict[str, object]:
    auth = base64.b64encode(f"{setup['api_key']}:{setup['secret']}".encode()).decode()
    url = "http://127.0.0.1:18081/v1/app-installs/x/events"
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {auth}"}
    check = subprocess.run(
        ["curl", "-s", "-X", "POST", "-H", f"Authorization: Basic {auth}", "-H", "Content-Type: application/json"]
        + ["-d", json.dumps([{"type": "k.fg", "uuid": str(uuid.uuid4()), "timestamp": 1}]), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(check) == {"accepted": 1, "duplicates": 0}, check[:300]

    def upload(connections: int, duration: str = DURATION) -> dict[str, float]:
        return wrk(url, "", headers, connections, duration, request=UPLOAD_LUA)

    warm_floors(floors)
    upload(8, "3s")
    results: dict[str, object] = {f"c{c}": alternate_with_floor(floors, c, upload) for c in (8, 32)}
    for key in ("c8", "c32"):
        kiln = results[key]["kiln"]  # type: ignore[index]
        assert kiln["non_2xx"] == 0, f"{key}: {kiln['non_2xx']} uploads were not answered 2xx"
    return results


def seed_events(app_id: int) -> int:
    """STORED events for the app, as uploads would leave them (a few have data, a user)."""
    from django.db import connection

    from console.events.models import Event

    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{table}" WHERE app_id = %s', [app_id])  # noqa: S608 - our own name
        cursor.execute(
            f'INSERT INTO "{table}" (app_id, uuid, type, happened_at, received_at, install_id,'  # noqa: S608
            " user_identifier, data)"
            " SELECT %s, gen_random_uuid(),"
            f" CASE WHEN i %% {TYPES} = 0 THEN 'purchase' ELSE 'type.' || (i %% {TYPES}) END,"
            f" now() - (i::float / %s) * interval '{DAYS} days', now(), 'install-' || (i %% 5000),"
            " CASE WHEN i %% 3 = 0 THEN 'user-' || (i %% 2000) END, jsonb_build_object('n', i)"
            " FROM generate_series(1, %s) i",
            [app_id, STORED, STORED],
        )
        cursor.execute(f'ANALYZE "{table}"')
        cursor.execute(f'SELECT count(*) FROM "{table}" WHERE app_id = %s', [app_id])  # noqa: S608
        return int(cursor.fetchone()[0])


STREAM_CODE = """
var started = Date.now();
var events = K.analytics.getEventStream({
  eventTypes: ['purchase'],
  happenedBetween: {$gte: K.params.from, $lte: K.params.to}
});
var count = 0, first100 = null;
while (events.hasNext()) {
  events.next();
  count++;
  if (count === 100) {
    first100 = Date.now() - started;
    if (K.params.firstOnly) break;
  }
}
K.setResponse({count: count, first100Ms: first100, allMs: Date.now() - started});
"""


def event_stream(setup: dict[str, str]) -> dict[str, object]:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apimethods import services as method_services
    from console.apps.models import App
    from console.events.models import Event
    from console.schedules.scheduler import run_deployed

    app = App.objects.get(api_key=setup["api_key"])
    user = get_user_model().objects.get(username="bench")
    stored = seed_events(app.pk)
    params = [{"name": n, "type": "string"} for n in ("from", "to")] + [{"name": "firstOnly", "type": "boolean"}]
    method_services.create_kscript(
        app, user, title="stream events", return_type="objects", params=params, code=STREAM_CODE
    )
    method_services.deploy_app(app, user)
    now = timezone.now()
    window = {"from": (now - timedelta(days=40)).isoformat(), "to": (now - timedelta(days=10)).isoformat()}
    matching = Event.objects.filter(
        app=app, type="purchase", happened_at__gte=now - timedelta(days=40), happened_at__lte=now - timedelta(days=10)
    ).count()

    def run(first_only: bool) -> dict[str, Any]:
        started = time.perf_counter()
        outcome = run_deployed(app, "streamEvents", {**window, "firstOnly": first_only}, "bench-stream")
        wall_ms = (time.perf_counter() - started) * 1000
        assert outcome["status"] == "ok", outcome.get("error")
        return {**outcome["result"], "wall_ms": round(wall_ms, 1)}

    run(True)  # warm: the V8 context, the connection, the index pages
    firsts = [run(True) for _ in range(QUERY_RUNS)]
    alls = [run(False) for _ in range(3)]
    assert all(r["count"] == matching for r in alls), (alls, matching)
    return {
        "stored_events": stored,
        "matching_events": matching,
        "query": "eventTypes ['purchase'] (1 in 20), happenedBetween a 30-day window of 80 days",
        "first_100_ms_median_in_script": statistics.median(r["first100Ms"] for r in firsts),
        "first_100_ms_median_whole_run": statistics.median(r["wall_ms"] for r in firsts),
        "all_matching_ms_median_in_script": statistics.median(r["allMs"] for r in alls),
        "all_matching_ms_median_whole_run": statistics.median(r["wall_ms"] for r in alls),
        "runs": {"first_100": firsts, "all": alls},
    }


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    setup = prepare(bench_database_url())
    results: dict[str, object] = {"duration": DURATION, "rounds": ROUNDS, "load_before": os.getloadavg()}
    if os.environ.get("KILN_BENCH_SKIP_WIRE") != "1":
        kiln, floors = start_servers(setup)
        try:
            results["ingestion_10_events_per_upload"] = ingestion(setup, list(floors))
        finally:
            stop_servers(kiln, floors)
    results["event_stream"] = event_stream(setup)
    results["load_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "events_serving.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
