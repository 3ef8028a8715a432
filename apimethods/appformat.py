"""The "kscripts" section of the app definition document (docs/app-format.md).

Export writes each KScript method's latest revision (title, return type, params, code).
Import matches methods by name (the lowerCamelCase of the title): a new method is
created, a changed one gets a new revision (history is never rewritten), an identical
one is left alone, and with drop-missing the methods the document lacks are deleted.
Every definition goes through the same checks as a save in the console (name clash,
parameter types, syntax), and the first problem is reported with its place.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from apimethods import services
from apimethods.models import KScriptMethod
from apimethods.naming import method_name
from console.apps.models import App
from console.tables.appformat import at_path, register_section

_KEYS = ("title", "return_type", "params", "code")


def export_kscripts(app: App) -> list[dict[str, Any]]:
    return [
        {"title": r.title, "return_type": r.return_type, "params": r.params, "code": r.code}
        for r in services.latest_revisions(app)
    ]


def _check_shape(spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, list):
        raise ValidationError({"kscripts": ["Give a list of KScript methods."]})
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise ValidationError({f"kscripts[{i}]": ["Give each KScript method a title."]})
        if not isinstance(item.get("code", ""), str):
            raise ValidationError({f"kscripts[{i}].code": ["Code must be a string."]})
        unknown = sorted(set(item) - set(_KEYS))
        if unknown:
            raise ValidationError({f"kscripts[{i}]": [f"Unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}."]})
    names = [method_name(item["title"]).lower() for item in spec]
    for i, name in enumerate(names):
        if name and names.index(name) != i:
            raise ValidationError({f"kscripts[{i}].title": ["Two methods in the document have this name."]})
    return spec


def import_kscripts(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = _check_shape(spec)
    if spec and not app.kscript_enabled:
        raise ValidationError({"kscripts": ["KScript is not enabled for this app; a platform admin can switch it on."]})
    existing = {m.name.lower(): m for m in KScriptMethod.objects.filter(app=app)}
    latest = {r.method.name.lower(): r for r in services.latest_revisions(app)}
    changes: list[str] = []
    for i, item in enumerate(spec):
        definition = {
            "title": item["title"],
            "return_type": item.get("return_type", "objects"),
            "params": item.get("params", []),
            "code": item.get("code", ""),
        }
        key = method_name(item["title"]).lower()
        try:
            if key not in existing:
                revision = services.create_kscript(app, None, **definition)
                changes.append(f"created KScript {revision.method.name}")
                continue
            current = latest[key]
            if all(getattr(current, k) == v for k, v in definition.items()):
                continue
            revision = services.save_kscript(existing[key], None, base_revision=None, overwrite=True, **definition)
            changes.append(f"saved KScript {revision.method.name} as revision {revision.number}")
        except ValidationError as exc:
            raise at_path(f"kscripts[{i}]", exc) from None
    if drop_missing:
        wanted = {method_name(item["title"]).lower() for item in spec}
        for key, method in existing.items():
            if key not in wanted:
                method.delete()
                changes.append(f"deleted KScript {method.name}")
    return changes


def register() -> None:
    register_section("kscripts", export_kscripts, import_kscripts)
