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
- a worker claims a run by moving it from queued to running in one statement under a
  row lock; a message delivered again finds it claimed (or finished) and does nothing.
  Runs due at the same moment share a few messages, each taking the next run nobody
  claimed. At most one run of a schedule is running at a time (a partial unique index).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from apimethods import drafts, kscript
from apimethods.models import Deployment, LiveDeployment
from apimethods.wire import WireError, coerce_params
from console.apps.models import App
from console.schedules import cron, history
from console.schedules.models import AppScheduling, RunStatus, Schedule, ScheduleRun, Trigger
from console.schedules.services import timing_of
from console.tables.models import TableSequence
from console.tables.scripting import NO_TABLES_YET
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
# A task given a batch of runs stops claiming them after this long and sends the rest on
# in a new message; its hard time limit is this plus a run's.
BATCH_BUDGET_SECONDS = 10
# run_deployed's "not read yet".
UNKNOWN: Any = object()


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
                .order_by("next_due_at", "id")[:TICK_BATCH]
            )
            seen.update(schedule.pk for schedule in due)
            batch = [
                (run_id, due_at if due_at > now else None, timeout_s)
                for run_id, due_at, timeout_s in _handle_due_batch(due, now)
            ]
            dispatch_after_commit(batch)
        queued += [run_id for run_id, _, _ in batch]
        if len(due) < TICK_BATCH:
            return queued


# (schedule, its entries to insert, its next due time)
Plan = tuple[Schedule, list[dict[str, Any]], datetime]


def _handle_due_batch(due: list[Schedule], now: datetime) -> list[tuple[int, datetime, int]]:
    """Work out what each due schedule gets (pure, but for the runs still queued, read for
    all of them at once), then write every entry in one INSERT and move every schedule on
    in one UPDATE. Returns (run id, due time, time limit) of the runs queued. Should the
    batch's statements fail, each schedule is written on its own, so one that cannot be
    handled never stops the others (nor every later tick)."""
    earliest_queued = dict(
        ScheduleRun.objects.filter(schedule__in=due, status=RunStatus.QUEUED)
        .order_by()
        .values_list("schedule_id")
        .annotate(Min("due_at"))
    )
    plans: list[Plan] = []
    for schedule in due:
        try:
            plans.append(_plan(schedule, now, earliest_queued.get(schedule.pk)))
        except cron.CronError as exc:
            _stop(schedule, now, exc)
        except Exception:
            logger.exception("schedule %s could not be handled; trying again at the next tick", schedule.pk)
    try:
        with transaction.atomic():
            return _write(plans)
    except Exception:
        logger.exception("a tick's batch could not be written at once; writing it one schedule at a time")
    runs: list[tuple[int, datetime, int]] = []
    for plan in plans:
        try:
            with transaction.atomic():
                runs += _write([plan])
        except Exception:
            logger.exception("schedule %s could not be handled; trying again at the next tick", plan[0].pk)
    return runs


def _stop(schedule: Schedule, now: datetime, exc: cron.CronError) -> None:
    """Its timing no longer reads (a time zone gone from the system's database, say): say
    so in its history and stop it until someone edits it."""
    logger.warning("schedule %s stopped: %s", schedule.pk, exc)
    assert schedule.next_due_at is not None
    try:
        with transaction.atomic():
            _insert(
                schedule,
                schedule.next_due_at,
                RunStatus.FAILED,
                finished_at=now,
                error=history.error("BadTiming", f"{exc} The schedule is stopped until it is edited."),
            )
            Schedule.objects.filter(pk=schedule.pk).update(next_due_at=None)
    except Exception:
        logger.exception("schedule %s could not be stopped; trying again at the next tick", schedule.pk)


def _plan(schedule: Schedule, now: datetime, earliest_queued: datetime | None) -> Plan:
    """What the due schedule gets: a "missed" entry for the due times nothing ticked for,
    then its latest due time queued (or skipped while an earlier run has not started)."""
    rule, zone = timing_of(schedule)
    first = schedule.next_due_at
    assert first is not None
    latest = first
    if first < now:
        latest = max(first, cron.latest_at_or_before(rule, zone, now))
    entries: list[dict[str, Any]] = []
    if latest > first:
        # Nothing ticked while these were due (scheduler down, app suspended): one entry
        # for all of them instead of a burst of runs now.
        count, until = _missed_between(rule, zone, first, latest)
        more = "+" if count >= MISSED_COUNT_LIMIT else ""
        entries.append(
            _entry(
                first,
                RunStatus.MISSED,
                now,
                history.error(
                    "Missed",
                    f"{count:,}{more} due time{'s' if count != 1 else ''} from {_when(first)} to {_when(until)} "
                    "passed while nothing ticked (the scheduler was down or the app suspended).",
                ),
                missed_count=count,
                missed_until=until,
            )
        )
    if earliest_queued is not None and earliest_queued < latest:
        message = f"The run due at {_when(earliest_queued)} had not started yet."
        entries.append(_entry(latest, RunStatus.SKIPPED, now, history.error("StillQueued", message)))
    else:
        entries.append(_entry(latest, RunStatus.QUEUED))
    return schedule, entries, cron.next_after(rule, zone, latest)


def _entry(
    due_at: datetime,
    status: str,
    finished_at: datetime | None = None,
    error: dict[str, Any] | None = None,
    *,
    missed_count: int = 0,
    missed_until: datetime | None = None,
) -> dict[str, Any]:
    return {
        "due_at": due_at,
        "status": status,
        "finished_at": finished_at,
        "error": None if error is None else json.dumps(error),
        "missed_count": missed_count,
        "missed_until": missed_until,
    }


def _write_sql() -> str:
    """The tick's entries in one INSERT; ON CONFLICT DO NOTHING with RETURNING names the
    ones that were new (see _insert's TRICKY: the idempotency key)."""
    run, schedule = ScheduleRun._meta.db_table, Schedule._meta.db_table
    return f"""
    WITH e AS (SELECT * FROM unnest(%(schedules)s::bigint[], %(due)s::timestamptz[], %(statuses)s::text[],
        %(finished)s::timestamptz[], %(errors)s::text[], %(missed_counts)s::int[], %(missed_until)s::timestamptz[])
        WITH ORDINALITY AS e(schedule_id, due_at, status, finished_at, error, missed_count, missed_until, n)),
    moved AS (UPDATE "{schedule}" s SET next_due_at = m.next_due_at
        FROM unnest(%(moved)s::bigint[], %(next)s::timestamptz[]) AS m(id, next_due_at) WHERE s.id = m.id)
    INSERT INTO "{run}" (schedule_id, due_at, trigger, status, queued_at, finished_at, worker, logs, logs_dropped,
        error, missed_count, missed_until)
    SELECT e.schedule_id, e.due_at, 'schedule', e.status, %(queued_at)s, e.finished_at, '', '[]'::jsonb, 0,
        e.error::jsonb, e.missed_count, e.missed_until FROM e ORDER BY e.n
    ON CONFLICT (schedule_id, due_at) DO NOTHING
    RETURNING id, schedule_id, due_at, status
    """  # noqa: S608 - our own table names


def _write(plans: list[Plan]) -> list[tuple[int, datetime, int]]:
    """Insert the plans' entries and move their schedules on, in one statement; returns
    (run id, due time, time limit) of the runs queued."""
    if not plans:
        return []
    entries = [(schedule, entry) for schedule, planned, _ in plans for entry in planned]
    with connection.cursor() as cursor:
        cursor.execute(
            _write_sql(),
            {
                "schedules": [schedule.pk for schedule, _ in entries],
                "due": [entry["due_at"] for _, entry in entries],
                "statuses": [entry["status"] for _, entry in entries],
                "finished": [entry["finished_at"] for _, entry in entries],
                "errors": [entry["error"] for _, entry in entries],
                "missed_counts": [entry["missed_count"] for _, entry in entries],
                "missed_until": [entry["missed_until"] for _, entry in entries],
                "moved": [schedule.pk for schedule, _, _ in plans],
                "next": [next_due for _, _, next_due in plans],
                "queued_at": timezone.now(),
            },
        )
        written = cursor.fetchall()
    if len(written) < len(entries):
        # TRICKY: the unique (schedule, due_at) is the idempotency key. A tick that read a
        # stale next_due_at (another scheduler, a restored backup) inserts nothing.
        logger.info("%s due time(s) were handled already", len(entries) - len(written))
    timeouts = {schedule.pk: schedule.app.script_timeout_seconds for schedule, _, _ in plans}
    return [
        (run_id, due_at, timeouts[schedule_id])
        for run_id, schedule_id, due_at, status in written
        if status == RunStatus.QUEUED
    ]


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
    transaction that queued them commits.

    Runs due at the same moment go out together: up to KILN_SCHEDULE_FANOUT messages
    share their ids, and each message's task takes the next one not yet claimed until
    none is left (execute_runs). One Celery hand-off per run cost more than a trivial run
    itself; sharing the ids among several messages keeps every worker process busy, and a
    slow run holds up only the process running it, as one message per run did."""
    groups: dict[datetime | None, list[tuple[int, int]]] = {}
    for run_id, eta, timeout_s in runs:
        groups.setdefault(eta, []).append((run_id, timeout_s))
    if not groups:
        return

    def send() -> None:
        from console.schedules.tasks import run_schedule_batch_task, run_schedule_task

        for eta, members in groups.items():
            ids = [run_id for run_id, _ in members]
            timeout_s = max(t for _, t in members)
            try:
                if len(ids) == 1:
                    run_schedule_task.apply_async(
                        args=[ids[0]],
                        queue=settings.KILN_SCHEDULE_QUEUE,
                        eta=eta,
                        time_limit=timeout_s + HARD_LIMIT_EXTRA_SECONDS,
                    )
                    continue
                for _ in range(min(len(ids), max(1, settings.KILN_SCHEDULE_FANOUT))):
                    run_schedule_batch_task.apply_async(
                        args=[ids],
                        queue=settings.KILN_SCHEDULE_QUEUE,
                        eta=eta,
                        time_limit=BATCH_BUDGET_SECONDS + timeout_s + HARD_LIMIT_EXTRA_SECONDS,
                    )
            except Exception:
                # The broker is away: the runs stay queued and the sweeper calls them lost.
                logger.exception("could not queue schedule runs %s", ids)

    transaction.on_commit(send)


# A run -----------------------------------------------------------------------------


def execute_run(run_id: int) -> str | None:
    """Claim the run and execute it; returns its final status, or None when there was
    nothing to do (claimed before, finished, lost, deleted)."""
    claimed = _claim([run_id])
    return None if claimed is None else _execute(claimed)


def execute_runs(run_ids: list[int], budget_s: float | None = None) -> int:
    """Claim and execute the runs of `run_ids` nobody has claimed yet, earliest due first,
    one at a time, until none is left; other processes given the same ids do the same
    (each claim skips the runs locked or taken by another). Returns how many this call
    handled. After `budget_s` it stops claiming and sends the rest on in a new message
    (the task's hard time limit counts on it)."""
    started = time.monotonic()
    budget_s = BATCH_BUDGET_SECONDS if budget_s is None else budget_s
    handled = 0
    while True:
        if handled and time.monotonic() - started > budget_s:
            if ScheduleRun.objects.filter(pk__in=run_ids, status=RunStatus.QUEUED).exists():
                from console.schedules.tasks import run_schedule_batch_task

                timeout_s = max(
                    ScheduleRun.objects.filter(pk__in=run_ids).values_list(
                        "schedule__app__script_timeout_seconds", flat=True
                    )
                )
                run_schedule_batch_task.apply_async(
                    args=[run_ids],
                    queue=settings.KILN_SCHEDULE_QUEUE,
                    time_limit=BATCH_BUDGET_SECONDS + timeout_s + HARD_LIMIT_EXTRA_SECONDS,
                )
            return handled
        claimed = _claim(run_ids)
        if claimed is None:
            return handled
        _execute(claimed)
        handled += 1


def _execute(claimed: Claimed) -> str | None:
    if claimed.status != RunStatus.RUNNING:
        return claimed.status
    started = time.perf_counter()
    return history.finish(ScheduleRun, claimed.run_id, _outcome(claimed), started)


@dataclass(frozen=True)
class Claimed:
    """A run as its claim found it: what running it needs, read in the claim's statement."""

    run_id: int
    status: str  # running (claimed) or skipped (and why in the history)
    app_id: int
    script_timeout_seconds: int
    method: str
    params: dict[str, Any]
    deployment_id: int | None  # the app's live deployment, None before the first deploy
    schema_version: int


def _claim_sql() -> str:
    """One statement, in autocommit: take the earliest queued run of the ids (skipping
    runs another process holds), read with it what deciding and running it needs (the
    app, the platform admins' switch, the schedule, an overlapping run, the live
    deployment, the schema version) and mark it running unless it must be skipped."""
    run, schedule = ScheduleRun._meta.db_table, Schedule._meta.db_table
    app, switch = App._meta.db_table, AppScheduling._meta.db_table
    live, sequence = LiveDeployment._meta.db_table, TableSequence._meta.db_table
    return f"""
    WITH picked AS (
        SELECT r.id, r.schedule_id, r.due_at, r.trigger FROM "{run}" r
        WHERE r.id = ANY(%(ids)s) AND r.status = 'queued'
        ORDER BY r.due_at, r.id LIMIT 1
        FOR UPDATE SKIP LOCKED
    ), facts AS (
        SELECT p.id, p.trigger, s.enabled AS schedule_on, s.method, s.params, a.id AS app_id,
            a.suspended, a.script_timeout_seconds, COALESCE(sw.enabled, TRUE) AS scheduling_on,
            lv.deployment_id, sq.schema_version,
            -- One still running, or one that ended since but was still going at this due
            -- time (a process that runs one task at a time reaches this run only after
            -- the other ended): a running one first.
            (SELECT o.due_at FROM "{run}" o
             WHERE o.schedule_id = p.schedule_id AND o.id <> p.id
               AND (o.status = 'running' OR (o.started_at <= p.due_at AND o.finished_at > p.due_at
                    AND o.status IN ('ok', 'failed', 'timed_out')))
             ORDER BY o.status = 'running' DESC, o.due_at DESC LIMIT 1) AS going_due_at
        FROM picked p
        JOIN "{schedule}" s ON s.id = p.schedule_id
        JOIN "{app}" a ON a.id = s.app_id
        LEFT JOIN "{switch}" sw ON sw.app_id = a.id
        LEFT JOIN "{live}" lv ON lv.app_id = a.id
        LEFT JOIN "{sequence}" sq ON sq.app_id = a.id
    ), claimed AS (
        UPDATE "{run}" r SET status = 'running', started_at = %(now)s,
            deadline_at = %(now)s + f.script_timeout_seconds * interval '1 second', worker = %(worker)s
        FROM facts f
        WHERE r.id = f.id AND NOT f.suspended AND f.scheduling_on
          AND (f.schedule_on OR f.trigger <> 'schedule') AND f.going_due_at IS NULL
        RETURNING r.id
    )
    SELECT f.id, c.id IS NOT NULL, f.trigger, f.schedule_on, f.suspended, f.scheduling_on, f.going_due_at,
        f.app_id, f.script_timeout_seconds, f.method, f.params, f.deployment_id, f.schema_version
    FROM facts f LEFT JOIN claimed c ON c.id = f.id
    """  # noqa: S608 - our own table names


def _claim(run_ids: list[int]) -> Claimed | None:
    """Claim the earliest queued run of `run_ids` (running, or skipped with the reason
    recorded); None when none is left to claim (a message delivered twice, runs another
    process took, finished, or the sweeper gave up on). Two round trips only for a skip."""
    worker = history.worker_name()
    for _ in range(3):
        now = timezone.now()
        try:
            with _savepoint_if_nested(), connection.cursor() as cursor:
                cursor.execute(_claim_sql(), {"ids": list(run_ids), "now": now, "worker": worker})
                row = cursor.fetchone()
        except IntegrityError:
            # The partial unique index: another run of the schedule became running as this
            # one was claimed. The next try sees it and records the skip.
            continue
        if row is None:
            return None
        (run_id, claimed, trigger, schedule_on, suspended, scheduling_on, going_due_at) = row[:7]
        app_id, timeout_s, method, params, deployment_id, version = row[7:]
        params = json.loads(params) if isinstance(params, str) else params
        facts = Claimed(
            run_id, RunStatus.RUNNING, app_id, timeout_s, method, dict(params or {}), deployment_id,
            NO_TABLES_YET if version is None else int(version),
        )  # fmt: skip
        if claimed:
            return facts
        reason = _reason_to_skip(trigger, schedule_on, suspended, scheduling_on, going_due_at)
        ScheduleRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.SKIPPED, finished_at=now, error=reason
        )
        return replace(facts, status=RunStatus.SKIPPED)
    raise RuntimeError(f"could not claim any of schedule runs {run_ids[:10]}")


def _savepoint_if_nested() -> Any:
    """The claim's statement fails alone in autocommit; inside a transaction (a test's) it
    needs a savepoint to fail alone."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def _reason_to_skip(
    trigger: str, schedule_on: bool, suspended: bool, scheduling_on: bool, going_due_at: datetime | None
) -> dict[str, Any]:
    if suspended:
        return history.error("AppSuspended", "The app is suspended.")
    if not scheduling_on:
        return history.error("SchedulingOff", "A platform admin switched scheduling off for this app.")
    if trigger == Trigger.SCHEDULE and not schedule_on:
        return history.error("ScheduleOff", "The schedule was switched off before this run started.")
    assert going_due_at is not None
    return history.error("StillRunning", f"The run due at {_when(going_due_at)} was still going at this due time.")


def _outcome(claimed: Claimed) -> dict[str, Any]:
    """Run the deployed method; the fields to record."""
    return run_deployed(
        claimed.app_id,
        claimed.method,
        claimed.params,
        f"schedule-run-{claimed.run_id}",
        timeout_s=claimed.script_timeout_seconds,
        deployment_id=claimed.deployment_id,
        schema_version=claimed.schema_version,
    )


def run_deployed(
    app: Any,
    method: str,
    raw_params: dict[str, Any],
    label: str,
    *,
    keep_undeclared: bool = False,
    timeout_s: int | None = None,
    deployment_id: Any = UNKNOWN,
    schema_version: int | None = None,
) -> dict[str, Any]:
    """Run the app's deployed KScript method `method` as one invocation; the fields a run
    history records (status, revision, duration_ms, logs, logs_dropped, error, result,
    result_bytes). `app`: the App, or its id with `timeout_s` (its script time limit).
    `label` names the run in logs and is its session token (automations share this with
    schedules). keep_undeclared: parameters the method does not declare reach K.params as
    given. deployment_id / schema_version: the app's live deployment (None: none) and
    schema version when the caller read them already (the schedules' claim does)."""
    app_id = app if isinstance(app, int) else app.pk
    if timeout_s is None:
        timeout_s = app.script_timeout_seconds
    if deployment_id is UNKNOWN:
        deployment_id = LiveDeployment.objects.filter(app_id=app_id).values_list("deployment_id", flat=True).first()
    methods, scripts, api_methods = deployed(app_id, deployment_id)
    spec = scripts.get(method)
    if spec is None:
        return {
            "status": RunStatus.FAILED,
            "error": history.error(
                "NotDeployed", f"No KScript method called {method} is deployed; deploy the app first."
            ),
        }
    revision = methods[method].get("revision")
    try:
        params = coerce_params(raw_params, spec.params, keep_undeclared=keep_undeclared)
    except WireError as exc:
        return {"status": RunStatus.FAILED, "revision": revision, "error": history.error("ParamError", exc.message)}
    try:
        result = kscript.run_top_level(
            app_id, timeout_s, scripts, spec, params, label, schema_version, api_methods=api_methods
        )
    except ScriptFailure as exc:
        status = RunStatus.TIMED_OUT if isinstance(exc, ScriptTimeout) else RunStatus.FAILED
        return {"status": status, "revision": revision, "error": drafts.error_data(exc), "logs": _logs(exc.logs)}
    except RecursionError:
        message = f"A logged value is nested more than {drafts.MAX_DEPTH} levels deep."
        return {"status": RunStatus.FAILED, "revision": revision, "error": history.error("ResponseTooDeep", message)}
    except DatabaseError as exc:
        logger.exception("database error in %s", label)
        return {"status": RunStatus.FAILED, "revision": revision, "error": history.error("DatabaseError", str(exc))}
    except Exception as exc:
        # Recorded rather than left "running" until the sweeper calls it lost.
        logger.exception("unexpected error in %s", label)
        message = f"Kiln could not run it ({type(exc).__name__}); the error is in the worker's log."
        return {"status": RunStatus.FAILED, "revision": revision, "error": history.error("InternalError", message)}
    fields: dict[str, Any] = {
        "status": RunStatus.OK,
        "revision": revision,
        "duration_ms": round(result.duration_s * 1000, 3),
        "logs": _logs(result.logs),
        "logs_dropped": result.logs_dropped,
    }
    fields.update(_result_fields(result, spec.return_type))
    return fields


_MAX_DEPLOYMENTS = 256
# deployment id -> (its snapshot's methods, its KScripts, its API methods); a deployment is
# written once and never changed, so a process keeps what it read.
_deployments: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def deployed(app_id: int, deployment_id: int | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A deployment's methods as runs see them: (snapshot methods, KScripts, API methods)."""
    if deployment_id is None:
        return {}, {}, {}
    cached = _deployments.get(deployment_id)
    if cached is not None:
        return cached
    snapshot = Deployment.objects.filter(pk=deployment_id).values_list("snapshot", flat=True).first() or {}
    methods = snapshot.get("methods", {})
    scripts, api_methods = kscript.deployed_methods(app_id, methods)
    if len(_deployments) >= _MAX_DEPLOYMENTS:
        _deployments.clear()
    _deployments[deployment_id] = (methods, scripts, api_methods)
    return methods, scripts, api_methods


def _logs(entries: Any) -> list[dict[str, Any]]:
    try:
        return drafts.log_data(entries)
    except RecursionError:
        return []


def _result_fields(result: Any, return_type: str) -> dict[str, Any]:
    try:
        payload = drafts.jsonable(kscript.payload_of(result, return_type))
    except WireError as exc:
        return {"status": RunStatus.FAILED, "error": history.error("ReturnTypeError", exc.message)}
    except RecursionError:
        return {"error": history.error("ResponseTooDeep", "The response is too deeply nested to keep.")}
    if drafts.nested_deeper_than(payload, drafts.MAX_DEPTH):
        return {"error": history.error("ResponseTooDeep", "The response is too deeply nested to keep.")}
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if size > RESULT_LIMIT_BYTES:
        return {"result": None, "result_bytes": size}
    return {"result": payload, "result_bytes": size}


# Housekeeping ----------------------------------------------------------------------


def sweep(now: datetime | None = None) -> int:
    """Mark runs whose worker died (still running well after their time limit) and runs
    no worker ever started as lost. Their transactions rolled back with their
    connections; a message for them delivered later does nothing."""
    died, never = history.mark_lost(
        ScheduleRun, now or timezone.now(), waiting_since="due_at", since_what="its due time"
    )
    if died or never:
        logger.warning("schedule runs lost: %s stopped running, %s never started", died, never)
    return died + never


def prune(now: datetime | None = None, *, batch: int = 5_000) -> int:
    """Delete finished runs older than KILN_SCHEDULE_HISTORY_DAYS, a batch per transaction."""
    return history.prune_runs(ScheduleRun, now or timezone.now(), by="due_at", batch=batch)
