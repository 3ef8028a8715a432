"""The "schedules" section of the app definition document (docs/app-format.md).

Export writes each schedule's definition, naming its KScript method by name. Import
matches schedules by name: a new one is created, a changed one is updated, an identical
one is left alone, and with drop-missing the schedules the document lacks are deleted.
Each goes through the same checks as a save in the console, and it comes after the
"kscripts" section, so a schedule may name a method the same document creates.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.schedules import services
from console.schedules.models import Kind, Schedule
from console.tables.appformat import at_path, register_section

_KEYS = ("name", "method", "kind", "cron", "timezone", "params", "enabled")


def export_schedules(app: App) -> list[dict[str, Any]]:
    exported = []
    for schedule in Schedule.objects.filter(app=app).order_by("name", "id"):
        item: dict[str, Any] = {"name": schedule.name, "method": schedule.method, "kind": schedule.kind}
        if schedule.kind == Kind.CRON:
            item["cron"] = schedule.cron
        item.update({"timezone": schedule.timezone, "params": schedule.params, "enabled": schedule.enabled})
        exported.append(item)
    return exported


def _check_shape(spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, list):
        raise ValidationError({"schedules": ["Give a list of schedules."]})
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValidationError({f"schedules[{i}]": ["Give each schedule a name."]})
        unknown = sorted(set(item) - set(_KEYS))
        if unknown:
            raise ValidationError({f"schedules[{i}]": [f"Unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}."]})
    names = [" ".join(item["name"].split()).lower() for item in spec]
    for i, name in enumerate(names):
        if name and names.index(name) != i:
            raise ValidationError({f"schedules[{i}].name": ["Two schedules in the document have this name."]})
    return spec


def _check_count(existing: set[str], wanted: set[str], drop_missing: bool) -> None:
    """Refuse, before anything changes, a document that would leave the app with more
    schedules than KILN_MAX_SCHEDULES_PER_APP."""
    after = len(wanted) if drop_missing else len(existing | wanted)
    limit = services.schedule_limit()
    if after <= limit:
        return
    message = (
        f"After this import the app would have {after} schedules ({len(wanted - existing)} new); "
        f"one app may have at most {limit} (KILN_MAX_SCHEDULES_PER_APP)."
    )
    if not drop_missing and existing - wanted:
        message += " Schedules the document lacks are kept unless it is imported with drop-missing."
    raise ValidationError({"schedules": [message]})


def import_schedules(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = _check_shape(spec)
    existing = {s.name.lower(): s for s in Schedule.objects.filter(app=app)}
    wanted = {" ".join(item["name"].split()).lower() for item in spec}
    _check_count(set(existing), wanted, drop_missing)
    dropped: list[str] = []
    if drop_missing:
        # Before the creations, so a document that swaps schedules at the limit fits.
        for key, schedule in existing.items():
            if key not in wanted:
                services.delete_schedule(schedule)
                dropped.append(f"deleted schedule {schedule.name}")
    changes: list[str] = []
    for i, item in enumerate(spec):
        values = {"kind": Kind.MINUTE, "timezone": "UTC", "params": {}, "enabled": True, "cron": "", **item}
        current = existing.get(" ".join(item["name"].split()).lower())
        try:
            if current is None:
                schedule = services.create_schedule(app, None, values)
                changes.append(f"created schedule {schedule.name}")
                continue
            definition = services.check_definition(app, values, exclude=current.pk)
            if all(getattr(current, key) == getattr(definition, key) for key in _KEYS):
                continue
            schedule = services.update_schedule(current, values)
            changes.append(f"updated schedule {schedule.name}")
        except ValidationError as exc:
            raise at_path(f"schedules[{i}]", exc) from None
    return changes + dropped


def register() -> None:
    register_section("schedules", export_schedules, import_schedules)
