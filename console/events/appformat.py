"""The "automations" section of the app definition document (docs/app-format.md).

Export writes each automation with its rules, naming KScript methods by name. Import
matches automations by name (created, updated when different, left alone when the same,
deleted with drop-missing) through the console's checks; it comes after "kscripts", so a
rule may name a method the same document creates. Firing counts and history stay behind.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.events import services
from console.events.models import Automation
from console.tables.appformat import at_path, register_section

_KEYS = (
    "name", "enabled", "available_from", "available_until", "weekdays", "timezone", "late_events",
    "late_after_minutes", "rules",
)  # fmt: skip


def _document(automation: Automation) -> dict[str, Any]:
    rules = [{"event_type": r.event_type, "audience": r.audience, "methods": r.methods} for r in automation.rules.all()]
    return _fields(automation) | {"rules": rules}


def _fields(automation: Automation) -> dict[str, Any]:
    return {
        "name": automation.name,
        "enabled": automation.enabled,
        "available_from": automation.available_from.isoformat() if automation.available_from else None,
        "available_until": automation.available_until.isoformat() if automation.available_until else None,
        "weekdays": automation.weekdays,
        "timezone": automation.timezone,
        "late_events": automation.late_events,
        "late_after_minutes": automation.late_after_minutes,
    }


def export_automations(app: App) -> list[dict[str, Any]]:
    return [_document(a) for a in Automation.objects.filter(app=app).prefetch_related("rules").order_by("name", "id")]


def _key(name: Any) -> str:
    return " ".join(str(name).split()).lower()


def import_automations(app: App, spec: Any, drop_missing: bool) -> list[str]:
    if not isinstance(spec, list):
        raise ValidationError({"automations": ["Give a list of automations."]})
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValidationError({f"automations[{i}]": ["Give each automation a name."]})
        unknown = sorted(set(item) - set(_KEYS))
        if unknown:
            raise ValidationError({f"automations[{i}]": [f"Unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}."]})
        if [_key(other["name"]) for other in spec].index(_key(item["name"])) != i:
            raise ValidationError({f"automations[{i}].name": ["Two automations in the document have this name."]})
    existing = {a.name.lower(): a for a in Automation.objects.filter(app=app).prefetch_related("rules")}
    changes: list[str] = []
    for i, item in enumerate(spec):
        current = existing.get(_key(item["name"]))
        try:
            if current is None:
                created = services.create_automation(app, None, item)
                changes.append(f"created automation {created.name}")
                continue
            checked = services.check_automation(app, item, exclude=current.pk)
            wanted = _fields(Automation(**checked["fields"])) | {"rules": checked["rules"]}
            if wanted == _document(current):
                continue
            updated = services.update_automation(current, item)
            changes.append(f"updated automation {updated.name}")
        except ValidationError as exc:
            raise at_path(f"automations[{i}]", exc) from None
    if drop_missing:
        wanted_names = {_key(item["name"]) for item in spec}
        for key, automation in existing.items():
            if key not in wanted_names:
                services.delete_automation(automation)
                changes.append(f"deleted automation {automation.name}")
    return changes


def register() -> None:
    register_section("automations", export_automations, import_automations)
