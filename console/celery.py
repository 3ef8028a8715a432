"""The one Celery app; tasks live in each Django app's tasks.py."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("kiln")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _close_old_connections(**_: object) -> None:
    """After each task, as Django after each request: close the database connection when
    it is broken or past CONN_MAX_AGE (CELERY_DB_REUSE_MAX keeps Celery from closing it)."""
    from django.db import close_old_connections

    close_old_connections()
