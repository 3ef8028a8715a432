"""An app's definition as one JSON document: export, and import that creates or alters to match.

The document has one key per section. Only "tables" exists today; API methods, KScripts
and schedules join by calling `register_section` with an exporter and an importer (see
docs/app-format.md). An import runs every section in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.tables import services
from console.tables.models import FieldType, OnDelete, Table

FORMAT = "kiln-app"
VERSION = 1


@dataclass(frozen=True)
class Section:
    export: Callable[[App], Any]
    # (app, the section's value, drop_missing) -> list of changes made, in words
    import_: Callable[[App, Any, bool], list[str]]


SECTIONS: dict[str, Section] = {}


def register_section(name: str, export: Callable[[App], Any], import_: Callable[[App, Any, bool], list[str]]) -> None:
    """Add a section (e.g. "api_methods") to the format; sections import in registration order."""
    SECTIONS[name] = Section(export, import_)


def export_app(app: App) -> dict[str, Any]:
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION, "app": {"name": app.name}}
    for name, section in SECTIONS.items():
        document[name] = section.export(app)
    return document


@transaction.atomic
def import_app(app: App, document: Any, *, drop_missing: bool = False) -> list[str]:
    """Make the app match the document; every change or none. Returns the changes made."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError({"format": [f"This is not a {FORMAT} document."]})
    if document.get("version") != VERSION:
        raise ValidationError({"version": [f"Only version {VERSION} documents can be imported."]})
    changes: list[str] = []
    for name, section in SECTIONS.items():
        if name in document:
            changes += section.import_(app, document[name], drop_missing)
    return changes


# The tables section


def export_tables(app: App) -> list[dict[str, Any]]:
    tables = Table.objects.filter(app=app).prefetch_related("fields__target", "indexes").order_by("number")
    return [
        {
            "name": t.name,
            "fields": [
                {"name": f.name, "type": f.type}
                | ({"belongs_to": f.target.name, "on_delete": f.on_delete} if f.target else {})
                for f in t.fields.all()
            ],
            "indexes": [{"fields": list(i.fields)} | ({"unique": True} if i.unique else {}) for i in t.indexes.all()],
        }
        for t in tables
    ]


def at_path(path: str, exc: ValidationError) -> ValidationError:
    """The same validation error with its keys placed under `path` (e.g. `tables[0]`)."""
    detail = exc.detail
    if isinstance(detail, dict):
        return ValidationError({f"{path}.{key}": value for key, value in detail.items()})
    return ValidationError({path: detail})


def _check_shape(spec: Any) -> list[dict[str, Any]]:
    if not isinstance(spec, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in spec):
        raise ValidationError({"tables": ["Give a list of tables, each with a name."]})
    for i, table in enumerate(spec):
        fields = table.get("fields", [])
        if not isinstance(fields, list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields
        ):
            raise ValidationError({f"tables[{i}].fields": ["Give a list of fields, each with a name and type."]})
        if not isinstance(table.get("indexes", []), list):
            raise ValidationError({f"tables[{i}].indexes": ["Give a list of indexes."]})
    return spec


def import_tables(app: App, spec: Any, drop_missing: bool) -> list[str]:
    spec = _check_shape(spec)
    changes: list[str] = []
    existing = {t.name: t for t in Table.objects.filter(app=app)}
    wanted = {t["name"] for t in spec}
    tables: dict[str, Table] = {}
    for i, table_spec in enumerate(spec):
        name = table_spec["name"]
        if name in existing:
            tables[name] = existing[name]
            continue
        try:
            tables[name] = services.create_table(app, name)
        except ValidationError as exc:
            raise at_path(f"tables[{i}]", exc) from None
        changes.append(f"created table {name}")
    # Plain fields first, then relations, whose targets now all exist.
    for relations in (False, True):
        for i, table_spec in enumerate(spec):
            table = tables[table_spec["name"]]
            current = {f.name: f for f in table.fields.select_related("target")}
            for j, field_spec in enumerate(table_spec.get("fields", [])):
                if (field_spec.get("type") == FieldType.BELONGS_TO) != relations:
                    continue
                try:
                    changes += _import_field(app, table, current.get(field_spec["name"]), field_spec, tables)
                except ValidationError as exc:
                    raise at_path(f"tables[{i}].fields[{j}]", exc) from None
    for i, table_spec in enumerate(spec):
        table = tables[table_spec["name"]]
        # An index is its fields and whether it is unique.
        have = {(tuple(ix.fields), ix.unique): ix for ix in table.indexes.all()}
        want = [
            (tuple(ix.get("fields", [])), ix.get("unique") is True)
            for ix in table_spec.get("indexes", [])
            if isinstance(ix, dict)
        ]
        for fields, unique in want:
            if (fields, unique) not in have:
                try:
                    services.add_index(table, list(fields), unique=unique)
                except ValidationError as exc:
                    raise at_path(f"tables[{i}].indexes", exc) from None
                kind = "unique-indexed" if unique else "indexed"
                changes.append(f"{kind} {table.name} on {', '.join(fields)}")
        if drop_missing:
            for (fields, unique), index in have.items():
                if (fields, unique) not in want:
                    services.drop_index(index)
                    changes.append(f"dropped index on {table.name} ({', '.join(fields)})")
            named = {f["name"] for f in table_spec.get("fields", [])}
            for field in table.fields.all():
                if field.name not in named:
                    services.drop_field(field)
                    changes.append(f"dropped field {table.name}.{field.name}")
    if drop_missing:
        for name, table in existing.items():
            if name not in wanted:
                services.drop_table(table, confirm=True)
                changes.append(f"dropped table {name}")
    return changes


def _import_field(app: App, table: Table, field: Any, spec: dict[str, Any], tables: dict[str, Table]) -> list[str]:
    field_type = spec.get("type")
    if field is None:
        target = None
        if field_type == FieldType.BELONGS_TO:
            target = (
                tables.get(spec.get("belongs_to")) or Table.objects.filter(app=app, name=spec.get("belongs_to")).first()
            )
            if target is None:
                raise ValidationError({"belongs_to": [f"No table called {spec.get('belongs_to')!r}."]})
        services.add_field(
            table, spec["name"], field_type, target=target, on_delete=spec.get("on_delete", OnDelete.CASCADE)
        )
        return [f"added field {table.name}.{spec['name']}"]
    if field_type == FieldType.BELONGS_TO or field.type == FieldType.BELONGS_TO:
        same = field.type == field_type and field.target is not None and field.target.name == spec.get("belongs_to")
        if not same or field.on_delete != spec.get("on_delete", OnDelete.CASCADE):
            raise ValidationError({"type": [f"{table.name}.{field.name} is a different relation; drop it first."]})
        return []
    if field.type != field_type:
        services.change_field_type(field, field_type)
        return [f"changed {table.name}.{field.name} to {field_type}"]
    return []


register_section("tables", export_tables, import_tables)
