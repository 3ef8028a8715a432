"""The worker's and beat's terminal output: Kiln's own periodic tasks (the schedule tick
every second, sweeps, prunes) write no line when they go well, so `./kiln run` shows
what matters. Records are made with Celery's own loggers and message templates."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS
from celery.signals import after_setup_logger
from django.conf import settings

from console.celery import QuietHousekeeping

TICK = "console.schedules.tick_schedules_task"
LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def kept() -> Iterator[Kept]:
    """A handler on each of Celery's task loggers, which are at INFO as under `-l info`;
    the filter is installed as a worker or beat installs it."""
    handler = Kept()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    after_setup_logger.send(sender=None, logger=logging.getLogger(), loglevel=logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
        for quiet in [f for f in logger.filters if isinstance(f, QuietHousekeeping)]:
            logger.removeFilter(quiet)


def _task_lines(name: str) -> None:
    logging.getLogger("celery.beat").info("Scheduler: Sending due task %s (%s)", "entry", name)
    logging.getLogger("celery.worker.strategy").info(LOG_RECEIVED, {"name": name, "id": "abc", "eta": None})
    logging.getLogger("celery.app.trace").info(
        LOG_SUCCESS, {"name": name, "id": "abc", "return_value": [], "runtime": 0.004}
    )


def test_every_periodic_task_of_kiln_is_quiet_when_it_goes_well(kept: Kept) -> None:
    names = {str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert TICK in names
    for name in names:
        _task_lines(name)
    assert kept.lines == []


def test_other_tasks_and_failures_still_show(kept: Kept) -> None:
    _task_lines("console.schedules.run_schedule_task")
    logging.getLogger("celery.app.trace").error("Task %s[abc] raised unexpected: %r", TICK, ValueError("boom"))
    assert len(kept.lines) == 4
    assert all("run_schedule_task" in line for line in kept.lines[:3])
    assert TICK in kept.lines[3] and "boom" in kept.lines[3]


def test_debug_level_shows_the_housekeeping_again(kept: Kept) -> None:
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    _task_lines(TICK)
    assert len(kept.lines) == 3


def test_setting_logging_up_twice_leaves_one_filter(kept: Kept) -> None:
    after_setup_logger.send(sender=None, logger=logging.getLogger(), loglevel=logging.INFO)
    for name in LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, QuietHousekeeping)]
        assert len(filters) == 1
