"""Platform-level Celery tasks."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="console.ping_task")
def ping_task(nonce: str) -> dict[str, str]:
    """Round trip used by the health check and the worker test."""
    import os

    return {"pong": nonce, "pid": str(os.getpid())}
