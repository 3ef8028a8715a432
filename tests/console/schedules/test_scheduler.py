"""The scheduler's rules, run in this process with a clock the test sets (real V8 and
PostgreSQL; test_worker.py proves the same through a real worker and beat)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimethods.hosts import redis_client
from console.apps import services as app_services
from console.apps.models import App
from console.schedules import scheduler, services
from console.schedules.models import Schedule, ScheduleRun

pytestmark = pytest.mark.django_db

MINUTE = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Keep the tick's Celery messages from leaving: callbacks are captured, not run."""
    return lambda: django_capture_on_commit_callbacks(execute=False)


def due_at(schedule: Schedule, moment: datetime) -> None:
    Schedule.objects.filter(pk=schedule.pk).update(next_due_at=moment)


def queued_run(schedule: Schedule, moment: datetime = MINUTE) -> ScheduleRun:
    return ScheduleRun.objects.create(schedule=schedule, due_at=moment)


def test_a_run_due_within_the_lead_time_goes_out_early_with_its_due_time_as_eta(
    kapp: App, make_kscript: Callable, make_schedule: Callable, capture: Callable, settings: Any
) -> None:
    make_kscript(kapp, "Job")
    schedule = make_schedule(kapp, "job")
    due_at(schedule, MINUTE)
    with capture() as callbacks:
        early = scheduler.tick(MINUTE - timedelta(seconds=3))  # outside the 2 s lead
        ids = scheduler.tick(MINUTE - timedelta(milliseconds=1500))
    assert early == [] and len(ids) == 1 and len(callbacks) == 1
    run = ScheduleRun.objects.get(pk=ids[0])
    assert (run.due_at, run.status, run.trigger) == (MINUTE, "queued", "schedule")
    schedule.refresh_from_db()
    assert schedule.next_due_at == MINUTE + timedelta(minutes=1)


def test_switched_off_schedules_suspended_apps_and_apps_without_scheduling_are_not_ticked(
    kapp: App, other_app: App, make_kscript: Callable, make_schedule: Callable, capture: Callable
) -> None:
    make_kscript(kapp, "Job")
    off = make_schedule(kapp, "job", name="Off", enabled=False)
    on = make_schedule(kapp, "job", name="On")
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    make_kscript(other_app, "Job")
    elsewhere = make_schedule(other_app, "job", name="Elsewhere")
    for schedule in (on, elsewhere):
        due_at(schedule, MINUTE)
    services.set_scheduling(other_app, False)
    app_services.set_platform_flags(kapp, suspended=True)
    with capture():
        assert scheduler.tick(MINUTE + timedelta(seconds=1)) == []
    assert not ScheduleRun.objects.exists()
    assert [Schedule.objects.get(pk=s.pk).next_due_at for s in (off, on, elsewhere)] == [None, MINUTE, MINUTE]


def test_a_suspension_is_one_missed_entry_when_it_ends(
    kapp: App, make_kscript: Callable, make_schedule: Callable, capture: Callable
) -> None:
    make_kscript(kapp, "Job")
    schedule = make_schedule(kapp, "job", kind="hour")
    due_at(schedule, MINUTE)
    app_services.set_platform_flags(kapp, suspended=True)
    with capture():
        scheduler.tick(MINUTE + timedelta(hours=5))
        app_services.set_platform_flags(kapp, suspended=False)
        ids = scheduler.tick(MINUTE + timedelta(hours=5, minutes=10))
    missed, run = ScheduleRun.objects.filter(schedule=schedule).order_by("due_at")
    assert (missed.status, missed.due_at, missed.missed_count, missed.missed_until) == (
        "missed",
        MINUTE,
        5,
        MINUTE + timedelta(hours=4),
    )
    assert (run.id, run.status, run.due_at) == (ids[0], "queued", MINUTE + timedelta(hours=5))


def test_a_script_error_is_recorded_with_its_line_column_and_logs(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Broken", "K.log('before');\nvar x = null;\nx.boom();\n")
    schedule = make_schedule(kapp, "broken")
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "failed"
    run.refresh_from_db()
    assert run.status == "failed" and run.revision == 1 and run.result is None
    assert {k: run.error[k] for k in ("type", "method", "line", "column")} == {
        "type": "ScriptError",
        "method": "broken",
        "line": 3,
        "column": 3,
    }
    assert "null" in run.error["message"]
    assert run.logs == [{"level": "log", "args": ["before"], "line": 1, "script": "broken"}]
    assert run.started_at is not None and run.finished_at is not None and run.duration_ms is not None


def test_a_run_takes_the_apps_time_limit_not_the_client_one(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    App.objects.filter(pk=kapp.pk).update(script_timeout_seconds=1)
    make_kscript(kapp, "Spin", "while (true) {}")
    schedule = make_schedule(kapp, "spin")
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "timed_out"
    run.refresh_from_db()
    assert run.error["type"] == "ScriptTimeout"
    assert run.deadline_at - run.started_at == timedelta(seconds=1)
    assert 900 <= run.duration_ms < 5000


def test_the_deployed_revision_runs_never_the_draft(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    from apimethods import services as method_services

    method = make_kscript(kapp, "Answer", "K.setResponse('deployed');")
    schedule = make_schedule(kapp, "answer")
    deploy_app(kapp)
    method_services.save_kscript(
        method, None, base_revision=1, title="Answer", return_type="objects", params=[], code="K.setResponse('draft');"
    )
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "ok"
    run.refresh_from_db()
    assert (run.result, run.revision, run.result_bytes) == ("deployed", 1, 10)


def test_a_method_not_deployed_fails_with_a_message(kapp: App, make_kscript: Callable, make_schedule: Callable) -> None:
    make_kscript(kapp, "Later")
    run = queued_run(make_schedule(kapp, "later"))
    assert scheduler.execute_run(run.id) == "failed"
    run.refresh_from_db()
    assert run.error == {
        "type": "NotDeployed",
        "message": "No KScript method called later is deployed; deploy the app first.",
    }


def test_params_that_no_longer_fit_the_deployed_method_fail_the_run(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    from apimethods import services as method_services

    method = make_kscript(kapp, "Count", "K.setResponse(K.params.n);", params=[{"name": "n", "type": "string"}])
    schedule = make_schedule(kapp, "count", params={"n": "ten"})
    method_services.save_kscript(
        method,
        None,
        base_revision=1,
        title="Count",
        return_type="number",
        params=[{"name": "n", "type": "integer"}],
        code="K.setResponse(K.params.n);",
    )
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "failed"
    run.refresh_from_db()
    assert run.error == {"type": "ParamError", "message": "Parameter 'n' must be an integer"}


def test_fixed_params_reach_the_script_typed(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    params = [{"name": "n", "type": "integer"}, {"name": "on", "type": "boolean"}, {"name": "s", "type": "string"}]
    make_kscript(
        kapp, "Echo", "K.setResponse([typeof K.params.n, K.params.n, K.params.on, K.params.s]);", params=params
    )
    schedule = make_schedule(kapp, "echo", params={"n": "42", "on": "1", "s": "x"})
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "ok"
    run.refresh_from_db()
    assert run.result == ["number", 42, True, "x"]


def test_a_run_queued_before_a_suspension_is_skipped_when_its_turn_comes(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Job")
    schedule = make_schedule(kapp, "job")
    deploy_app(kapp)
    run = queued_run(schedule)
    app_services.set_platform_flags(kapp, suspended=True)
    assert scheduler.execute_run(run.id) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.started_at, run.error) == (
        "skipped",
        None,
        {"type": "AppSuspended", "message": "The app is suspended."},
    )


def test_claimed_finished_and_lost_runs_are_never_run_again(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Job", "K.log('ran'); K.setResponse(1);")
    schedule = make_schedule(kapp, "job")
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "ok"
    assert scheduler.execute_run(run.id) is None
    lost = ScheduleRun.objects.create(schedule=schedule, due_at=MINUTE + timedelta(minutes=1), status="lost")
    assert scheduler.execute_run(lost.id) is None
    assert scheduler.execute_run(999_999) is None
    assert ScheduleRun.objects.get(pk=lost.pk).status == "lost"


def test_the_sweeper_gives_up_on_runs_no_worker_started(
    kapp: App, make_kscript: Callable, make_schedule: Callable, settings: Any
) -> None:
    make_kscript(kapp, "Job")
    schedule = make_schedule(kapp, "job")
    waiting = queued_run(schedule)
    recent = queued_run(schedule, MINUTE + timedelta(minutes=9))
    assert scheduler.sweep(MINUTE + timedelta(seconds=settings.KILN_SCHEDULE_QUEUE_LIMIT_SECONDS + 1)) == 1
    waiting.refresh_from_db()
    assert waiting.status == "lost"
    assert waiting.error == {"type": "Lost", "message": "No worker started it within 600 seconds of its due time."}
    assert ScheduleRun.objects.get(pk=recent.pk).status == "queued"


def test_a_big_result_is_measured_but_not_kept(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Big", "var s = ''; for (var i = 0; i < 70000; i++) { s += 'x'; } K.setResponse(s);")
    schedule = make_schedule(kapp, "big")
    deploy_app(kapp)
    run = queued_run(schedule)
    assert scheduler.execute_run(run.id) == "ok"
    run.refresh_from_db()
    assert (run.result, run.result_bytes) == (None, 70002)


def test_a_schedule_whose_timing_no_longer_reads_is_stopped_and_the_others_still_run(
    kapp: App, make_kscript: Callable, make_schedule: Callable, capture: Callable
) -> None:
    make_kscript(kapp, "Job")
    broken = make_schedule(kapp, "job", name="Broken")
    fine = make_schedule(kapp, "job", name="Fine")
    # As if the system's time zone database lost the zone after the schedule was saved.
    Schedule.objects.filter(pk=broken.pk).update(timezone="Atlantis/Capital", next_due_at=MINUTE)
    due_at(fine, MINUTE)
    with capture():
        queued = scheduler.tick(MINUTE + timedelta(seconds=1))
        assert scheduler.tick(MINUTE + timedelta(seconds=2)) == []
    (failed,) = ScheduleRun.objects.filter(schedule=broken)
    assert (failed.status, failed.due_at) == ("failed", MINUTE)
    assert failed.error == {
        "type": "BadTiming",
        "message": "'Atlantis/Capital' is not an IANA time zone name (e.g. Europe/London, UTC). "
        "The schedule is stopped until it is edited.",
    }
    assert Schedule.objects.get(pk=broken.pk).next_due_at is None
    assert [r.id for r in ScheduleRun.objects.filter(schedule=fine)] == queued


def test_one_tick_works_through_every_due_schedule_a_batch_at_a_time(
    kapp: App, make_kscript: Callable, make_schedule: Callable, capture: Callable, monkeypatch: Any
) -> None:
    monkeypatch.setattr(scheduler, "TICK_BATCH", 2)
    make_kscript(kapp, "Job")
    schedules = [make_schedule(kapp, "job", name=f"Job {i}") for i in range(5)]
    Schedule.objects.update(next_due_at=MINUTE)
    with capture():
        queued = scheduler.tick(MINUTE + timedelta(seconds=1))
    assert len(queued) == 5
    assert sorted(ScheduleRun.objects.values_list("schedule_id", flat=True)) == sorted(s.pk for s in schedules)
    assert set(Schedule.objects.values_list("next_due_at", flat=True)) == {MINUTE + timedelta(minutes=1)}


def test_runs_due_at_once_go_out_as_a_few_messages_sharing_their_ids(
    kapp: App, make_kscript: Callable, make_schedule: Callable, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # A queue nobody listens to: the messages stay there for the test to read.
    settings.KILN_SCHEDULE_QUEUE = queue = f"kiln-test-nobody-{uuid.uuid4().hex}"
    settings.KILN_SCHEDULE_FANOUT = 3
    make_kscript(kapp, "Job")
    for i in range(5):
        due_at(make_schedule(kapp, "job", name=f"Job {i}"), MINUTE)
    alone = make_schedule(kapp, "job", name="Alone", kind="hour")  # due within the lead time
    due_at(alone, MINUTE + timedelta(seconds=30))
    try:
        with django_capture_on_commit_callbacks(execute=True):  # sent as the tick commits
            queued = scheduler.tick(MINUTE + timedelta(seconds=29))
        messages = [json.loads(m) for m in redis_client().lrange(queue, 0, -1)]
    finally:
        redis_client().delete(queue)
    tasks = sorted((m["headers"]["task"], m["headers"]["argsrepr"], m["headers"]["eta"]) for m in messages)
    together = sorted(ScheduleRun.objects.filter(due_at=MINUTE).values_list("id", flat=True))
    (lone,) = ScheduleRun.objects.filter(schedule=alone).values_list("id", flat=True)
    assert sorted(queued) == sorted([*together, lone])
    assert tasks == [("console.schedules.run_schedule_batch_task", f"[{together!r}]", None)] * 3 + [
        ("console.schedules.run_schedule_task", f"[{lone}]", (MINUTE + timedelta(seconds=30)).isoformat())
    ]


def test_a_batch_runs_each_queued_run_once_earliest_first_and_a_second_delivery_runs_nothing(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Job", "K.setResponse(K.params.n);", params=[{"name": "n", "type": "integer"}])
    deploy_app(kapp)
    runs = [queued_run(make_schedule(kapp, "job", name=f"Job {n}", params={"n": n}), MINUTE) for n in range(3)]
    taken = queued_run(make_schedule(kapp, "job", name="Taken", params={"n": 9}), MINUTE - timedelta(minutes=1))
    ScheduleRun.objects.filter(pk=taken.pk).update(status="ok")  # another process ran it already
    ids = [taken.id, *(r.id for r in reversed(runs))]

    assert scheduler.execute_runs(ids) == 3
    done = list(ScheduleRun.objects.filter(pk__in=[r.id for r in runs]).order_by("started_at"))
    assert [(r.id, r.status, r.result) for r in done] == [(r.id, "ok", n) for n, r in enumerate(runs)]
    assert all(r.worker.endswith(f":{os.getpid()}") and r.deadline_at is not None for r in done)
    assert scheduler.execute_runs(ids) == 0  # delivered again: nothing left to claim
    assert ScheduleRun.objects.get(pk=taken.pk).status == "ok"


def test_a_batch_records_skips_as_it_goes_and_hands_on_what_is_left_after_its_budget(
    kapp: App, make_kscript: Callable, make_schedule: Callable, deploy_app: Callable, settings: Any
) -> None:
    settings.KILN_SCHEDULE_QUEUE = queue = f"kiln-test-nobody-{uuid.uuid4().hex}"
    make_kscript(kapp, "Job")
    deploy_app(kapp)
    going = make_schedule(kapp, "job", name="Going")
    ScheduleRun.objects.create(schedule=going, due_at=MINUTE - timedelta(minutes=1), status="running")
    overlapping = queued_run(going)
    off = make_schedule(kapp, "job", name="Off")
    switched_off = queued_run(off)
    Schedule.objects.filter(pk=off.pk).update(enabled=False)
    rest = [queued_run(make_schedule(kapp, "job", name=f"Job {i}")) for i in range(2)]
    ids = [overlapping.id, switched_off.id, *(r.id for r in rest)]
    try:
        # A budget of nothing: one run, then the rest goes on in a new message.
        assert scheduler.execute_runs(ids, budget_s=0) == 1
        (message,) = [json.loads(m) for m in redis_client().lrange(queue, 0, -1)]
    finally:
        redis_client().delete(queue)
    assert (message["headers"]["task"], message["headers"]["argsrepr"]) == (
        "console.schedules.run_schedule_batch_task",
        f"[{ids!r}]",
    )
    assert message["headers"]["timelimit"][0] == scheduler.BATCH_BUDGET_SECONDS + kapp.script_timeout_seconds + 30
    assert scheduler.execute_runs(ids) == 3
    statuses = {r.pk: (r.status, r.error and r.error["type"]) for r in ScheduleRun.objects.filter(pk__in=ids)}
    assert statuses == {
        overlapping.id: ("skipped", "StillRunning"),
        switched_off.id: ("skipped", "ScheduleOff"),
        rest[0].id: ("ok", None),
        rest[1].id: ("ok", None),
    }


def test_a_batch_the_tick_cannot_write_at_once_is_written_schedule_by_schedule(
    kapp: App, make_kscript: Callable, make_schedule: Callable, capture: Callable, monkeypatch: Any
) -> None:
    make_kscript(kapp, "Job")
    first, bad, last = (make_schedule(kapp, "job", name=name) for name in ("First", "Bad", "Last"))
    Schedule.objects.update(next_due_at=MINUTE)
    write = scheduler._write

    def failing_for_bad(plans: list[Any]) -> Any:
        if any(schedule.pk == bad.pk for schedule, _, _ in plans):
            raise RuntimeError("cannot write this one")
        return write(plans)

    monkeypatch.setattr(scheduler, "_write", failing_for_bad)
    with capture():
        queued = scheduler.tick(MINUTE + timedelta(seconds=1))
    runs = {r.schedule_id: r for r in ScheduleRun.objects.all()}
    assert sorted(queued) == sorted(r.id for r in runs.values())
    assert sorted(runs) == sorted([first.pk, last.pk])
    assert all((r.status, r.due_at) == ("queued", MINUTE) for r in runs.values())
    # The one that failed stays due: the next tick tries it again.
    next_due = dict(Schedule.objects.values_list("pk", "next_due_at"))
    assert next_due == {first.pk: MINUTE + timedelta(minutes=1), bad.pk: MINUTE, last.pk: MINUTE + timedelta(minutes=1)}
    monkeypatch.setattr(scheduler, "_write", write)
    with capture():
        (again,) = scheduler.tick(MINUTE + timedelta(seconds=2))
    assert ScheduleRun.objects.get(pk=again).schedule_id == bad.pk
