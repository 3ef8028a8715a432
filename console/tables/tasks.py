"""Celery tasks of the tables app: thin wrappers around csvio."""

from __future__ import annotations

from celery import shared_task

from console.tables import csvio


@shared_task
def import_csv_task(import_id: int) -> None:
    csvio.run_import(import_id)
