"""Benchmark: scheduled KScripts (issue 12), on the KScript benchmark's app and database.

1. Start delay: 100 every-minute schedules, all due at the same minute, run by a real
   beat and worker started as `./kiln run` starts them (`celery worker --concurrency
   KILN_WORKER_CONCURRENCY` (2), `celery beat` with the database scheduler). Delay = a
   run's start minus its due time, p50 / p99 / max per minute; the first minute also
   warms the worker up and is reported apart. Target: p99 <= 1 s.
2. Throughput of one worker process (`--concurrency 1`): N schedules made due at one
   moment and ticked once (the tick is driven with that moment as its clock, as the
   tests do), then the worker drains the runs; runs per minute = N / (last finish -
   first start). For a trivial script (target >= 600/min) and for the KScript
   benchmark's 20-row select (`topItems`).

Run with DATABASE_URL / REDIS_URL set (or `./kiln services` up):
    KILN_BENCH_DB=kiln_bench .venv/bin/python -m benchmarks.schedules_running
Writes benchmarks/results/schedules_running.json. KILN_BENCH_DELAY_ONLY=1 measures the start
delay alone (e.g. with another KILN_WORKER_CONCURRENCY), into schedules_running_delay_c<N>.json.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.kscript_serving import RESULTS, ROOT, bench_database_url, prepare
from console.launcher.workers import celery_command

DUE_AT_ONCE = 100
MINUTES = int(os.environ.get("KILN_BENCH_MINUTES", "3"))
THROUGHPUT_RUNS = {"trivial": 600, "select_20_rows": 300}
QUEUE = "kiln-bench-schedules"
# The benchmark puts more schedules in one app than an app may have.
os.environ["KILN_MAX_SCHEDULES_PER_APP"] = "100000"
os.environ["KILN_SCHEDULE_QUEUE"] = QUEUE


def celery(command: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        celery_command(command, *args, level="warning"),
        cwd=ROOT,
        env={**os.environ, "KILN_LOG_LEVEL": "WARNING"},
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def reset(app: Any) -> None:
    from apimethods.hosts import redis_client
    from console.schedules.models import Schedule

    Schedule.objects.filter(app=app).delete()  # their runs go with them
    redis_client().delete(QUEUE)


def make_schedules(app: Any, count: int, method: str, params: dict[str, Any] | None = None) -> list[int]:
    from console.schedules import services

    return [
        services.create_schedule(
            app,
            None,
            {"name": f"{method} {i}", "method": method, "kind": "minute", "timezone": "UTC", "params": params or {}},
        ).pk  # fmt: skip
        for i in range(count)
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def start_delay(app: Any, logs: Path) -> dict[str, object]:
    """Real beat and worker; MINUTES due minutes of DUE_AT_ONCE runs each."""
    from console.schedules.models import Schedule, ScheduleRun

    reset(app)
    ids = make_schedules(app, DUE_AT_ONCE, "noop")
    first_due = Schedule.objects.get(pk=ids[0]).next_due_at
    assert first_due is not None and Schedule.objects.filter(pk__in=ids).exclude(next_due_at=first_due).count() == 0
    if (first_due - _now()).total_seconds() < 15:  # beat and the worker need a few seconds to start
        first_due += timedelta(minutes=1)
        Schedule.objects.filter(pk__in=ids).update(next_due_at=first_due)
    worker = celery("worker", "--concurrency", os.environ.get("KILN_WORKER_CONCURRENCY", "2"), log=logs / "worker.log")
    with tempfile.TemporaryDirectory() as beat_dir:
        beat = celery("beat", "-s", str(Path(beat_dir) / "schedule"), log=logs / "beat.log")
        try:
            last_due = first_due + timedelta(minutes=MINUTES - 1)
            finished = ScheduleRun.objects.filter(schedule_id__in=ids, due_at__lte=last_due).exclude(
                status__in=["queued", "running"]
            )
            wait_until(
                lambda: finished.count() >= DUE_AT_ONCE * MINUTES,
                (last_due - _now()).total_seconds() + 120,
                "the runs",
            )
        finally:
            stop(beat)
            stop(worker)
    runs = list(ScheduleRun.objects.filter(schedule_id__in=ids, due_at__lte=last_due).order_by("due_at"))
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run.status] = statuses.get(run.status, 0) + 1
    minutes: list[dict[str, object]] = []
    for n in range(MINUTES):
        due = first_due + timedelta(minutes=n)
        delays = [(r.started_at - r.due_at).total_seconds() * 1000 for r in runs if r.due_at == due and r.started_at]
        minutes.append(
            {
                "due_at": due.isoformat(),
                "runs_started": len(delays),
                "p50_ms": round(percentile(delays, 50), 1) if delays else None,
                "p99_ms": round(percentile(delays, 99), 1) if delays else None,
                "max_ms": round(max(delays), 1) if delays else None,
                "min_ms": round(min(delays), 1) if delays else None,
            }
        )
    warm = [(r.started_at - r.due_at).total_seconds() * 1000 for r in runs if r.due_at > first_due and r.started_at]
    return {
        "schedules": DUE_AT_ONCE,
        "worker_concurrency": int(os.environ.get("KILN_WORKER_CONCURRENCY", "2")),
        "statuses": statuses,
        "per_minute": minutes,
        "warm_p50_ms": round(percentile(warm, 50), 1) if warm else None,
        "warm_p99_ms": round(percentile(warm, 99), 1) if warm else None,
        "run_duration_ms_median": statistics.median(r.duration_ms for r in runs if r.duration_ms is not None),
    }


def tick_and_drain(batch: list[int], method: str) -> None:
    """Make the schedules due now, tick once with that clock, wait for every run to end."""
    from console.schedules import scheduler
    from console.schedules.models import Schedule, ScheduleRun

    moment = _now()
    Schedule.objects.filter(pk__in=batch).update(next_due_at=moment)
    queued = scheduler.tick(moment)
    # Not due again while this benchmark runs (no minute passes unticked: no "missed").
    Schedule.objects.filter(pk__in=batch).update(next_due_at=moment + timedelta(days=1))
    assert len(queued) == len(batch), (len(queued), len(batch))
    runs = ScheduleRun.objects.filter(schedule_id__in=batch)
    wait_until(lambda: runs.exclude(status__in=["queued", "running"]).count() >= len(batch), 600, f"{method} runs")


def throughput(app: Any, logs: Path, method: str, count: int, params: dict[str, Any]) -> dict[str, object]:
    """One worker process drains `count` runs queued by one tick."""
    from django.db.models import Max, Min

    from console.schedules.models import Schedule, ScheduleRun

    reset(app)
    ids = make_schedules(app, count, method, params)
    Schedule.objects.filter(pk__in=ids).update(next_due_at=_now() + timedelta(days=1))  # due only when ticked
    worker = celery("worker", "--concurrency", "1", "-Q", QUEUE, log=logs / "worker-one.log")
    try:
        # Warm the worker's process (imports, V8 context, connections) on a few runs first.
        warm_ids, ids = ids[:10], ids[10:]
        for batch in (warm_ids, ids):
            tick_and_drain(batch, method)
    finally:
        stop(worker)
    runs = ScheduleRun.objects.filter(schedule_id__in=ids)
    statuses: dict[str, int] = {}
    for status in runs.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    span = runs.aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    durations = [d for d in runs.values_list("duration_ms", flat=True) if d is not None]
    return {
        "method": method,
        "runs": len(ids),
        "statuses": statuses,
        "seconds": round(seconds, 2),
        "runs_per_minute": round(len(ids) / seconds * 60, 1),
        "script_ms_median": round(statistics.median(durations), 2),
    }


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def main() -> None:
    setup = prepare(bench_database_url())
    from django.contrib.auth import get_user_model

    from apimethods import services as method_services
    from console.apps.models import App

    app = App.objects.get(api_key=setup["api_key"])
    user = get_user_model().objects.get(username="bench")
    method_services.create_kscript(app, user, title="noop", return_type="objects", params=[], code="K.setResponse(1);")
    method_services.deploy_app(app, user)
    logs = RESULTS / "schedules_running_logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"load_before": os.getloadavg()}
    try:
        results["start_delay"] = start_delay(app, logs)
        if os.environ.get("KILN_BENCH_DELAY_ONLY") == "1":
            return finish(results, f"schedules_running_delay_c{os.environ.get('KILN_WORKER_CONCURRENCY', '2')}")
        results["throughput_one_process"] = {
            "trivial": throughput(app, logs, "noop", THROUGHPUT_RUNS["trivial"], {}),
            "select_20_rows": throughput(app, logs, "topItems", THROUGHPUT_RUNS["select_20_rows"], {"category": "c3"}),
        }
    finally:
        reset(app)
    finish(results, "schedules_running")


def finish(results: dict[str, object], name: str) -> None:
    results["load_after"] = os.getloadavg()
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
