"""Celery tasks of scheduled KScripts: thin wrappers around the scheduler.

All go to KILN_SCHEDULE_QUEUE. `now` (ISO 8601) lets a test drive the clock; beat sends
none. Results are not kept: a tick a second would fill the result backend.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from console.schedules import scheduler


def _moment(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


@shared_task(name="console.schedules.tick_schedules_task", ignore_result=True)
def tick_schedules_task(now: str | None = None) -> list[int]:
    return scheduler.tick(_moment(now))


# acks_late: a worker that dies mid-run leaves the message to be delivered again, and
# the claim makes that delivery a no-op; the sweeper records the run as lost.
@shared_task(name="console.schedules.run_schedule_task", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_schedule_task(run_id: int) -> str | None:
    return scheduler.execute_run(run_id)


# Runs due at the same moment: several messages share the ids, each takes the next run
# nobody has claimed (scheduler.execute_runs). Delivered again, it runs only what is
# still queued; the run its dead process was running is left to the sweeper. A process
# killed by the hard time limit is not "lost" to Celery, which acknowledges the message
# unless acks_on_timeout is off: the message comes back for the rest of the batch.
@shared_task(
    name="console.schedules.run_schedule_batch_task",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    acks_on_timeout=False,
)
def run_schedule_batch_task(run_ids: list[int]) -> int:
    return scheduler.execute_runs(run_ids)


@shared_task(name="console.schedules.sweep_schedule_runs_task", ignore_result=True)
def sweep_schedule_runs_task(now: str | None = None) -> int:
    return scheduler.sweep(_moment(now))


@shared_task(name="console.schedules.prune_schedule_runs_task", ignore_result=True)
def prune_schedule_runs_task(now: str | None = None) -> int:
    return scheduler.prune(_moment(now))
