"""What the run histories of schedules (ScheduleRun) and automations (AutomationRun,
console.events) share, both being RunRecords: the error an entry records, the name of
the process running it, writing a run's outcome, the sweeper's "lost" and pruning."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from console.schedules.models import UNFINISHED, RunRecord, RunStatus

logger = logging.getLogger(__name__)


def error(kind: str, message: str) -> dict[str, Any]:
    """A history entry's error: its kind and message."""
    return {"type": kind, "message": message}


def worker_name() -> str:
    """host:pid of this process (a forked pool process has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def finish(model: type[RunRecord], run_id: int, outcome: dict[str, Any], started: float) -> str | None:
    """Record the outcome of a run this process claimed (`started`: time.perf_counter()
    before it ran); its final status, or None when the sweeper marked it lost meanwhile or
    it was deleted."""
    outcome.setdefault("duration_ms", round((time.perf_counter() - started) * 1000, 3))
    outcome["finished_at"] = timezone.now()
    if not model.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(**outcome):
        logger.warning("%s %s finished after it was marked lost or deleted", model._meta.verbose_name, run_id)
        return None
    return str(outcome["status"])


def mark_lost(model: type[RunRecord], now: datetime, *, waiting_since: str, since_what: str) -> tuple[int, int]:
    """Mark lost the runs still running KILN_SCHEDULE_LOST_AFTER_SECONDS past their
    deadline (their process died; PostgreSQL rolled their transaction back with its
    connection) and the runs no worker started within KILN_SCHEDULE_QUEUE_LIMIT_SECONDS
    of their `waiting_since` field (`since_what` says what that is). Returns how many of
    each; a message for them delivered later does nothing."""
    grace = timedelta(seconds=settings.KILN_SCHEDULE_LOST_AFTER_SECONDS)
    died = model.objects.filter(status=RunStatus.RUNNING, deadline_at__lt=now - grace).update(
        status=RunStatus.LOST,
        finished_at=now,
        error=error(
            "Lost",
            "The worker running it stopped (killed or crashed) before it finished; whatever it wrote was rolled back.",
        ),
    )
    limit = settings.KILN_SCHEDULE_QUEUE_LIMIT_SECONDS
    never = model.objects.filter(
        status=RunStatus.QUEUED, **{f"{waiting_since}__lt": now - timedelta(seconds=limit)}
    ).update(
        status=RunStatus.LOST,
        finished_at=now,
        error=error("Lost", f"No worker started it within {limit} seconds of {since_what}."),
    )
    return died, never


def prune_runs(model: type[RunRecord], now: datetime, *, by: str, batch: int) -> int:
    """Delete the finished runs whose `by` field is older than KILN_SCHEDULE_HISTORY_DAYS,
    a batch per statement; runs still queued or running stay."""
    cutoff = now - timedelta(days=settings.KILN_SCHEDULE_HISTORY_DAYS)
    old = model.objects.filter(**{f"{by}__lt": cutoff}).exclude(status__in=UNFINISHED)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("id", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += model.objects.filter(id__in=ids).delete()[0]
