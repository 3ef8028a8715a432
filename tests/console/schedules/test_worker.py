"""Scheduled runs through a real Celery worker (prefork, as `./kiln run` starts it) and a
real beat, on the real Redis and PostgreSQL. The tick takes the time as an argument, so
these tests move the clock instead of waiting for the minute.

Every script writes a row to an app table: counting rows is how the tests see how many
times a due time really ran (and that a killed run wrote nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
from django.utils import timezone

from apimethods.hosts import redis_client
from console.apps.models import App
from console.schedules import scheduler
from console.schedules.models import Schedule, ScheduleRun
from console.schedules.tasks import (
    prune_schedule_runs_task,
    run_schedule_batch_task,
    run_schedule_task,
    sweep_schedule_runs_task,
    tick_schedules_task,
)
from console.tables.models import Table
from console.tables.queries import record_count
from tests.fixtures.schedules import SCHEDULE_QUEUE, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pings(kapp: App, make_table: Callable[..., Table]) -> Table:
    return make_table(kapp, "pings", note="string")


@pytest.fixture
def record(kapp: App, pings: Table, make_kscript: Callable[..., Any], deploy_app: Callable) -> Any:
    """A deployed method that writes one row per run, logs and answers."""
    code = (
        f"K.insert('{pings.alias}', {{note: K.params.note}});\n"
        "K.log('recorded', K.params.note);\n"
        "K.setResponse({note: K.params.note});\n"
    )
    method = make_kscript(kapp, "Record", code, params=[{"name": "note", "type": "string"}])
    deploy_app(kapp)
    return method


@pytest.fixture
def slow(kapp: App, pings: Table, make_kscript: Callable[..., Any], deploy_app: Callable) -> Any:
    """Writes a row, then keeps its worker busy for `ms` milliseconds."""
    code = (
        f"K.insert('{pings.alias}', {{note: 'slow'}});\n"
        "var until = Date.now() + K.params.ms;\n"
        "while (Date.now() < until) {}\n"
        "K.setResponse(1);\n"
    )
    method = make_kscript(kapp, "Slow", code, params=[{"name": "ms", "type": "integer"}])
    deploy_app(kapp)
    return method


def a_past_minute(minutes_ago: int = 2) -> datetime:
    return timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)


def due_at(schedule: Schedule, moment: datetime) -> None:
    """Move the schedule's next due time (the test's clock)."""
    Schedule.objects.filter(pk=schedule.pk).update(next_due_at=moment)


def tick(now: datetime) -> list[int]:
    """One tick through the worker, waited for."""
    result = tick_schedules_task.apply_async(kwargs={"now": now.isoformat()}, queue=SCHEDULE_QUEUE, ignore_result=False)
    return result.get(timeout=60)


def runs_of(schedule: Schedule) -> list[ScheduleRun]:
    return list(ScheduleRun.objects.filter(schedule=schedule).order_by("due_at", "id"))


def finished(schedule: Schedule, count: int = 1) -> list[ScheduleRun]:
    def check() -> list[ScheduleRun]:
        runs = runs_of(schedule)
        done = [r for r in runs if r.status not in ("queued", "running")]
        return runs if len(done) >= count else []

    return wait_for(check, what=f"{count} finished run(s) of {schedule.name}")


def test_beat_ticks_and_the_worker_starts_the_run_at_its_due_time(
    kapp: App, record: Any, pings: Table, make_schedule: Callable, schedule_worker: Any, start_beat: Callable
) -> None:
    now = timezone.now()
    # Hourly at a minute half an hour away, brought forward to a few seconds from now: the
    # run due then is the only one while the test lasts.
    minute = (now + timedelta(minutes=30)).minute
    schedule = make_schedule(kapp, "record", kind="cron", cron=f"{minute} * * * *", params={"note": "hello"})
    due = now.replace(microsecond=0) + timedelta(seconds=4)
    due_at(schedule, due)

    start_beat(KILN_SCHEDULE_TICK_MS="500")
    (run,) = finished(schedule)

    assert (run.status, run.trigger, run.due_at, run.revision) == ("ok", "schedule", due, 1)
    assert run.started_at is not None and run.started_at >= due  # sent ahead with an ETA, not run early
    assert run.result == {"note": "hello"}
    assert run.logs == [{"level": "log", "args": ["recorded", "hello"], "line": 2, "script": "record"}]
    assert run.error is None and run.duration_ms is not None and run.finished_at is not None
    schedule.refresh_from_db()
    assert schedule.next_due_at is not None and schedule.next_due_at.minute == minute
    assert timedelta(0) < schedule.next_due_at - due <= timedelta(hours=1)
    assert record_count(pings) == (1, True)


def test_every_minute_runs_each_minute_once_however_many_ticks_arrive(
    kapp: App, record: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "record", params={"note": "tick"})
    minute = a_past_minute()
    due_at(schedule, minute)

    # The same tick three times through the worker (two processes take them at once) and
    # once more here, as a second beat would send it.
    results = [
        tick_schedules_task.apply_async(
            kwargs={"now": (minute + timedelta(seconds=1)).isoformat()}, ignore_result=False, queue=SCHEDULE_QUEUE
        )
        for _ in range(3)
    ]
    here = scheduler.tick(minute + timedelta(seconds=1))
    queued = here + [run_id for result in results for run_id in result.get(timeout=60)]
    (run,) = finished(schedule)
    assert queued == [run.id]
    assert (run.status, run.due_at) == ("ok", minute)
    schedule.refresh_from_db()
    assert schedule.next_due_at == minute + timedelta(minutes=1)

    # The next minute: one more run, and only one.
    assert len(tick(minute + timedelta(minutes=1, seconds=1))) == 1
    assert tick(minute + timedelta(minutes=1, seconds=2)) == []
    runs = finished(schedule, 2)
    assert [(r.due_at, r.status) for r in runs] == [(minute, "ok"), (minute + timedelta(minutes=1), "ok")]
    assert record_count(pings) == (2, True)


def test_a_tick_from_stale_state_runs_nothing_the_database_says_no(
    kapp: App, record: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "record", params={"note": "x"})
    minute = a_past_minute()
    due_at(schedule, minute)
    tick(minute + timedelta(seconds=1))
    finished(schedule)

    # A second scheduler that still believes this minute is due (stale state, a restored
    # backup): the unique (schedule, due time) stops it, and it moves on.
    due_at(schedule, minute)
    assert tick(minute + timedelta(seconds=5)) == []
    assert [r.due_at for r in runs_of(schedule)] == [minute]
    schedule.refresh_from_db()
    assert schedule.next_due_at == minute + timedelta(minutes=1)
    assert record_count(pings) == (1, True)


def test_a_redelivered_run_message_does_not_run_again(
    kapp: App, record: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "record", params={"note": "once"})
    minute = a_past_minute()
    due_at(schedule, minute)
    tick(minute + timedelta(seconds=1))
    (run,) = finished(schedule)

    again = [run_schedule_task.apply_async(args=[run.id], queue=SCHEDULE_QUEUE, ignore_result=False) for _ in range(2)]
    assert [result.get(timeout=60) for result in again] == [None, None]
    (same,) = runs_of(schedule)
    assert (same.status, same.finished_at, same.worker) == ("ok", run.finished_at, run.worker)
    assert record_count(pings) == (1, True)


def test_a_run_still_going_when_the_next_is_due_makes_that_one_skipped(
    kapp: App, slow: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "slow", params={"ms": 4000})
    minute = a_past_minute(3)
    due_at(schedule, minute)
    tick(minute + timedelta(seconds=1))
    wait_for(lambda: ScheduleRun.objects.filter(schedule=schedule, status="running").exists(), what="the first run")

    # The next minute comes while the first run is busy: the worker's other process
    # takes the new run, finds the first still going and records a skip.
    tick(minute + timedelta(minutes=1, seconds=1))
    first, second = finished(schedule, 2)
    assert (first.due_at, first.status) == (minute, "ok")
    assert (second.due_at, second.status, second.started_at) == (minute + timedelta(minutes=1), "skipped", None)
    assert second.error == {
        "type": "StillRunning",
        "message": f"The run due at {minute:%Y-%m-%d %H:%M:%S} UTC was still going at this due time.",
    }
    assert record_count(pings) == (1, True)


def test_a_run_not_yet_started_when_the_next_is_due_makes_that_one_skipped(
    kapp: App, record: Any, make_schedule: Callable, settings: Any
) -> None:
    # A queue no worker listens to: the first run stays queued, and the tick piles nothing up.
    settings.KILN_SCHEDULE_QUEUE = f"{SCHEDULE_QUEUE}-nobody"
    schedule = make_schedule(kapp, "record", params={"note": "x"})
    minute = a_past_minute(3)
    due_at(schedule, minute)
    first = scheduler.tick(minute + timedelta(seconds=1))
    assert scheduler.tick(minute + timedelta(minutes=1, seconds=1)) == []
    runs = runs_of(schedule)
    assert [(r.id in first, r.status) for r in runs] == [(True, "queued"), (False, "skipped")]
    assert runs[1].error == {
        "type": "StillQueued",
        "message": f"The run due at {minute:%Y-%m-%d %H:%M:%S} UTC had not started yet.",
    }
    redis_client().delete(settings.KILN_SCHEDULE_QUEUE)
    runs[0].delete()  # no worker will ever take it


def test_beat_down_for_an_hour_leaves_one_missed_entry_and_no_burst(
    kapp: App, record: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "record", params={"note": "x"})
    minute = a_past_minute(65)
    due_at(schedule, minute)

    # Nothing ticked for an hour; then a tick 5 seconds past the hour.
    queued = tick(minute + timedelta(hours=1, seconds=5))
    missed, run = finished(schedule, 2)
    assert queued == [run.id]
    assert (missed.status, missed.due_at, missed.missed_count, missed.missed_until) == (
        "missed",
        minute,
        60,
        minute + timedelta(minutes=59),
    )
    assert missed.error == {
        "type": "Missed",
        "message": f"60 due times from {minute:%Y-%m-%d %H:%M:%S} UTC to "
        f"{minute + timedelta(minutes=59):%Y-%m-%d %H:%M:%S} UTC passed while nothing ticked "
        "(the scheduler was down or the app suspended).",
    }
    assert (run.status, run.due_at) == ("ok", minute + timedelta(hours=1))
    schedule.refresh_from_db()
    assert schedule.next_due_at == minute + timedelta(hours=1, minutes=1)
    assert record_count(pings) == (1, True)


def test_a_killed_worker_rolls_back_and_the_sweeper_marks_the_run_lost(
    kapp: App, slow: Any, pings: Table, make_schedule: Callable, schedule_worker: Any
) -> None:
    schedule = make_schedule(kapp, "slow", params={"ms": 20000})
    minute = a_past_minute()
    due_at(schedule, minute)
    tick(minute + timedelta(seconds=1))
    run = wait_for(
        lambda: ScheduleRun.objects.filter(schedule=schedule, status="running").first(), what="the run to start"
    )
    # The script's row is written (uncommitted) as soon as the run starts; give it a moment.
    wait_for(lambda: _app_transaction_open(), what="the script's open transaction")

    pid = int(run.worker.rsplit(":", 1)[1])
    assert pid != schedule_worker.pid  # a pool process, not the worker's parent
    psutil.Process(pid).kill()
    wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, what="kill")

    # Its connection went with it: PostgreSQL rolled the row back.
    wait_for(lambda: not _app_transaction_open(), what="the transaction to end")
    assert record_count(pings) == (0, True)

    # The message comes back (acks_late, reject on worker lost) and is acknowledged by
    # the pool's new process without running again.
    wait_for(_nothing_in_flight, what="the message to be delivered again")
    run.refresh_from_db()
    assert run.status == "running"

    # The sweeper, once the run's time limit and the grace have passed.
    sweep = sweep_schedule_runs_task.apply_async(
        kwargs={"now": (run.deadline_at + timedelta(seconds=61)).isoformat()}, queue=SCHEDULE_QUEUE, ignore_result=False
    )
    assert sweep.get(timeout=60) == 1
    run.refresh_from_db()
    assert run.status == "lost"
    assert run.error == {
        "type": "Lost",
        "message": "The worker running it stopped (killed or crashed) before it finished; "
        "whatever it wrote was rolled back.",
    }
    assert record_count(pings) == (0, True)
    assert [r.id for r in runs_of(schedule)] == [run.id]


def test_history_older_than_the_kept_days_is_pruned(
    kapp: App, record: Any, make_schedule: Callable, schedule_worker: Any, settings: Any
) -> None:
    schedule = make_schedule(kapp, "record", params={"note": "x"})
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    for days in (9, 8, 7.5, 6, 1):
        ScheduleRun.objects.create(schedule=schedule, due_at=now - timedelta(days=days), status="ok")
    ScheduleRun.objects.create(schedule=schedule, due_at=now - timedelta(days=30), status="running")
    prune = prune_schedule_runs_task.apply_async(
        kwargs={"now": now.isoformat()}, queue=SCHEDULE_QUEUE, ignore_result=False
    )
    assert prune.get(timeout=60) == 3  # the worker's default: KILN_SCHEDULE_HISTORY_DAYS=7
    left = sorted(((now - r.due_at).days, r.status) for r in runs_of(schedule))
    assert left == [(1, "ok"), (6, "ok"), (30, "running")]
    ScheduleRun.objects.filter(schedule=schedule).delete()


def _app_transaction_open() -> bool:
    """Whether an app role's connection sits in an open transaction (the script's)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename LIKE 'kiln\\_%%' AND state LIKE '%%transaction%%' AND xact_start IS NOT NULL"
        )
        return bool(cur.fetchone()[0])


def _nothing_in_flight() -> bool:
    """Nothing waits in the queue and no message is taken but unacknowledged (kombu's
    Redis transport keeps those in the `unacked` hash until the task is acknowledged)."""
    return redis_client().llen(SCHEDULE_QUEUE) == 0 and redis_client().hlen("unacked") == 0


@pytest.fixture
def stuck_and_others(kapp: App, slow: Any, record: Any, make_schedule: Callable) -> tuple[Schedule, list[Schedule]]:
    """A slow schedule (20 s) and two quick ones writing r0 and r1, to be due at once."""
    stuck = make_schedule(kapp, "slow", name="Stuck", params={"ms": 20000})
    others = [make_schedule(kapp, "record", name=f"Record {i}", params={"note": f"r{i}"}) for i in range(2)]
    return stuck, others


def _the_slow_run_going(stuck: Schedule, others: list[Schedule]) -> ScheduleRun:
    run = wait_for(lambda: ScheduleRun.objects.filter(schedule=stuck, status="running").first(), what="the slow run")
    wait_for(lambda: _app_transaction_open(), what="the script's open transaction")
    assert ScheduleRun.objects.filter(schedule__in=others, status="queued").count() == 2
    return run


def _the_others_ran_once_and_the_killed_run_is_lost(run: ScheduleRun, others: list[Schedule], pings: Table) -> None:
    for schedule in others:
        (done,) = finished(schedule)
        assert (done.status, done.result) == ("ok", {"note": schedule.params["note"]})
        assert done.worker != run.worker
    wait_for(_nothing_in_flight, what="the message to be acknowledged")
    run.refresh_from_db()
    assert run.status == "running"
    assert sorted(note for (note,) in _notes(pings)) == ["r0", "r1"]  # the killed run's row rolled back
    assert scheduler.sweep(run.deadline_at + timedelta(seconds=61)) == 1
    lost = ScheduleRun.objects.get(pk=run.pk)
    assert (lost.status, lost.error["type"]) == ("lost", "Lost")
    assert [r.pk for r in runs_of(run.schedule)] == [run.pk]


def test_a_batch_whose_worker_is_killed_loses_only_the_run_it_was_in(
    stuck_and_others: tuple[Schedule, list[Schedule]], pings: Table, schedule_worker: Any, settings: Any
) -> None:
    # Three runs due at once in one message (one process takes them in turn), the slow
    # one first.
    settings.KILN_SCHEDULE_FANOUT = 1
    stuck, others = stuck_and_others
    minute = a_past_minute()
    Schedule.objects.filter(pk__in=[stuck.pk, *(s.pk for s in others)]).update(next_due_at=minute)
    assert len(scheduler.tick(minute + timedelta(seconds=1))) == 3
    run = _the_slow_run_going(stuck, others)

    pid = int(run.worker.rsplit(":", 1)[1])
    psutil.Process(pid).kill()

    # The message comes back and the pool's new process runs the two still queued.
    _the_others_ran_once_and_the_killed_run_is_lost(run, others, pings)


def test_a_batch_stopped_by_its_hard_time_limit_comes_back_for_the_runs_still_queued(
    stuck_and_others: tuple[Schedule, list[Schedule]], pings: Table, schedule_worker: Any
) -> None:
    # Three runs due at once in one message, the slow one first. The message's hard time
    # limit (3 s) is shorter than the script's, so Celery kills the process in the middle
    # of the run, as it does one wedged outside V8. Celery does not count that as a lost
    # worker: by default it acknowledged the message and the rest stayed queued.
    stuck, others = stuck_and_others
    minute = a_past_minute()
    runs = [ScheduleRun.objects.create(schedule=s, due_at=minute) for s in (stuck, *others)]
    run_schedule_batch_task.apply_async(args=[[r.pk for r in runs]], queue=SCHEDULE_QUEUE, time_limit=3)
    run = _the_slow_run_going(stuck, others)
    pid = int(run.worker.rsplit(":", 1)[1])

    # The time limit kills the process and the message comes back for the two still
    # queued, each run once.
    _the_others_ran_once_and_the_killed_run_is_lost(run, others, pings)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_the_worker_keeps_its_database_connection_from_task_to_task(schedule_worker: Any) -> None:
    # Celery's Django fixup would close it after each task (a new connection per run).
    def backends() -> set[int]:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = current_user "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
                # This process's own side connections (app facts' listener, the call log) are named.
                "AND application_name NOT LIKE 'kiln%'"
            )
            return {pid for (pid,) in cur.fetchall()}

    def some_tasks() -> None:
        for _ in range(6):
            sweep_schedule_runs_task.apply_async(queue=SCHEDULE_QUEUE, ignore_result=False).get(timeout=60)

    some_tasks()
    kept = wait_for(backends, what="the worker's connections")
    some_tasks()
    # The same backends serve the second batch: no connection was opened (or closed) per
    # task. (How many there are is not checked: threads of this test process, like an
    # earlier test's HTTP server, may hold unnamed connections of their own.)
    assert backends() == kept


def _notes(table: Table) -> list[tuple[str]]:
    from console.tables.isolation import app_cursor

    with app_cursor(table.app_id, atomic=False) as cur:
        cur.execute(f'SELECT note FROM "{table.schema}"."{table.name}"')  # noqa: S608 - the test's own table
        return list(cur.fetchall())
