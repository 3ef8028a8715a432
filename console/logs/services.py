"""Writes to the invocation log besides the recorder's batches: pruning by age."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from console.logs.models import CallRecord


def prune_calls(now: datetime | None = None, *, batch: int = 5_000) -> int:
    """Delete client calls older than KILN_LOG_RETENTION_DAYS, `batch` rows per statement
    (each its own transaction, found through the BRIN index on `at`, so a prune never
    holds many row locks); returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.KILN_LOG_RETENTION_DAYS)
    deleted = 0
    while True:
        # One DELETE … WHERE id IN (SELECT … LIMIT): nothing refers to these rows, so
        # Django deletes them without loading them.
        old = CallRecord.objects.filter(at__lt=cutoff).values("id")[:batch]
        count = CallRecord.objects.filter(id__in=old).delete()[0]
        deleted += count
        if count < batch:
            return deleted
