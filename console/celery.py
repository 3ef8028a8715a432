"""The one Celery app; tasks live in each Django app's tasks.py."""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import after_setup_logger, task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("kiln")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's loggers that write a line each time beat sends a task and each time a worker
# receives and finishes one.
_TASK_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class QuietHousekeeping(logging.Filter):
    """Drops the INFO lines of Kiln's own periodic tasks (CELERY_BEAT_SCHEDULE: the
    schedule tick every second, sweeps and prunes). Those made about 190 lines a minute
    in `./kiln run`'s terminal, which pushed the admin password and every useful line out
    of sight. Their warnings and errors stay, other tasks' lines stay, and `-l debug`
    shows them all again."""

    def __init__(self, task_names: set[str]) -> None:
        super().__init__()
        self.task_names = task_names

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or logging.getLogger(record.name).getEffectiveLevel() <= logging.DEBUG:
            return True
        message = record.getMessage()
        return not any(name in message for name in self.task_names)


def quiet_housekeeping(schedule: dict[str, dict[str, object]]) -> QuietHousekeeping:
    """Install QuietHousekeeping for the tasks of `schedule` on Celery's task loggers."""
    quiet = QuietHousekeeping({str(entry["task"]) for entry in schedule.values()})
    for name in _TASK_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, QuietHousekeeping)]:
            logger.removeFilter(old)  # logging set up again: one filter, not two
        logger.addFilter(quiet)
    return quiet


@after_setup_logger.connect
def _install_quiet_housekeeping(**_: object) -> None:
    """When a worker or beat sets its logging up (settings are read by then, never at
    import: importing this module must not fix the settings)."""
    from django.conf import settings

    quiet_housekeeping(settings.CELERY_BEAT_SCHEDULE)


@task_postrun.connect
def _close_old_connections(**_: object) -> None:
    """After each task, as Django after each request: close the database connection when
    it is broken or past CONN_MAX_AGE (CELERY_DB_REUSE_MAX keeps Celery from closing it)."""
    from django.db import close_old_connections

    close_old_connections()
