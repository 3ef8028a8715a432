"""The Celery command lines (worker, beat) as `./kiln run` starts them; the tests and the
schedules benchmark start theirs from here too, so they run what a deployment runs."""

from __future__ import annotations

import sys

BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


def celery_command(command: str, *args: str, level: str = "info", python: str = sys.executable) -> list[str]:
    """`celery worker` / `celery beat` of Kiln's Celery app, then `args`. Beat reads the
    user-defined schedules from the database (django-celery-beat) and writes no pid file."""
    line = [python, "-m", "celery", "-A", "console", command, "-l", level]
    if command == "beat":
        line += ["--scheduler", BEAT_SCHEDULER, "--pidfile", ""]
    return [*line, *args]
