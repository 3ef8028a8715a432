"""The "kscripts" section of the app definition document (docs/app-format.md).

Export writes each KScript method's latest revision (title, return type, params, code).
Import matches methods by name (the lowerCamelCase of the title): a new method is
created, a changed one gets a new revision (history is never rewritten), an identical
one is left alone, and with drop-missing the methods the document lacks are deleted.
Every definition goes through the same checks as a save in the console (name clash,
parameter types, syntax), and the first problem is reported with its place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.exceptions import ValidationError

from apimethods import services
from apimethods.models import KScriptMethod, KScriptRevision, MethodBase, RevisionBase
from apimethods.naming import method_name
from console.apps.models import App
from console.tables.appformat import at_path, register_section

_KEYS = ("title", "return_type", "params", "code")


def export_kscripts(app: App) -> list[dict[str, Any]]:
    return [
        {"title": r.title, "return_type": r.return_type, "params": r.params, "code": r.code}
        for r in services.latest_revisions(app)
    ]


def check_method_list(
    spec: Any,
    section: str,
    noun: str,
    keys: tuple[str, ...],
    check_item: Callable[[str, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """A section's list of methods, each with a title and only `keys`, no two of one name;
    `check_item(place, item)` adds a kind's own checks. Shared by the API methods' section."""
    if not isinstance(spec, list):
        raise ValidationError({section: [f"Give a list of {noun}s."]})
    for i, item in enumerate(spec):
        place = f"{section}[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            raise ValidationError({place: [f"Give each {noun} a title."]})
        if check_item is not None:
            check_item(place, item)
        unknown = sorted(set(item) - set(keys))
        if unknown:
            raise ValidationError({place: [f"Unknown key {unknown[0]!r}; expected {', '.join(keys)}."]})
    names = [method_name(item["title"]).lower() for item in spec]
    for i, name in enumerate(names):
        if name and names.index(name) != i:
            raise ValidationError({f"{section}[{i}].title": ["Two methods in the document have this name."]})
    return spec


def import_methods(
    spec: list[dict[str, Any]],
    section: str,
    noun: str,
    existing: Sequence[MethodBase],
    drop_missing: bool,
    save: Callable[[dict[str, Any], Any], RevisionBase | None],
) -> list[str]:
    """Create or save each method of the list, matched to `existing` by name; `save(item,
    method or None)` answers the new revision, or None when the method is unchanged."""
    by_name = {m.name.lower(): m for m in existing}
    changes: list[str] = []
    for i, item in enumerate(spec):
        method = by_name.get(method_name(item["title"]).lower())
        try:
            revision = save(item, method)
        except ValidationError as exc:
            raise at_path(f"{section}[{i}]", exc) from None
        if revision is None:
            continue
        if method is None:
            changes.append(f"created {noun} {revision.method.name}")
        else:
            changes.append(f"saved {noun} {revision.method.name} as revision {revision.number}")
    if drop_missing:
        wanted = {method_name(item["title"]).lower() for item in spec}
        for key, method in by_name.items():
            if key not in wanted:
                method.delete()
                changes.append(f"deleted {noun} {method.name}")
    return changes


def _check_code(place: str, item: dict[str, Any]) -> None:
    if not isinstance(item.get("code", ""), str):
        raise ValidationError({f"{place}.code": ["Code must be a string."]})


def import_kscripts(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = check_method_list(spec, "kscripts", "KScript method", _KEYS, _check_code)
    if spec and not app.kscript_enabled:
        raise ValidationError({"kscripts": ["KScript is not enabled for this app; a platform admin can switch it on."]})
    latest = {r.method_id: r for r in services.latest_revisions(app)}

    def save(item: dict[str, Any], method: KScriptMethod | None) -> KScriptRevision | None:
        definition = {
            "title": item["title"],
            "return_type": item.get("return_type", "objects"),
            "params": item.get("params", []),
            "code": item.get("code", ""),
        }
        if method is None:
            return services.create_kscript(app, None, **definition)
        if all(getattr(latest[method.pk], k) == v for k, v in definition.items()):
            return None
        return services.save_kscript(method, None, base_revision=None, overwrite=True, **definition)

    existing = list(KScriptMethod.objects.filter(app=app))
    return import_methods(spec, "kscripts", "KScript", existing, drop_missing, save)


def register() -> None:
    register_section("kscripts", export_kscripts, import_kscripts)
