"""Reads of schedules and their run history for the console."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from apimethods.models import LiveDeployment
from console.apps.models import App
from console.schedules.models import Schedule, ScheduleRun

# How many recent runs the list shows per schedule (the status dot and the sparkline).
RECENT_RUNS = 20


def get_schedule(app: App, schedule_id: int) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("app"), app=app, pk=schedule_id)


def recent_runs(schedules: list[Schedule]) -> dict[int, list[ScheduleRun]]:
    """The last RECENT_RUNS runs of each schedule, oldest first, in one query."""
    ranked = (
        ScheduleRun.objects.filter(schedule__in=schedules)
        .annotate(rank=Window(RowNumber(), partition_by=[F("schedule_id")], order_by=[F("due_at").desc()]))
        .filter(rank__lte=RECENT_RUNS)
        .defer("logs", "result", "error")
        .order_by("schedule_id", "due_at")
    )
    runs: dict[int, list[ScheduleRun]] = defaultdict(list)
    for run in ranked:
        runs[run.schedule_id].append(run)
    return runs


def list_schedules(app: App) -> list[Schedule]:
    return list(Schedule.objects.filter(app=app).order_by("name", "id"))


def list_every_schedule() -> QuerySet[Schedule]:
    """Every app's schedules, for platform admins."""
    return Schedule.objects.select_related("app").order_by("app__name", "app_id", "name", "id")


def deployed_methods(app_id: int) -> dict[str, int | None]:
    """KScript methods of the live deployment: name -> revision."""
    live = LiveDeployment.objects.filter(app_id=app_id).select_related("deployment").first()
    methods = live.deployment.snapshot.get("methods", {}) if live else {}
    return {name: spec.get("revision") for name, spec in methods.items() if spec.get("kind") == "kscript"}


def list_runs(schedule: Schedule, *, before: tuple[datetime, int] | None = None, limit: int = 50) -> list[ScheduleRun]:
    """A page of the history, newest first; `before` is the (due_at, id) of the last run
    of the previous page."""
    runs = ScheduleRun.objects.filter(schedule=schedule).defer("logs", "result")
    if before is not None:
        due_at, run_id = before
        runs = runs.filter(due_at__lt=due_at) | runs.filter(due_at=due_at, id__lt=run_id)
    return list(runs.order_by("-due_at", "-id")[:limit])


def get_run(schedule: Schedule, run_id: int) -> ScheduleRun:
    return get_object_or_404(ScheduleRun, schedule=schedule, pk=run_id)
