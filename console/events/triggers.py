"""Automations at work: matching newly stored events to the rules of the app's enabled
automations, running each fired action's deployed KScript method, and the housekeeping of
the run history. Celery tasks (tasks.py) call these; tests pass a clock of their own.

An event fires a rule at most once, however often its upload or a task message is
delivered: (rule, event uuid, action) is unique in the database, so a second match inserts
nothing and queues nothing, and a worker claims a run by moving it from queued to running
under a row lock, so a message delivered again finds it claimed and does nothing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from console.events import queries
from console.events.models import AppUser, Automation, AutomationRule, AutomationRun, Event, LateEvents
from console.schedules import cron, history
from console.schedules.models import RunStatus
from console.schedules.scheduler import HARD_LIMIT_EXTRA_SECONDS, run_deployed
from console.schedules.services import scheduling_enabled

logger = logging.getLogger(__name__)


# Matching ------------------------------------------------------------------------


def queue_matching(app_id: int, event_ids: list[int]) -> None:
    """After an upload commits: hand its new events to a worker. The upload calls this
    only when the app has an automation switched on (its insert asks: most apps have none,
    and no message is sent for them); the worker's matching reads the automations anyway."""
    from console.events.tasks import match_events_task

    try:
        match_events_task.apply_async(args=[app_id, event_ids], queue=settings.KILN_SCHEDULE_QUEUE)
    except Exception:
        # The events are stored and answered; without a broker they fire nothing.
        logger.exception("could not queue automation matching for app %s (%s events)", app_id, len(event_ids))


def type_matches(pattern: str, event_type: str) -> bool:
    """`*` matches any run of characters; everything else literally (as the event stream)."""
    if "*" not in pattern:
        return pattern == event_type
    return re.fullmatch(queries.wildcard_regex(pattern), event_type, flags=re.DOTALL) is not None


def _json_type(value: Any) -> str | None:
    return queries.JSON_TYPE.get(type(value))


def audience_matches(audience: list[dict[str, Any]], attributes: dict[str, Any] | None) -> bool:
    """Every filter holds on the user's attributes; an empty audience is everyone, users
    or not. A filter needs a user with that attribute, of the operand's type."""
    if not audience:
        return True
    if attributes is None:
        return False
    for item in audience:
        value: Any = attributes
        for part in item["attribute"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        operand = item["value"]
        if value is None or _json_type(value) != _json_type(operand):
            return False
        op = item["op"]
        holds = {
            "$eq": lambda a, b: a == b,
            "$lt": lambda a, b: a < b,
            "$gt": lambda a, b: a > b,
            "$lte": lambda a, b: a <= b,
            "$gte": lambda a, b: a >= b,
        }[op](value, operand)
        if not holds:
            return False
    return True


def available(automation: Automation, moment: datetime) -> bool:
    """Was the automation available when the event happened?"""
    if automation.available_from is not None and moment < automation.available_from:
        return False
    if automation.available_until is not None and moment > automation.available_until:
        return False
    if automation.weekdays:
        local = moment.astimezone(cron.time_zone(automation.timezone))
        return local.isoweekday() in automation.weekdays
    return True


def too_late(automation: Automation, event: Event) -> bool:
    """Uploaded more than the automation's limit after it happened (when it drops those)."""
    if automation.late_events != LateEvents.DROP or automation.late_after_minutes is None:
        return False
    return event.received_at - event.happened_at > timedelta(minutes=automation.late_after_minutes)


def match_events(app_id: int, event_ids: Iterable[int]) -> list[int]:
    """Fire every rule the events match; returns the ids of the runs queued."""
    automations = list(
        Automation.objects.filter(app_id=app_id, enabled=True, app__suspended=False).prefetch_related("rules")
    )
    if not automations:
        return []
    events = list(Event.objects.filter(app_id=app_id, id__in=list(event_ids)).order_by("happened_at", "id"))
    needs_users = any(rule.audience for a in automations for rule in a.rules.all())
    attributes: dict[str, dict[str, Any]] = {}
    if needs_users:
        identifiers = {e.user_identifier for e in events if e.user_identifier}
        attributes = dict(
            AppUser.objects.filter(app_id=app_id, identifier__in=identifiers).values_list("identifier", "attributes")
        )
    queued: list[int] = []
    with transaction.atomic():
        for event in events:
            for automation in automations:
                if not _applies(automation, event):
                    continue
                for rule in automation.rules.all():
                    user = attributes.get(event.user_identifier) if event.user_identifier else None
                    if type_matches(rule.event_type, event.type) and audience_matches(rule.audience, user):
                        queued += _fire(automation, rule, event)
        timeout_s = automations[0].app.script_timeout_seconds if queued else 0
        dispatch_after_commit(queued, timeout_s)
    return queued


def _applies(automation: Automation, event: Event) -> bool:
    try:
        if not available(automation, event.happened_at):
            return False
    except cron.CronError:
        logger.warning("automation %s: its time zone %r is gone; not firing", automation.pk, automation.timezone)
        return False
    if too_late(automation, event):
        logger.info("automation %s: event %s uploaded too late to fire", automation.pk, event.uuid)
        return False
    return True


def _fire(automation: Automation, rule: AutomationRule, event: Event) -> list[int]:
    """A queued run per action of the rule for the event, unless it fired for it before."""
    runs: list[int] = []
    for action, method in enumerate(rule.methods):
        try:
            with transaction.atomic():
                run = AutomationRun.objects.create(
                    automation=automation,
                    rule=rule,
                    action=action,
                    method=method,
                    event_uuid=event.uuid,
                    event_id=event.id,
                    user_identifier=event.user_identifier,
                    install_id=event.install_id,
                )
        except IntegrityError:
            # TRICKY: the unique (rule, event uuid, action) is the idempotency key: a
            # redelivered match, or the same event matched twice, lands here.
            continue
        runs.append(run.pk)
        if action == 0:
            Automation.objects.filter(pk=automation.pk).update(fired_count=F("fired_count") + 1)
    return runs


def dispatch_after_commit(run_ids: list[int], timeout_s: int) -> None:
    if not run_ids:
        return

    def send() -> None:
        from console.events.tasks import run_automation_task

        for run_id in run_ids:
            try:
                run_automation_task.apply_async(
                    args=[run_id], queue=settings.KILN_SCHEDULE_QUEUE, time_limit=timeout_s + HARD_LIMIT_EXTRA_SECONDS
                )
            except Exception:
                logger.exception("could not queue automation run %s", run_id)  # the sweeper calls it lost

    transaction.on_commit(send)


# A run ---------------------------------------------------------------------------


def execute_run(run_id: int) -> str | None:
    """Claim the run and execute it; its final status, or None when there was nothing to do."""
    run = _claim(run_id)
    if run is None:
        return None
    if run.status != RunStatus.RUNNING:
        return str(run.status)
    started = time.perf_counter()
    outcome = run_deployed(
        run.automation.app, run.method, _params(run), f"automation-run-{run.pk}", keep_undeclared=True
    )
    return history.finish(AutomationRun, run.pk, outcome, started)


def _params(run: AutomationRun) -> dict[str, Any]:
    """K.params of an automation's run: the user, the install and the event."""
    event = Event.objects.filter(pk=run.event_id).first() if run.event_id else None
    if event is None:  # deleted since it fired
        shape: dict[str, Any] = {"uuid": str(run.event_uuid), "installId": run.install_id, "user": run.user_identifier}
    else:
        row = (
            event.id,
            event.uuid,
            event.type,
            event.happened_at,
            event.install_id,
            event.user_identifier,
            event.data,
            None,
        )
        shape = queries.event_object(row, ("data", "user"))
    return {"userId": run.user_identifier, "installId": run.install_id, "event": shape}


def _claim(run_id: int) -> AutomationRun | None:
    with transaction.atomic():
        run = (
            AutomationRun.objects.select_for_update(of=("self",))
            .select_related("automation", "automation__app")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != RunStatus.QUEUED:
            return None
        now = timezone.now()
        app = run.automation.app
        reason = None
        if app.suspended:
            reason = history.error("AppSuspended", "The app is suspended.")
        elif not scheduling_enabled(app):
            reason = history.error("SchedulingOff", "A platform admin switched scheduled runs off for this app.")
        elif not run.automation.enabled:
            reason = history.error("AutomationOff", "The automation was switched off before this run started.")
        if reason is None:
            run.status = RunStatus.RUNNING
            run.started_at = now
            run.deadline_at = now + timedelta(seconds=app.script_timeout_seconds)
            run.worker = history.worker_name()
            run.save(update_fields=["status", "started_at", "deadline_at", "worker"])
        else:
            run.status = RunStatus.SKIPPED
            run.finished_at = now
            run.error = reason
            run.save(update_fields=["status", "finished_at", "error"])
        return run


# Housekeeping --------------------------------------------------------------------


def sweep(now: datetime | None = None) -> int:
    """Runs whose worker died, and runs no worker started in time, are marked lost."""
    died, never = history.mark_lost(
        AutomationRun, now or timezone.now(), waiting_since="queued_at", since_what="the event's arrival"
    )
    return died + never


def prune(now: datetime | None = None, *, batch: int = 5_000) -> int:
    """Finished runs older than KILN_SCHEDULE_HISTORY_DAYS go, a batch per statement."""
    return history.prune_runs(AutomationRun, now or timezone.now(), by="queued_at", batch=batch)
