"""The "api_methods" section of the app definition document (docs/app-format.md).

Export writes each API method's latest revision: its title and its definition, which
names tables and fields by name, so it imports into an app whose tables have other
numbers and aliases. Import matches methods by name (the lowerCamelCase of the title): a
new one is created, a changed one gets a new revision, an identical one is left alone,
and with drop-missing the methods the document lacks are deleted. Each definition passes
the same checks as a save in the console, against the importing app's tables (the tables
section imports first), and the first problem is reported with its place.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from apimethods.actions import services
from apimethods.models import ApiMethod
from apimethods.naming import method_name
from console.apps.models import App
from console.tables.appformat import at_path, register_section

_KEYS = ("title", "table", "params", "actions", "returned")


def export_api_methods(app: App) -> list[dict[str, Any]]:
    return [{"title": r.title, **r.definition} for r in services.latest_revisions(app)]


def _check_shape(spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, list):
        raise ValidationError({"api_methods": ["Give a list of API methods."]})
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise ValidationError({f"api_methods[{i}]": ["Give each API method a title."]})
        unknown = sorted(set(item) - set(_KEYS))
        if unknown:
            raise ValidationError({f"api_methods[{i}]": [f"Unknown key {unknown[0]!r}; expected {', '.join(_KEYS)}."]})
    names = [method_name(item["title"]).lower() for item in spec]
    for i, name in enumerate(names):
        if name and names.index(name) != i:
            raise ValidationError({f"api_methods[{i}].title": ["Two methods in the document have this name."]})
    return spec


def import_api_methods(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = _check_shape(spec)
    existing = {m.name.lower(): m for m in ApiMethod.objects.filter(app=app)}
    latest = {r.method.name.lower(): r for r in services.latest_revisions(app)}
    changes: list[str] = []
    for i, item in enumerate(spec):
        title = item["title"]
        definition = {key: value for key, value in item.items() if key != "title"}
        key = method_name(title).lower()
        try:
            if key not in existing:
                revision = services.create_api_method(app, None, title=title, definition=definition)
                changes.append(f"created API method {revision.method.name}")
                continue
            current = latest[key]
            _, canonical = services.validate(app, title, definition, exclude=current.method_id)
            if current.title == title and current.definition == canonical:
                continue
            revision = services.save_api_method(
                existing[key], None, base_revision=None, overwrite=True, title=title, definition=definition
            )
            changes.append(f"saved API method {revision.method.name} as revision {revision.number}")
        except ValidationError as exc:
            raise at_path(f"api_methods[{i}]", exc) from None
    if drop_missing:
        wanted = {method_name(item["title"]).lower() for item in spec}
        for key, method in existing.items():
            if key not in wanted:
                method.delete()
                changes.append(f"deleted API method {method.name}")
    return changes


def register() -> None:
    register_section("api_methods", export_api_methods, import_api_methods)
