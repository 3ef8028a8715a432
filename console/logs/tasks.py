"""Celery tasks of the invocation log."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from console.logs import services


@shared_task(name="console.logs.prune_call_log_task", ignore_result=True)
def prune_call_log_task(now: str | None = None) -> int:
    return services.prune_calls(datetime.fromisoformat(now) if now else None)
