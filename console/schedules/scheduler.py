"""The scheduling engine: the tick that finds due schedules, the run a worker executes,
the sweeper that finds lost runs, and history pruning. Celery tasks (tasks.py) call
these; tests call them with a clock of their own (`now`).

How a due time is handled exactly once, whoever ticks and however often a message is
delivered (docs/decisions.md "Scheduled KScripts"):
- the tick locks due schedules (FOR UPDATE SKIP LOCKED), so two ticks at once — a
  duplicated message, a second beat — take disjoint schedules, and moves each one's
  `next_due_at` on in the same transaction;
- each due time becomes one ScheduleRun row, and (schedule, due time) is unique in the
  database: a tick working from stale state inserts nothing and queues nothing;
- a worker claims a run by moving it from queued to running under a row lock; a message
  delivered again finds it claimed (or finished) and does nothing. At most one run of a
  schedule is running at a time (a partial unique index).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Case, Q, When
from django.utils import timezone

from apimethods import drafts, kscript
from apimethods.models import LiveDeployment
from apimethods.wire import WireError, coerce_params
from console.schedules import cron
from console.schedules.models import UNFINISHED, AppScheduling, RunStatus, Schedule, ScheduleRun, Trigger
from console.schedules.services import timing_of
from runtime import ScriptFailure, ScriptTimeout

logger = logging.getLogger(__name__)

# How many schedules one transaction of a tick handles (a tick loops until none is due).
TICK_BATCH = 200
# Counting the due times a missed entry stands for stops here ("10,000 or more").
MISSED_COUNT_LIMIT = 10_000
# Results bigger than this (as JSON) are not kept in the history, only their size.
RESULT_LIMIT_BYTES = 64 * 1024
# The Celery hard time limit of a run: the script's own limit plus this.
HARD_LIMIT_EXTRA_SECONDS = 30


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message}


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


# The tick --------------------------------------------------------------------------


def tick(now: datetime | None = None) -> list[int]:
    """Handle every schedule due by `now` (plus the lead time); returns the ids of the
    runs queued. Runs due after `now` go out with their due time as ETA."""
    now = now or timezone.now()
    horizon = now + timedelta(milliseconds=settings.KILN_SCHEDULE_LEAD_MS)
    queued: list[int] = []
    seen: set[int] = set()  # one that failed stays due; it waits for the next tick
    while True:
        with transaction.atomic():
            due = list(
                Schedule.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(next_due_at__lte=horizon, enabled=True, app__suspended=False)
                .exclude(app__scheduling__enabled=False)
                .exclude(pk__in=seen)
                .select_related("app")
                .order_by("next_due_at")[:TICK_BATCH]
            )
            seen.update(schedule.pk for schedule in due)
            batch: list[tuple[int, datetime | None, int]] = []
            for schedule in due:
                run = _handle_due_apart(schedule, now)
                if run is not None:
                    eta = run.due_at if run.due_at > now else None
                    batch.append((run.id, eta, schedule.app.script_timeout_seconds))
            dispatch_after_commit(batch)
        queued += [run_id for run_id, _, _ in batch]
        if len(due) < TICK_BATCH:
            return queued


def _handle_due_apart(schedule: Schedule, now: datetime) -> ScheduleRun | None:
    """_handle_due in a savepoint of its own: one schedule that cannot be handled never
    stops the others (nor every later tick)."""
    try:
        with transaction.atomic():
            return _handle_due(schedule, now)
    except cron.CronError as exc:
        # Its timing no longer reads (a time zone gone from the system's database, say):
        # say so in its history and stop it until someone edits it.
        logger.warning("schedule %s stopped: %s", schedule.pk, exc)
        assert schedule.next_due_at is not None
        _insert(
            schedule,
            schedule.next_due_at,
            RunStatus.FAILED,
            finished_at=now,
            error=_error("BadTiming", f"{exc} The schedule is stopped until it is edited."),
        )
        Schedule.objects.filter(pk=schedule.pk).update(next_due_at=None)
    except Exception:
        logger.exception("schedule %s could not be handled; trying again at the next tick", schedule.pk)
    return None


def _handle_due(schedule: Schedule, now: datetime) -> ScheduleRun | None:
    rule, zone = timing_of(schedule)
    first = schedule.next_due_at
    assert first is not None
    latest = first
    if first < now:
        latest = max(first, cron.latest_at_or_before(rule, zone, now))
    if latest > first:
        # Nothing ticked while these were due (scheduler down, app suspended): one entry
        # for all of them instead of a burst of runs now.
        count, until = _missed_between(rule, zone, first, latest)
        more = "+" if count >= MISSED_COUNT_LIMIT else ""
        _insert(
            schedule,
            first,
            RunStatus.MISSED,
            missed_count=count,
            missed_until=until,
            finished_at=now,
            error=_error(
                "Missed",
                f"{count:,}{more} due time{'s' if count != 1 else ''} from {_when(first)} to {_when(until)} "
                "passed while nothing ticked (the scheduler was down or the app suspended).",
            ),
        )
    run: ScheduleRun | None
    waiting = schedule.runs.filter(status=RunStatus.QUEUED, due_at__lt=latest).order_by("due_at").first()
    if waiting is not None:
        _insert(
            schedule,
            latest,
            RunStatus.SKIPPED,
            finished_at=now,
            error=_error("StillQueued", f"The run due at {_when(waiting.due_at)} had not started yet."),
        )
        run = None
    else:
        run = _insert(schedule, latest, RunStatus.QUEUED)
    schedule.next_due_at = cron.next_after(rule, zone, latest)
    schedule.save(update_fields=["next_due_at"])
    return run


def _missed_between(rule: cron.Cron, zone: Any, first: datetime, latest: datetime) -> tuple[int, datetime]:
    """How many due times from `first` up to (not including) `latest`, and the last one."""
    until = cron.latest_at_or_before(rule, zone, latest - timedelta(microseconds=1))
    until = max(until, first)
    count, current = 1, first
    while count < MISSED_COUNT_LIMIT:
        current = cron.next_after(rule, zone, current)
        if current > until:
            break
        count += 1
    return count, until


def _insert(schedule: Schedule, due_at: datetime, status: str, **fields: Any) -> ScheduleRun | None:
    """The run of (schedule, due_at), or None when that due time was handled already."""
    try:
        with transaction.atomic():
            return ScheduleRun.objects.create(schedule=schedule, due_at=due_at, status=status, **fields)
    except IntegrityError:
        # TRICKY: the unique (schedule, due_at) is the idempotency key. A tick that read a
        # stale next_due_at (another scheduler, a restored backup) lands here.
        logger.info("schedule %s: due time %s was handled already", schedule.pk, due_at.isoformat())
        return None


def dispatch_after_commit(runs: Iterable[tuple[int, datetime | None, int]]) -> None:
    """Send (run id, ETA, the app's time limit) to the schedule queue once the
    transaction that queued them commits."""
    runs = list(runs)
    if not runs:
        return

    def send() -> None:
        from console.schedules.tasks import run_schedule_task

        for run_id, eta, timeout_s in runs:
            try:
                run_schedule_task.apply_async(
                    args=[run_id],
                    queue=settings.KILN_SCHEDULE_QUEUE,
                    eta=eta,
                    time_limit=timeout_s + HARD_LIMIT_EXTRA_SECONDS,
                )
            except Exception:
                # The broker is away: the run stays queued and the sweeper calls it lost.
                logger.exception("could not queue schedule run %s", run_id)

    transaction.on_commit(send)


# A run -----------------------------------------------------------------------------


def execute_run(run_id: int) -> str | None:
    """Claim the run and execute it; returns its final status, or None when there was
    nothing to do (claimed before, finished, lost, deleted)."""
    run = _claim(run_id)
    if run is None:
        return None
    if run.status != RunStatus.RUNNING:
        return str(run.status)
    started = time.perf_counter()
    outcome = _outcome(run)
    outcome.setdefault("duration_ms", round((time.perf_counter() - started) * 1000, 3))
    outcome["finished_at"] = timezone.now()
    updated = ScheduleRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**outcome)
    if not updated:
        logger.warning("schedule run %s finished after it was marked lost or deleted", run.pk)
        return None
    return str(outcome["status"])


def _claim(run_id: int) -> ScheduleRun | None:
    with transaction.atomic():
        run = (
            ScheduleRun.objects.select_for_update(of=("self", "schedule"))
            # The platform admins' switch comes with it (no row: on), not in a query of its own.
            .select_related("schedule", "schedule__app", "schedule__app__scheduling")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != RunStatus.QUEUED:
            return None  # a message delivered twice, or a run the sweeper gave up on
        now = timezone.now()
        reason = _reason_to_skip(run)
        if reason is None:
            run.status = RunStatus.RUNNING
            run.started_at = now
            run.deadline_at = now + timedelta(seconds=run.schedule.app.script_timeout_seconds)
            run.worker = f"{socket.gethostname()}:{os.getpid()}"
            try:
                with transaction.atomic():
                    run.save(update_fields=["status", "started_at", "deadline_at", "worker"])
                return run
            except IntegrityError:
                # The partial unique index: another run of the schedule is running.
                reason = _error("StillRunning", "Another run of this schedule was still going.")
        run.status = RunStatus.SKIPPED
        run.finished_at = now
        run.error = reason
        run.save(update_fields=["status", "finished_at", "error"])
        return run


def _scheduling_on(app: Any) -> bool:
    """The platform admins' switch as the claim's query brought it along (no row: on)."""
    try:
        return bool(app.scheduling.enabled)
    except AppScheduling.DoesNotExist:
        return True


def _reason_to_skip(run: ScheduleRun) -> dict[str, Any] | None:
    schedule, app = run.schedule, run.schedule.app
    if app.suspended:
        return _error("AppSuspended", "The app is suspended.")
    if not _scheduling_on(app):
        return _error("SchedulingOff", "A platform admin switched scheduling off for this app.")
    if run.trigger == Trigger.SCHEDULE and not schedule.enabled:
        return _error("ScheduleOff", "The schedule was switched off before this run started.")
    # One still running, or one that ended since but was still going at this run's due time
    # (a worker that runs one task at a time reaches this run only after the other ended):
    # one query, a running one first.
    going = (
        schedule.runs.exclude(pk=run.pk)
        .filter(
            Q(status=RunStatus.RUNNING)
            | Q(
                started_at__lte=run.due_at,
                finished_at__gt=run.due_at,
                status__in=[RunStatus.OK, RunStatus.FAILED, RunStatus.TIMED_OUT],
            )
        )
        .order_by(Case(When(status=RunStatus.RUNNING, then=0), default=1), "-due_at")
        .first()
    )
    if going is not None:
        return _error("StillRunning", f"The run due at {_when(going.due_at)} was still going at this due time.")
    return None


def _outcome(run: ScheduleRun) -> dict[str, Any]:
    """Run the deployed method; the fields to record."""
    schedule = run.schedule
    return run_deployed(schedule.app, schedule.method, dict(schedule.params), f"schedule-run-{run.pk}")


def run_deployed(
    app: Any, method: str, raw_params: dict[str, Any], label: str, *, keep_undeclared: bool = False
) -> dict[str, Any]:
    """Run the app's deployed KScript method `method` as one invocation; the fields a run
    history records (status, revision, duration_ms, logs, logs_dropped, error, result,
    result_bytes). `label` names the run in logs and is its session token (automations
    share this with schedules). keep_undeclared: parameters the method does not declare
    reach K.params as given."""
    live = LiveDeployment.objects.filter(app_id=app.pk).select_related("deployment").first()
    methods = live.deployment.snapshot.get("methods", {}) if live else {}
    scripts, api_methods = kscript.deployed_methods(app.pk, methods)
    spec = scripts.get(method)
    if spec is None:
        return {
            "status": RunStatus.FAILED,
            "error": _error("NotDeployed", f"No KScript method called {method} is deployed; deploy the app first."),
        }
    revision = methods[method].get("revision")
    try:
        params = coerce_params(raw_params, spec.params, keep_undeclared=keep_undeclared)
    except WireError as exc:
        return {"status": RunStatus.FAILED, "revision": revision, "error": _error("ParamError", exc.message)}
    try:
        result = kscript.run_top_level(
            app.pk, app.script_timeout_seconds, scripts, spec, params, label, api_methods=api_methods
        )
    except ScriptFailure as exc:
        status = RunStatus.TIMED_OUT if isinstance(exc, ScriptTimeout) else RunStatus.FAILED
        return {"status": status, "revision": revision, "error": drafts.error_data(exc), "logs": _logs(exc.logs)}
    except RecursionError:
        message = f"A logged value is nested more than {drafts.MAX_DEPTH} levels deep."
        return {"status": RunStatus.FAILED, "revision": revision, "error": _error("ResponseTooDeep", message)}
    except DatabaseError as exc:
        logger.exception("database error in %s", label)
        return {"status": RunStatus.FAILED, "revision": revision, "error": _error("DatabaseError", str(exc))}
    except Exception as exc:
        # Recorded rather than left "running" until the sweeper calls it lost.
        logger.exception("unexpected error in %s", label)
        message = f"Kiln could not run it ({type(exc).__name__}); the error is in the worker's log."
        return {"status": RunStatus.FAILED, "revision": revision, "error": _error("InternalError", message)}
    fields: dict[str, Any] = {
        "status": RunStatus.OK,
        "revision": revision,
        "duration_ms": round(result.duration_s * 1000, 3),
        "logs": _logs(result.logs),
        "logs_dropped": result.logs_dropped,
    }
    fields.update(_result_fields(result, spec.return_type))
    return fields


def _logs(entries: Any) -> list[dict[str, Any]]:
    try:
        return drafts.log_data(entries)
    except RecursionError:
        return []


def _result_fields(result: Any, return_type: str) -> dict[str, Any]:
    try:
        payload = drafts.jsonable(kscript.payload_of(result, return_type))
    except WireError as exc:
        return {"status": RunStatus.FAILED, "error": _error("ReturnTypeError", exc.message)}
    except RecursionError:
        return {"error": _error("ResponseTooDeep", "The response is too deeply nested to keep.")}
    if drafts.nested_deeper_than(payload, drafts.MAX_DEPTH):
        return {"error": _error("ResponseTooDeep", "The response is too deeply nested to keep.")}
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > RESULT_LIMIT_BYTES:
        return {"result": None, "result_bytes": size}
    return {"result": payload, "result_bytes": size}


# Housekeeping ----------------------------------------------------------------------


def sweep(now: datetime | None = None) -> int:
    """Mark runs whose worker died (still running well after their time limit) and runs
    no worker ever started as lost. Their transactions rolled back with their
    connections; a message for them delivered later does nothing."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.KILN_SCHEDULE_LOST_AFTER_SECONDS)
    died = ScheduleRun.objects.filter(status=RunStatus.RUNNING, deadline_at__lt=now - grace).update(
        status=RunStatus.LOST,
        finished_at=now,
        error=_error(
            "Lost",
            "The worker running it stopped (killed or crashed) before it finished; whatever it wrote was rolled back.",
        ),
    )
    limit = settings.KILN_SCHEDULE_QUEUE_LIMIT_SECONDS
    never = ScheduleRun.objects.filter(status=RunStatus.QUEUED, due_at__lt=now - timedelta(seconds=limit)).update(
        status=RunStatus.LOST,
        finished_at=now,
        error=_error("Lost", f"No worker started it within {limit} seconds of its due time."),
    )
    if died or never:
        logger.warning("schedule runs lost: %s stopped running, %s never started", died, never)
    return died + never


def prune(now: datetime | None = None, *, batch: int = 5_000) -> int:
    """Delete finished runs older than KILN_SCHEDULE_HISTORY_DAYS, a batch per transaction."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.KILN_SCHEDULE_HISTORY_DAYS)
    old = ScheduleRun.objects.filter(due_at__lt=cutoff).exclude(status__in=UNFINISHED)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += ScheduleRun.objects.filter(id__in=ids).delete()[0]
