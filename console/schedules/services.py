"""Every write to schedules from the console and the app definition: create, change,
delete, "Run now", and the platform admins' per-app switch.

Definitions are checked here, once, for every caller: the method must be one of the
app's KScript methods, the fixed parameters must coerce to its declared types, the cron
expression must parse and the time zone must exist. Errors are DRF ValidationErrors
keyed by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from apimethods.models import KScriptMethod
from apimethods.wire import WireError, coerce_params
from console.apps.models import App
from console.apps.queries import ensure_not_suspended
from console.schedules import cron
from console.schedules.models import UNFINISHED, AppScheduling, Kind, Schedule, ScheduleRun, Trigger


class RunStillGoing(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "run_still_going"


class TooManySchedules(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_many_schedules"


def schedule_limit() -> int:
    return settings.KILN_MAX_SCHEDULES_PER_APP


def _check_room_for_one_more(app: App) -> None:
    # TRICKY: the app row is locked (FOR NO KEY UPDATE: event uploads and other rows that
    # reference the app do not wait) so two creations at once cannot both take the last place.
    App.objects.select_for_update(no_key=True).filter(pk=app.pk).first()
    count = Schedule.objects.filter(app=app).count()
    if count >= schedule_limit():
        raise TooManySchedules(
            f"This app already has {count} schedule{'s' if count != 1 else ''}, the most one app may have "
            "(KILN_MAX_SCHEDULES_PER_APP). "
            "Delete one it no longer needs first."
        )


@dataclass(frozen=True)
class Definition:
    """A schedule's definition as checked: what gets stored."""

    name: str
    method: str
    kind: str
    cron: str
    timezone: str
    params: dict[str, Any]
    enabled: bool


def cron_of(kind: str, expression: str) -> cron.Cron:
    """The cron a schedule runs on: every minute and every hour are crons too."""
    if kind == Kind.MINUTE:
        return cron.parse(cron.EVERY_MINUTE)
    if kind == Kind.HOUR:
        return cron.parse(cron.EVERY_HOUR)
    return cron.parse(expression)


def timing_of(schedule: Schedule) -> tuple[cron.Cron, tzinfo]:
    return cron_of(schedule.kind, schedule.cron), cron.time_zone(schedule.timezone)


def check_timing(kind: Any, expression: Any, zone_name: Any) -> tuple[str, cron.Cron, tzinfo]:
    """(the cron text to store, the cron, the zone), or ValidationError by field."""
    if kind not in Kind.values:
        raise ValidationError({"kind": [f"Choose one of: {', '.join(Kind.values)}."]})
    errors: dict[str, list[str]] = {}
    text = " ".join(str(expression or "").split()) if kind == Kind.CRON else ""
    parsed: cron.Cron | None = None
    try:
        parsed = cron_of(kind, text)
    except cron.CronError as exc:
        errors["cron"] = [str(exc)]
    zone: tzinfo | None = None
    if not zone_name:
        errors["timezone"] = ["Choose a time zone, e.g. UTC or Europe/London."]
    else:
        try:
            zone = cron.time_zone(str(zone_name))
        except cron.CronError as exc:
            errors["timezone"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    assert parsed is not None and zone is not None
    return text, parsed, zone


def _check_name(app: App, name: Any, exclude: int | None) -> str:
    cleaned = " ".join(str(name or "").split())
    if not cleaned:
        raise ValidationError({"name": ["Give the schedule a name."]})
    if len(cleaned) > 100:
        raise ValidationError({"name": ["Keep the name to 100 characters or fewer."]})
    if Schedule.objects.filter(app=app, name__iexact=cleaned).exclude(pk=exclude).exists():
        raise ValidationError({"name": [f"Another schedule of this app is called {cleaned}."]})
    return cleaned


def declared_params(app: App, method_name: str) -> tuple[str, list[tuple[str, str]]]:
    """The KScript method's canonical name and its latest draft's params."""
    method = KScriptMethod.objects.filter(app=app, name__iexact=method_name).first()
    if method is None:
        raise ValidationError({"method": [f"This app has no KScript method called {method_name or '(none)'}."]})
    latest = method.revisions.get(number=method.latest_revision)
    return method.name, [(p["name"], p["type"]) for p in latest.params]


def _check_params(params: Any, declared: list[tuple[str, str]], method: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ValidationError({"params": ["Give the parameters as an object of name: value."]})
    names = {name for name, _ in declared}
    for key, value in params.items():
        if key not in names:
            raise ValidationError({"params": [f"{method} has no parameter called {key}."]})
        if not (value is None or isinstance(value, str | int | float | bool)):
            raise ValidationError({"params": [f"{key}: give a string, a number or a boolean."]})
    try:
        coerce_params(dict(params), declared)
    except WireError as exc:
        raise ValidationError({"params": [exc.message]}) from None
    # Empty values are left out: the method sees them as not sent, as a client call would.
    return {key: value for key, value in params.items() if value not in (None, "")}


def check_definition(app: App, values: dict[str, Any], *, exclude: int | None = None) -> Definition:
    name = _check_name(app, values.get("name"), exclude)
    method, declared = declared_params(app, str(values.get("method") or ""))
    text, _, _ = check_timing(values.get("kind"), values.get("cron"), values.get("timezone") or "UTC")
    params = _check_params(values.get("params") or {}, declared, method)
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationError({"enabled": ["Give true or false."]})
    return Definition(
        name=name,
        method=method,
        kind=str(values["kind"]),
        cron=text,
        timezone=str(values.get("timezone") or "UTC"),
        params=params,
        enabled=enabled,
    )


def scheduling_enabled(app: App) -> bool:
    return not AppScheduling.objects.filter(app=app, enabled=False).exists()


def next_due(schedule: Schedule, after: datetime | None = None) -> datetime | None:
    """When the schedule is next due after `after` (now), or None while it is off."""
    if not schedule.enabled:
        return None
    rule, zone = timing_of(schedule)
    return cron.next_after(rule, zone, after or timezone.now())


def _apply(schedule: Schedule, definition: Definition) -> None:
    timing_changed = (schedule.kind, schedule.cron, schedule.timezone, schedule.enabled) != (
        definition.kind,
        definition.cron,
        definition.timezone,
        definition.enabled,
    )
    for field in ("name", "method", "kind", "cron", "timezone", "params", "enabled"):
        setattr(schedule, field, getattr(definition, field))
    if timing_changed or schedule.pk is None:
        # Due times start over from now: nothing before the change counts as missed.
        schedule.next_due_at = next_due(schedule)


@transaction.atomic
def create_schedule(app: App, author: AbstractBaseUser | None, values: dict[str, Any]) -> Schedule:
    _check_room_for_one_more(app)
    definition = check_definition(app, values)
    schedule = Schedule(app=app, created_by=author)
    _apply(schedule, definition)
    schedule.save()
    return schedule


@transaction.atomic
def update_schedule(schedule: Schedule, values: dict[str, Any]) -> Schedule:
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    _apply(schedule, check_definition(schedule.app, values, exclude=schedule.pk))
    schedule.save()
    return schedule


@transaction.atomic
def delete_schedule(schedule: Schedule) -> None:
    # Its runs go with it; a run in progress finishes and finds nothing to record.
    schedule.delete()


@transaction.atomic
def run_now(schedule: Schedule) -> ScheduleRun:
    """Queue a run of the schedule's method for right now (the console's "Run now")."""
    from console.schedules import scheduler

    schedule = Schedule.objects.select_for_update().select_related("app").get(pk=schedule.pk)
    ensure_not_suspended(schedule.app)
    if not scheduling_enabled(schedule.app):
        raise PermissionDenied("A platform admin switched scheduling off for this app.")
    going = schedule.runs.filter(status__in=UNFINISHED).order_by("due_at").first()
    if going is not None:
        raise RunStillGoing(f"The run due at {going.due_at:%Y-%m-%d %H:%M:%S} UTC is still {going.status}.")
    run = ScheduleRun.objects.create(schedule=schedule, due_at=timezone.now(), trigger=Trigger.MANUAL)
    scheduler.dispatch_after_commit([(run.id, None, schedule.app.script_timeout_seconds)])
    return run


@transaction.atomic
def set_scheduling(app: App, enabled: bool) -> None:
    """Platform admins' switch; callers check that the user is staff. Switching on
    starts the schedules' due times over from now (the time off is not "missed")."""
    state, _ = AppScheduling.objects.select_for_update().get_or_create(app=app)
    if state.enabled == enabled:
        return
    state.enabled = enabled
    state.save(update_fields=["enabled", "updated_at"])
    if enabled:
        for schedule in Schedule.objects.select_for_update().filter(app=app, enabled=True):
            try:
                schedule.next_due_at = next_due(schedule)
            except cron.CronError:
                schedule.next_due_at = None  # its timing no longer reads: stopped until edited
            schedule.save(update_fields=["next_due_at"])
