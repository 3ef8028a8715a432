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

from apimethods.actions import services
from apimethods.appformat import check_method_list, import_methods
from apimethods.models import ApiMethod, ApiMethodRevision
from console.apps.models import App
from console.tables.appformat import register_section

_KEYS = ("title", "table", "params", "actions", "returned")


def export_api_methods(app: App) -> list[dict[str, Any]]:
    return [{"title": r.title, **r.definition} for r in services.latest_revisions(app)]


def import_api_methods(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = check_method_list(spec, "api_methods", "API method", _KEYS)
    latest = {r.method_id: r for r in services.latest_revisions(app)}

    def save(item: dict[str, Any], method: ApiMethod | None) -> ApiMethodRevision | None:
        title = item["title"]
        definition = {key: value for key, value in item.items() if key != "title"}
        if method is None:
            return services.create_api_method(app, None, title=title, definition=definition)
        current = latest[method.pk]
        _, canonical = services.validate(app, title, definition, exclude=method.pk)
        if current.title == title and current.definition == canonical:
            return None
        return services.save_api_method(
            method, None, base_revision=None, overwrite=True, title=title, definition=definition
        )

    existing = list(ApiMethod.objects.filter(app=app))
    return import_methods(spec, "api_methods", "API method", existing, drop_missing, save)


def register() -> None:
    register_section("api_methods", export_api_methods, import_api_methods)
