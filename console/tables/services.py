"""Every change to an app's tables, fields, indexes and records goes through these functions.

Each runs in one transaction: the DDL (as the platform) and the metadata rows change
together or not at all. Record writes run as the app's role (isolation.app_cursor).
Bad input raises DRF's ValidationError shaped {"field": ["message"]}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError

from console.apps.models import App
from console.tables import ddl, dml, values
from console.tables.isolation import app_cursor, ensure_app_space
from console.tables.models import Field, FieldType, Index, OnDelete, Table, TableSequence, schema_changed


class ConfirmationRequired(APIException):
    """409: the change would affect other tables; repeat it with confirm=true."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This change needs confirming."

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__()
        # TRICKY: APIException turns every value into text; counts must stay numbers.
        self.detail = detail  # type: ignore[assignment]


def _run(statement: Any, params: Any = None) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params)


def _lock(app: App) -> None:
    # Schema changes of one app happen one at a time.
    App.objects.select_for_update().filter(pk=app.pk).values_list("pk").first()
    # Every process's cached table metadata (scripting.app_tables) is stale once this commits.
    TableSequence.objects.filter(app=app).update(schema_version=F("schema_version") + 1)
    app_id = app.pk
    transaction.on_commit(lambda: schema_changed.send(sender=TableSequence, app_id=app_id))


def _check_name(name: Any, kind: str, key: str = "name") -> str:
    try:
        return ddl.check_identifier(name, kind)
    except ddl.InvalidIdentifier as exc:
        raise ValidationError({key: [str(exc)]}) from None


def _check_table_name(app: App, name: Any, exclude: Table | None = None) -> str:
    name = _check_name(name, "table name")
    others = Table.objects.filter(app=app, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise ValidationError({"name": [f"This app already has a table called {name!r}."]})
    return name


def _taken_field_names(table: Table, table_name: str | None = None, exclude: Field | None = None) -> set[str]:
    fields = table.fields.all() if exclude is None else table.fields.exclude(pk=exclude.pk)
    names = {f.name.lower() for f in fields}
    names.update(m.lower() for m in ddl.MAGIC_FIELDS)
    names.add(ddl.id_field_name(table_name or table.name).lower())
    return names


def _check_field_name(table: Table, name: Any, exclude: Field | None = None) -> str:
    name = _check_name(name, "field name")
    if name.lower() in _taken_field_names(table, exclude=exclude):
        raise ValidationError({"name": [f"{table.name} already has a field called {name!r} (names ignore case)."]})
    if not name[0].islower():
        raise ValidationError({"name": [f"Field names are lowerCamelCase: start {name!r} with a small letter."]})
    return name


def _check_type(field_type: Any) -> str:
    if field_type not in FieldType.values:
        choices = ", ".join(FieldType.values)
        raise ValidationError({"type": [f"Choose a field type: {choices}."]})
    return str(field_type)


# Tables


@transaction.atomic
def create_table(app: App, name: str) -> Table:
    _lock(app)
    name = _check_table_name(app, name)
    ensure_app_space(app.pk)
    sequence, _ = TableSequence.objects.select_for_update().get_or_create(app=app)
    # Numbers are never reused, so an old alias cannot start naming a new table.
    sequence.last_number = (
        max(sequence.last_number, Table.objects.filter(app=app).aggregate(n=Max("number"))["n"] or 0) + 1
    )
    sequence.save(update_fields=["last_number"])
    table = Table.objects.create(app=app, number=sequence.last_number, name=name)
    _run(ddl.create_table(table.schema, name, _role(app)))
    return table


def _role(app: App) -> str:
    from console.tables.isolation import app_role

    return app_role(app.pk)


@transaction.atomic
def rename_table(table: Table, name: str) -> Table:
    _lock(table.app)
    name = _check_table_name(table.app, name, exclude=table)
    new_id = ddl.id_field_name(name).lower()
    if any(f.name.lower() == new_id for f in table.fields.all()):
        raise ValidationError(
            {
                "name": [
                    f"{name!r} would make the ID field {ddl.id_field_name(name)!r}, "
                    "which is already a field of this table."
                ]
            }
        )
    if name == table.name:
        return table
    _run(ddl.rename_table(table.schema, table.name, name))
    # The old alias keeps naming this table (deployed code uses it); numbers are never reused.
    if table.name not in table.former_names:
        table.former_names = [*table.former_names, table.name]
    table.name = name
    table.save(update_fields=["name", "former_names"])
    return table


def children_of(table: Table) -> list[Field]:
    """Belongs To fields of *other* tables that point at this one."""
    return list(Field.objects.filter(target=table).exclude(table=table).select_related("table"))


@transaction.atomic
def drop_table(table: Table, *, confirm: bool = False) -> None:
    """Drop a table. Tables that belong to it keep their rows; their link becomes an Integer."""
    _lock(table.app)
    children = children_of(table)
    if children and not confirm:
        names = ", ".join(f"{f.table.name}.{f.name}" for f in children)
        raise ConfirmationRequired(
            {
                "detail": f"Other tables belong to {table.name}: {names}. Those fields will become "
                "plain Integer fields. Confirm to drop it.",
                "belongs_to": [{"table": f.table.name, "field": f.name} for f in children],
            }
        )
    _run(ddl.drop_table(table.schema, table.name))
    Field.objects.filter(pk__in=[f.pk for f in children]).update(type=FieldType.INTEGER, target=None, on_delete="")
    table.delete()


# Fields


@transaction.atomic
def add_field(
    table: Table, name: str, field_type: str, *, target: Table | None = None, on_delete: str = OnDelete.CASCADE
) -> Field:
    _lock(table.app)
    name = _check_field_name(table, name)
    field_type = _check_type(field_type)
    relation = None
    if field_type == FieldType.BELONGS_TO:
        if target is None or target.app_id != table.app_id:
            raise ValidationError({"target": ["Choose the table this field belongs to."]})
        if on_delete not in OnDelete.values:
            raise ValidationError({"on_delete": [f"Choose one of: {', '.join(OnDelete.values)}."]})
        relation = ddl.Relation(target.name, target.id_field, on_delete)
    else:
        target, on_delete = None, ""
    position = (table.fields.aggregate(p=Max("position"))["p"] or 0) + 1
    field = Field.objects.create(
        table=table, name=name, type=field_type, position=position, target=target, on_delete=on_delete
    )
    _run(ddl.add_column(table.schema, table.name, name, field_type, relation))
    return field


@transaction.atomic
def rename_field(field: Field, name: str) -> Field:
    _lock(field.table.app)
    name = _check_field_name(field.table, name, exclude=field)
    if name != field.name:
        _run(ddl.rename_column(field.table.schema, field.table.name, field.name, name))
        indexes = list(field.table.indexes.all())
        for index in indexes:
            index.fields = [name if f == field.name else f for f in index.fields]
            index.save(update_fields=["fields"])
        field.name = name
        field.save(update_fields=["name"])
    return field


def _type_change_refused(field: Field, field_type: str, exc: DatabaseError) -> ValidationError:
    """Why PostgreSQL could not convert the values, in Kiln's words."""
    problem = getattr(getattr(exc.__cause__, "diag", None), "message_primary", None) or ""
    label = FieldType(field_type).label
    bad = re.match(r'invalid input syntax for type [\w ]+: "(.*)"', problem)
    if bad:
        reason = f"the value {bad[1]!r} does not convert"
    elif "out of range" in problem:
        reason = f"a value is outside what a {label} field holds"
    elif "invalid byte sequence" in problem:
        reason = "some values are not UTF-8 text"
    elif "too long" in problem:
        reason = "some values are longer than 255 characters"
    elif "cannot cast" in problem:
        reason = f"{FieldType(field.type).label} values cannot become {label}"
    else:
        reason = f"some values cannot become {label}"
    return ValidationError({"type": [f"Cannot change {field.name} to {label}: {reason}. Nothing was changed."]})


def type_change_effect(field: Field, field_type: str) -> dict[str, Any]:
    """How many values a type change would alter (4.75 → 5), without changing anything;
    ValidationError if some value cannot be converted at all."""
    field_type = _check_type(field_type)
    if FieldType.BELONGS_TO in (field.type, field_type):
        raise ValidationError({"type": ["A Belongs To field cannot change type; add a new field instead."]})
    if field_type == field.type:
        return {"type": field_type, "changed": 0, "examples": []}
    table = field.table
    statement = ddl.type_change_effect(table.schema, table.name, table.id_field, field.name, field.type, field_type)
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
            changed, too_long, examples = cur.fetchone()
    except DatabaseError as exc:
        raise _type_change_refused(field, field_type, exc) from None
    if too_long:
        label = FieldType(field_type).label
        raise ValidationError(
            {
                "type": [
                    f"Cannot change {field.name} to {label}: {too_long} value{'s are' if too_long != 1 else ' is'} "
                    "longer than 255 characters (use Text). Nothing was changed."
                ]
            }
        )
    return {
        "type": field_type,
        "changed": changed,
        "examples": [{"id": i, "from": old, "to": new} for i, old, new in examples],
    }


@transaction.atomic
def change_field_type(field: Field, field_type: str, *, confirm: bool = True) -> Field:
    """Convert every value, or fail naming a value that does not convert and change nothing.

    Without `confirm`, a change that alters values (rounding, trimming, true for 2) is
    refused with ConfirmationRequired saying how many values would change.
    """
    _lock(field.table.app)
    field_type = _check_type(field_type)
    if field_type == field.type:
        return field
    effect = type_change_effect(field, field_type)
    label = FieldType(field_type).label
    if effect["changed"] and not confirm:
        n, first = effect["changed"], effect["examples"][0]
        raise ConfirmationRequired(
            {
                "detail": f"{n} value{'s' if n != 1 else ''} of {field.name} will change as {label} "
                f"(for example {first['from']} becomes {first['to']}). Confirm to change the type.",
                **effect,
            }
        )
    statement = ddl.change_column_type(field.table.schema, field.table.name, field.name, field.type, field_type)
    try:
        with transaction.atomic():
            _run(statement)
    except DatabaseError as exc:
        raise _type_change_refused(field, field_type, exc) from None
    field.type = field_type
    field.save(update_fields=["type"])
    return field


@transaction.atomic
def change_on_delete(field: Field, on_delete: str) -> Field:
    """What deleting a parent does to this Belongs To field's records, changed after creation."""
    _lock(field.table.app)
    if field.type != FieldType.BELONGS_TO or field.target is None:
        raise ValidationError({"on_delete": ["Only a Belongs To field has an on-delete rule."]})
    if on_delete not in OnDelete.values:
        raise ValidationError({"on_delete": [f"Choose one of: {', '.join(OnDelete.values)}."]})
    if on_delete == field.on_delete:
        return field
    table, target = field.table, field.target
    with connection.cursor() as cur:
        cur.execute(ddl.foreign_keys_of_column(), [table.schema, table.name, field.name])
        names = [r[0] for r in cur.fetchall()]
    if len(names) != 1:
        raise ValidationError({"on_delete": [f"{table.name}.{field.name} has no single link to change."]})
    relation = ddl.Relation(target.name, target.id_field, on_delete)
    _run(ddl.replace_foreign_key(table.schema, table.name, field.name, names[0], relation))
    field.on_delete = on_delete
    field.save(update_fields=["on_delete"])
    return field


@transaction.atomic
def drop_field(field: Field) -> None:
    _lock(field.table.app)
    _run(ddl.drop_column(field.table.schema, field.table.name, field.name))
    # PostgreSQL dropped every index using the column; forget those too.
    for index in field.table.indexes.all():
        if field.name in index.fields:
            index.delete()
    field.delete()


# Indexes


@transaction.atomic
def add_index(table: Table, field_names: list[str], *, unique: bool = False) -> Index:
    """An index on the fields, in order; a unique one also refuses two records with the same values."""
    _lock(table.app)
    if not isinstance(field_names, list) or not field_names:
        raise ValidationError({"fields": ["Choose at least one field."]})
    known = {f.name: f for f in table.fields.all()}
    known.update({n: None for n in (table.id_field, *ddl.MAGIC_FIELDS)})  # type: ignore[misc]
    for name in field_names:
        if name not in known:
            raise ValidationError({"fields": [f"{table.name} has no field called {name!r}."]})
    if len(set(field_names)) != len(field_names):
        raise ValidationError({"fields": ["Name each field once."]})
    name = ddl.index_name(table.number, field_names, unique=unique)
    if table.indexes.filter(name=name).exists():
        kind = "a unique index" if unique else "an index"
        raise ValidationError({"fields": [f"There is already {kind} on these fields."]})
    try:
        with transaction.atomic():
            _run(ddl.create_index(table.schema, table.name, name, field_names, unique=unique))
    except DatabaseError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
            raise
        # PostgreSQL says: Key (name)=(ann) is duplicated.
        detail = getattr(getattr(exc.__cause__, "diag", None), "message_detail", None) or ""
        found = re.match(r"Key \((.*)\)=\((.*)\) is duplicated", detail)
        which = f" ({found[1]} = {found[2]})" if found else ""
        raise ValidationError(
            {"fields": [f"More than one record has the same values{which}; make them unique first."]}
        ) from None
    return Index.objects.create(table=table, name=name, fields=field_names, unique=unique)


@transaction.atomic
def drop_index(index: Index) -> None:
    _lock(index.table.app)
    _run(ddl.drop_index(index.table.schema, index.name))
    index.delete()


# Records


def clean_values(table: Table, data: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Wire values → database values for the table's own fields, or ValidationError per field."""
    if not isinstance(data, Mapping):
        raise ValidationError({"detail": "Send the record as a JSON object."})
    fields = {f.name: f for f in table.fields.all()}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key in (table.id_field, *ddl.MAGIC_FIELDS):
            continue  # kept by the database
        field = fields.get(key)
        if field is None:
            errors[key] = [f"{table.name} has no field called {key!r}."]
            continue
        try:
            cleaned[key] = values.to_db(field.type, value)
        except values.BadValue as exc:
            errors[key] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _row(cur: Any) -> dict[str, Any]:
    columns = [c.name for c in cur.description]
    row = cur.fetchone()
    return {c: values.to_wire(v) for c, v in zip(columns, row, strict=True)}


def _integrity_error(table: Table, exc: DatabaseError) -> ValidationError:
    diag = getattr(exc.__cause__, "diag", None)
    detail = getattr(diag, "message_detail", None) or getattr(diag, "message_primary", None) or str(exc)
    if isinstance(exc.__cause__, psycopg.errors.ForeignKeyViolation):
        # PostgreSQL says: Key (photographer)=(99) is not present in table "users".
        match = re.match(r'Key \((\w+)\)=\((.*)\) is not present in table "(\w+)"', detail)
        if match:
            return ValidationError({match[1]: [f"There is no record {match[2]} in {match[3]}."]})
    if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
        # PostgreSQL says: Key (name, age)=(ann, 3) already exists.
        match = re.match(r"Key \((.*)\)=\((.*)\) already exists", detail)
        if match and "," not in match[1]:
            return ValidationError({match[1]: ["Another record already has this value (the field is unique)."]})
        names = match[1] if match else "the unique fields"
        return ValidationError({"detail": [f"Another record already has these values of {names}."]})
    column = getattr(diag, "column_name", None)
    return ValidationError({column or "detail": [str(detail)]})


@transaction.atomic
def insert_record(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = clean_values(table, data, partial=False)
    try:
        with app_cursor(table.app_id) as cur:
            cur.execute(dml.insert_row(table.schema, table.name, list(cleaned)), list(cleaned.values()))
            return _row(cur)
    except DatabaseError as exc:
        raise _integrity_error(table, exc) from None


@transaction.atomic
def update_record(table: Table, record_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = clean_values(table, data, partial=True)
    try:
        with app_cursor(table.app_id) as cur:
            if cleaned:
                statement = dml.update_row(table.schema, table.name, table.id_field, list(cleaned))
                cur.execute(statement, [*cleaned.values(), record_id])
            else:
                cur.execute(dml.select_row(table.schema, table.name, table.id_field), [record_id])
            if cur.rowcount == 0:
                raise NotFound(f"No record {record_id} in {table.name}.")
            return _row(cur)
    except DatabaseError as exc:
        raise _integrity_error(table, exc) from None


@transaction.atomic
def delete_record(table: Table, record_id: int) -> None:
    try:
        with app_cursor(table.app_id) as cur:
            cur.execute(dml.delete_row(table.schema, table.name, table.id_field), [record_id])
            if cur.rowcount == 0:
                raise NotFound(f"No record {record_id} in {table.name}.")
    except DatabaseError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        # Only a "prevent delete" relation refuses: Key (userID)=(1) is referenced from table "photos".
        match = re.search(r'referenced from table "(\w+)"', getattr(diag, "message_detail", None) or "")
        if match:
            raise ValidationError(
                {"detail": f"Records in {match[1]} still belong to this record; delete them first."}
            ) from None
        raise _integrity_error(table, exc) from None
