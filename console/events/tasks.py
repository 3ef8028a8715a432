"""Celery tasks of automations (thin wrappers around console.events.triggers) and of
event pruning, on the queue scheduled runs use (KILN_SCHEDULE_QUEUE)."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from console.events import services, triggers


# Matching is idempotent (the unique rule/event/action key), so a message whose worker died
# is delivered again rather than dropped.
@shared_task(name="console.events.match_events_task", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def match_events_task(app_id: int, event_ids: list[int]) -> list[int]:
    return triggers.match_events(app_id, event_ids)


# acks_late: a worker that dies mid-run leaves the message to be delivered again; the
# claim makes that delivery a no-op and the sweeper records the run as lost.
@shared_task(name="console.events.run_automation_task", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_automation_task(run_id: int) -> str | None:
    return triggers.execute_run(run_id)


@shared_task(name="console.events.sweep_automation_runs_task", ignore_result=True)
def sweep_automation_runs_task(now: str | None = None) -> int:
    return triggers.sweep(datetime.fromisoformat(now) if now else None)


@shared_task(name="console.events.prune_automation_runs_task", ignore_result=True)
def prune_automation_runs_task(now: str | None = None) -> int:
    return triggers.prune(datetime.fromisoformat(now) if now else None)


@shared_task(name="console.events.prune_events_task", ignore_result=True)
def prune_events_task(now: str | None = None) -> int:
    return services.prune_events(datetime.fromisoformat(now) if now else None)
