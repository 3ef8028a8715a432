"""Benchmark: what the invocation log (console/logs) adds to a client call, in process.

1. `record()` alone, 10,000 times on one thread (the writer's batches discarded), and on
   4 threads at once (the buffer's lock shared).
2. `invoke_logged(method, context)` against `method.invoke(context)` for a method that
   does nothing: the whole per-call cost of the hook (two clocks, a thread-local, the
   tuple, `record()`), as the median of ROUNDS rounds of 10,000 calls.
3. The writer: 10,000 entries (a third with two K.log lines) written with COPY into the
   database of DATABASE_URL (migrated), in its batches: entries per second.

Run: DATABASE_URL=... REDIS_URL=... .venv/bin/python -m benchmarks.call_log
Writes benchmarks/results/call_log.json.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from apimethods.registry import CallContext, LiveMethod  # noqa: E402
from console.logs import recorder as log  # noqa: E402
from runtime.result import LogEntry  # noqa: E402

CALLS = 10_000
ROUNDS = 7
RESULTS = Path(__file__).parent / "results" / "call_log.json"


def _discard(rows: list[Any]) -> None:
    pass


def per_call_ns(run: Any, calls: int = CALLS) -> float:
    started = time.perf_counter_ns()
    run(calls)
    return (time.perf_counter_ns() - started) / calls


def record_alone() -> dict[str, float]:
    recorder = log.CallRecorder(capacity=CALLS * 10, flush_every_s=3600, write=_discard)
    entry = (1, time.time(), "greet", "kscript", 1, 1.25, None, 0, None)

    def run(n: int) -> None:
        for _ in range(n):
            recorder.record(entry)

    rounds = []
    for _ in range(ROUNDS):
        rounds.append(per_call_ns(run))
        recorder.flush()
    threaded = []
    for _ in range(ROUNDS):
        threads = [threading.Thread(target=run, args=(CALLS,)) for _ in range(4)]
        started = time.perf_counter_ns()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        threaded.append((time.perf_counter_ns() - started) / (4 * CALLS))
        recorder.flush()
    recorder.stop()
    return {"record_ns_median": statistics.median(rounds), "record_4_threads_ns_median": statistics.median(threaded)}


def hook_overhead() -> dict[str, float]:
    method = LiveMethod("noop", (), lambda ctx: None, kind="kscript")
    context = CallContext(app_id=1, method="noop", params={}, session_token="t")
    log.recorder.write = _discard
    log.recorder.capacity = CALLS * 10

    def bare(n: int) -> None:
        for _ in range(n):
            method.invoke(context)

    def logged(n: int) -> None:
        for _ in range(n):
            log.invoke_logged(method, context)

    bare_rounds, logged_rounds = [], []
    for _ in range(ROUNDS):
        bare_rounds.append(per_call_ns(bare))
        logged_rounds.append(per_call_ns(logged))
        log.recorder.flush()
    log.recorder.stop()
    bare_ns, logged_ns = statistics.median(bare_rounds), statistics.median(logged_rounds)
    return {"bare_invoke_ns": bare_ns, "logged_invoke_ns": logged_ns, "hook_added_ns": logged_ns - bare_ns}


def writer_throughput() -> dict[str, float]:
    from console.apps.models import App
    from console.logs.models import CallRecord

    app_id = App.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    lines = (LogEntry("log", ("greeting", "Ann"), 1, "greet"), LogEntry("log", ({"n": 2},), 2, "greet"))
    recorder = log.CallRecorder(capacity=CALLS, flush_every_s=3600)
    now = time.time()
    for n in range(CALLS):
        recorder.record((app_id, now, "greet", "kscript", 1, 1.25, lines if n % 3 == 0 else None, 0, None))
    started = time.perf_counter()
    assert recorder.flush(60)
    seconds = time.perf_counter() - started
    deleted = CallRecord.objects.filter(at__gte=log.datetime.fromtimestamp(now - 1, tz=log.UTC), method="greet")
    deleted.delete()
    return {"writer_entries_per_s": CALLS / seconds, "writer_seconds_for_10000": seconds}


def main() -> None:
    results: dict[str, Any] = {"calls": CALLS, "rounds": ROUNDS}
    results.update(record_alone())
    results.update(hook_overhead())
    if os.environ.get("DATABASE_URL"):
        results.update(writer_throughput())
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
