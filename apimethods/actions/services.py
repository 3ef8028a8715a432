"""Writes to API methods and their revisions.

Every save is a new numbered revision (author, time); saving on top of an older revision
than the latest is the same 409 conflict as for KScripts, unless the caller overwrites.
The name (lowerCamelCase of the title) is unique among the app's API methods *and*
KScripts, also on rename. A definition is checked against the app's tables as they are
now; it is stored in its canonical JSON form (model.to_json), action ids filled in.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import ValidationError

from apimethods.actions import model
from apimethods.actions.execute import load_schema
from apimethods.models import ApiMethod, ApiMethodRevision
from apimethods.naming import method_name
from apimethods.services import add_revision, check_base_revision, latest_revisions_of, name_error
from console.apps.models import App


def validate(app: App, title: Any, definition: Any, exclude: int | None) -> tuple[str, dict[str, Any]]:
    """(name, canonical definition), or ValidationError keyed by place."""
    errors: dict[str, list[str]] = {}
    name = method_name(title) if isinstance(title, str) else ""
    if not isinstance(title, str) or len(title) > 100:
        errors["title"] = ["Give a title of at most 100 characters."]
    elif (title_error := name_error(app, name, api_method=exclude)) is not None:
        errors["title"] = [title_error]
    canonical: dict[str, Any] = {}
    try:
        method = model.parse(definition)
    except model.DefinitionError as exc:
        errors.update(exc.errors)
    else:
        errors.update(model.check(method, load_schema(app.pk)))
        canonical = model.to_json(method)
    if errors:
        raise ValidationError(errors)
    return name, canonical


@transaction.atomic
def create_api_method(
    app: App, author: AbstractBaseUser | None, *, title: str, definition: dict[str, Any]
) -> ApiMethodRevision:
    App.objects.select_for_update().filter(pk=app.pk).values_list("pk").first()  # names are checked, then taken
    name, canonical = validate(app, title, definition, exclude=None)
    method = ApiMethod.objects.create(app=app, title=title, name=name)
    return add_revision(ApiMethodRevision, method, author, title=title, definition=canonical)


@transaction.atomic
def save_api_method(
    method: ApiMethod,
    author: AbstractBaseUser | None,
    *,
    base_revision: int | None,
    overwrite: bool = False,
    title: str,
    definition: dict[str, Any],
) -> ApiMethodRevision:
    """Save a new revision; on top of an older one than the latest only with overwrite."""
    App.objects.select_for_update().filter(pk=method.app_id).values_list("pk").first()
    method = ApiMethod.objects.select_for_update().select_related("app").get(pk=method.pk)
    check_base_revision(method, base_revision, overwrite)
    method.name, canonical = validate(method.app, title, definition, exclude=method.pk)
    return add_revision(ApiMethodRevision, method, author, title=title, definition=canonical)


@transaction.atomic
def delete_api_method(method: ApiMethod) -> None:
    method.delete()


def latest_revisions(app: App) -> list[ApiMethodRevision]:
    """Each API method's latest revision, by name, in one query."""
    return latest_revisions_of(ApiMethodRevision, app)


def problems(revision: ApiMethodRevision, schema: model.SchemaMeta) -> dict[str, list[str]]:
    """What keeps this revision from running against the tables as they are now."""
    try:
        return model.check(model.parse(revision.definition), schema)
    except model.DefinitionError as exc:
        return exc.errors


def snapshot(app: App) -> dict[str, dict[str, Any]]:
    """The deployable form of every API method (latest revisions); ValidationError naming
    the first method that does not fit the tables, so a deploy never holds a broken one."""
    schema = load_schema(app.pk)
    methods: dict[str, dict[str, Any]] = {}
    for revision in latest_revisions(app):
        name = revision.method.name
        method = model.parse(revision.definition)
        found = model.check(method, schema)
        if found:
            place, messages = next(iter(found.items()))
            raise ValidationError({"api_methods": [f"{name}: {place}: {messages[0]}"]})
        methods[name] = {
            "kind": "apimethod",
            "revision": revision.number,
            "params": [[n, t] for n, t in model.declared_params(method, schema)],
            "definition": revision.definition,
        }
    return methods


def impact(app: App, table: str, field: str | None = None, new_type: str | None = None) -> list[dict[str, Any]]:
    """API methods that use `table` (or its `field`): renaming or dropping it breaks them.

    new_type: the field's type is to change instead; only the methods that would no longer
    fit are named, with `problems` (place -> messages) saying why."""
    schema = load_schema(app.pk)
    retyped = _retyped(schema, table, field, new_type) if field and new_type else None
    out = []
    for revision in latest_revisions(app):
        try:
            method = model.parse(revision.definition)
        except model.DefinitionError:
            continue
        places = sorted(
            {place for t, f, place in model.references(method, schema) if t == table and (field is None or f == field)}
        )
        if places and retyped is not None:
            before = model.check(method, schema)
            after = {
                place: [m for m in messages if m not in before.get(place, [])]
                for place, messages in model.check(method, retyped).items()
            }
            problems = {place: messages for place, messages in after.items() if messages}
            if problems:
                out.append(
                    {
                        "id": revision.method_id,
                        "name": revision.method.name,
                        "places": sorted(problems),
                        "problems": problems,
                    }
                )
        elif places:
            out.append({"id": revision.method_id, "name": revision.method.name, "places": places})
    return out


def _retyped(schema: model.SchemaMeta, table: str, field: str, new_type: str) -> model.SchemaMeta | None:
    """The tables with `table.field` of type `new_type` (None when there is no such field)."""
    meta = schema.tables.get(table)
    current = meta.fields.get(field) if meta else None
    if meta is None or current is None:
        return None
    fields = {**meta.fields, field: replace(current, type=new_type, target=None)}
    return replace(schema, tables={**schema.tables, table: replace(meta, fields=fields)})
