"""Reads of tables and records: table lookups scoped to an app, and data-browser pages.

A page never reads the whole table: keyset paging (`after`) or offset + limit, a count
capped at COUNT_CAP rows, and the planner's estimate for big unfiltered tables.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from rest_framework.exceptions import NotFound, ValidationError

from console.apps.models import App
from console.tables import ddl, dml, values
from console.tables.isolation import app_cursor
from console.tables.models import Field, Index, Table

COUNT_CAP = 10_000
MAX_PAGE_SIZE = 500
MAX_IN_VALUES = 500  # an `in` filter fetches at most a page's worth of rows by value


def get_table(app: App, table_id: int) -> Table:
    """The app's table with this id; another app's table is a 404 like a missing one."""
    table = Table.objects.filter(app=app, pk=table_id).select_related("app").first()
    if table is None:
        raise NotFound("No such table.")
    return table


def get_field(table: Table, field_id: int) -> Field:
    field = Field.objects.filter(table=table, pk=field_id).select_related("table__app").first()
    if field is None:
        raise NotFound("No such field.")
    return field


def get_index(table: Table, index_id: int) -> Index:
    index = Index.objects.filter(table=table, pk=index_id).select_related("table__app").first()
    if index is None:
        raise NotFound("No such index.")
    return index


def list_tables(app: App) -> list[Table]:
    return list(
        Table.objects.filter(app=app)
        .prefetch_related("fields__target", "indexes", "inverse_fields__table")
        .order_by("name", "id")
    )


def automatic_indexes(app_id: int, tables: list[Table]) -> dict[int, list[dict[str, Any]]]:
    """Per table id: the indexes PostgreSQL has that Kiln's metadata does not list — the one
    made with every Belongs To field (ddl.add_column). Not deletable on their own: they go
    with their field.

    One catalog query for the app's schema, on the platform connection: it reads table
    structure, not app data, and sees DDL of the caller's own transaction.
    """
    if not tables:
        return {}
    known = {(i.table_id, i.name) for t in tables for i in t.indexes.all()}
    by_name = {t.name: t.pk for t in tables}
    found: dict[int, list[dict[str, Any]]] = {t.pk: [] for t in tables}
    with connection.cursor() as cur:
        cur.execute(ddl.list_indexes(), [ddl.schema_name(app_id)])
        for table_name, index_name, columns in cur.fetchall():
            table_id = by_name.get(table_name)
            if table_id is None or (table_id, index_name) in known:
                continue
            found[table_id].append(
                {"id": None, "name": index_name, "fields": list(columns), "unique": False, "automatic": True}
            )
    return found


def column_types(table: Table) -> dict[str, str]:
    """Every column of the table and its field type, the ID and magic fields included."""
    types = {table.id_field: "integer"}
    types.update({f.name: f.type for f in table.fields.all()})
    types.update({m: "datetime" for m in ddl.MAGIC_FIELDS})
    return types


def record_count(table: Table, cur: Any | None = None) -> tuple[int, bool]:
    """(count, exact). Exact up to COUNT_CAP rows; beyond, the planner's estimate."""
    if cur is None:
        with app_cursor(table.app_id, atomic=False) as own:
            return record_count(table, own)
    # The catalogs are the platform's to read: app roles may not (tables migration 0003).
    with connection.cursor() as platform:
        platform.execute(dml.estimate(), [table.schema, table.name])
        estimate = platform.fetchone()[0]
    if estimate > COUNT_CAP:
        return estimate, False
    cur.execute(dml.count(table.schema, table.name, dml.Page(table.id_field, table.id_field), COUNT_CAP))
    counted = cur.fetchone()[0]
    if counted > COUNT_CAP:
        return max(estimate, counted), False
    return counted, True


def _record(columns: list[str], row: tuple[Any, ...]) -> dict[str, Any]:
    return {c: values.to_wire(v) for c, v in zip(columns, row, strict=True)}


def get_record(table: Table, record_id: int) -> dict[str, Any]:
    with app_cursor(table.app_id, atomic=False) as cur:
        cur.execute(dml.select_row(table.schema, table.name, table.id_field), [record_id])
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"No record {record_id} in {table.name}.")
        return _record([c.name for c in cur.description], row)


# How far the delete dialog follows cascades, and how many records of one relation it
# follows them through (the counts stay exact; only deeper levels stop there).
CASCADE_DEPTH = 8
CASCADE_FOLLOW = 10_000


def dependents(table: Table, record_id: int) -> list[dict[str, Any]]:
    """What deleting a record does to the records that belong to it: per Belongs To field
    pointing at this table, its on-delete rule and how many records it links to this one.
    A cascading relation also lists, under `cascades`, what deleting those records does in
    turn, as deep as the cascade goes (up to CASCADE_DEPTH levels). Records met again on a
    cycle (a table that belongs to itself) are not counted twice."""
    get_record(table, record_id)  # 404 for a record that is not there
    links: dict[int, list[Field]] = {}
    for link in Field.objects.filter(table__app_id=table.app_id, target__isnull=False).select_related("table"):
        links.setdefault(link.target_id, []).append(link)
    for group in links.values():
        group.sort(key=lambda link: (link.table.name, link.name))
    seen: dict[int, set[int]] = {table.pk: {record_id}}
    with app_cursor(table.app_id, atomic=False) as cur:
        return _linked(cur, links, seen, table, [record_id], 1)


def _linked(
    cur: Any, links: dict[int, list[Field]], seen: dict[int, set[int]], table: Table, ids: list[int], depth: int
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for link in links.get(table.pk, []):
        child = link.table
        entry: dict[str, Any] = {
            "table": {"id": child.pk, "name": child.name},
            "field": link.name,
            "on_delete": link.on_delete,
        }
        if link.on_delete == "cascade":
            cur.execute(dml.ids_linked(child.schema, child.name, child.id_field, link.name, CASCADE_FOLLOW + 1), [ids])
            child_ids = [row[0] for row in cur.fetchall()]
            if len(child_ids) > CASCADE_FOLLOW:
                cur.execute(dml.count_linked(child.schema, child.name, link.name), [ids])
                entry["count"] = cur.fetchone()[0]
                child_ids = child_ids[:CASCADE_FOLLOW]
            else:
                entry["count"] = len(child_ids)
            known = seen.setdefault(child.pk, set())
            fresh = [i for i in child_ids if i not in known]
            known.update(fresh)
            entry["cascades"] = (
                _linked(cur, links, seen, child, fresh, depth + 1) if fresh and depth < CASCADE_DEPTH else []
            )
        else:
            cur.execute(dml.count_linked(child.schema, child.name, link.name), [ids])
            entry["count"] = cur.fetchone()[0]
        found.append(entry)
    return found


@dataclass(frozen=True)
class BrowseRequest:
    sort: str | None = None
    descending: bool = False
    limit: int = 50
    offset: int = 0
    after: str | None = None  # the `next` token of the previous page
    filter_field: str | None = None
    filter_op: str | None = None
    filter_value: str | None = None


def _encode_token(sort_value: Any, record_id: int) -> str:
    if isinstance(sort_value, datetime):
        encoded: Any = {"dt": sort_value.isoformat()}
    elif isinstance(sort_value, bytes | memoryview):
        encoded = {"b": base64.b64encode(bytes(sort_value)).decode()}
    else:
        encoded = sort_value
    return base64.urlsafe_b64encode(json.dumps([encoded, record_id]).encode()).decode()


_BAD_TOKEN = {"after": ["This page token is not valid; start from the first page."]}
_INT64 = range(-(2**63), 2**63)


def _decode_token(token: str, sort_type: str) -> tuple[Any, int]:
    """The (sort value, record id) of a page token, checked against the sort field's type.

    Tokens come back from the browser, so anything may arrive: a token nested 1,000 deep
    (json.loads gives up with RecursionError) or a value of the wrong type (PostgreSQL would
    fail to compare it) is refused as invalid, like any other garbage."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValidationError(_BAD_TOKEN) from None
    if not isinstance(decoded, list) or len(decoded) != 2:
        raise ValidationError(_BAD_TOKEN)
    encoded, record_id = decoded
    if type(record_id) is not int or record_id not in _INT64:
        raise ValidationError(_BAD_TOKEN)
    try:
        return _token_value(encoded, sort_type), record_id
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise ValidationError(_BAD_TOKEN) from None


def _token_value(encoded: Any, sort_type: str) -> Any:
    """A sort value as `_encode_token` wrote it for a field of `sort_type`; ValueError if not."""
    if encoded is None:
        return None
    if sort_type in {"integer", "belongs_to"}:
        if type(encoded) is int and encoded in _INT64:
            return encoded
    elif sort_type == "float":
        if type(encoded) in (int, float):
            return float(encoded)
    elif sort_type == "boolean":
        if type(encoded) is bool:
            return encoded
    elif sort_type in {"string", "text"}:
        if type(encoded) is str and "\x00" not in encoded:
            return encoded
    elif sort_type == "datetime":
        if isinstance(encoded, dict) and type(encoded.get("dt")) is str:
            return datetime.fromisoformat(encoded["dt"])
    elif sort_type == "data":
        if isinstance(encoded, dict) and type(encoded.get("b")) is str:
            return base64.b64decode(encoded["b"], validate=True)
    raise ValueError(f"not a {sort_type} sort value")


def _in_values(field_type: str, raw: str) -> list[Any]:
    """The values of an `in` filter: one CSV line (quote a value holding a comma)."""
    if field_type == "data":
        raise ValidationError({"filter_op": ["in does not work on Data fields."]})
    try:
        lines = list(csv.reader(io.StringIO(raw)))
    except csv.Error as exc:
        raise ValidationError({"filter_value": [f"Give the values as one comma-separated line: {exc}"]}) from None
    if len(lines) > 1:
        raise ValidationError({"filter_value": ["Give the values as one comma-separated line."]})
    cells = lines[0] if lines else []
    if not cells:
        raise ValidationError({"filter_value": ["Give at least one value, separated by commas."]})
    if len(cells) > MAX_IN_VALUES:
        raise ValidationError(
            {"filter_value": [f"Give at most {MAX_IN_VALUES} values to match (this is {len(cells)})."]}
        )
    return [
        _filter_value(field_type, cell, "Leave no value in the list empty (use is_null for empty).") for cell in cells
    ]


def _filter_value(field_type: str, text: str, when_empty: str) -> Any:
    """A filter's value typed in the browser (text, read as a CSV cell) as the column's value."""
    try:
        value = values.to_db(field_type, values.from_csv(field_type, text))
    except values.BadValue as exc:
        raise ValidationError({"filter_value": [str(exc)]}) from None
    if value is None:
        raise ValidationError({"filter_value": [when_empty]})
    return value


def _filter_parameter(field_type: str, op: str, raw: str | None) -> Any:
    if op in dml.VALUELESS_OPERATORS:
        return None
    if raw is None:
        raise ValidationError({"filter_value": ["Give a value to filter by."]})
    if op == "in":
        return _in_values(field_type, raw)
    if op in dml.TEXT_OPERATORS:
        if field_type not in {"string", "text"}:
            raise ValidationError({"filter_op": ["contains and starts work on String and Text fields only."]})
        escaped = dml.like_escaped(raw)
        return f"%{escaped}%" if op == "contains" else f"{escaped}%"
    return _filter_value(field_type, raw, "Give a value to filter by (or use is_null).")


def checked_filter(
    table: Table, types: dict[str, str], request: BrowseRequest
) -> tuple[str | None, str | None, list[Any]]:
    """The request's filter as (column, operator, parameters), or ValidationError; no filter: (None, None, [])."""
    if not request.filter_field:
        return None, None, []
    if request.filter_field not in types:
        raise ValidationError({"filter_field": [f"{table.name} has no field called {request.filter_field!r}."]})
    if request.filter_op not in dml.OPERATORS:
        raise ValidationError({"filter_op": [f"Choose an operator: {', '.join(dml.OPERATORS)}."]})
    value = _filter_parameter(types[request.filter_field], request.filter_op, request.filter_value)
    params = [] if request.filter_op in dml.VALUELESS_OPERATORS else [value]
    return request.filter_field, request.filter_op, params


def browse(table: Table, request: BrowseRequest) -> dict[str, Any]:
    """One data-browser page: {"records", "count", "count_exact", "next"}."""
    types = column_types(table)
    sort = request.sort or table.id_field
    if sort not in types:
        raise ValidationError({"sort": [f"{table.name} has no field called {sort!r}."]})
    if not 1 <= request.limit <= MAX_PAGE_SIZE:
        raise ValidationError({"limit": [f"Ask for 1 to {MAX_PAGE_SIZE} records a page."]})
    if request.offset < 0:
        raise ValidationError({"offset": ["The offset cannot be negative."]})
    filter_column, filter_op, params = checked_filter(table, types, request)
    count_params = list(params)
    keyset: list[Any] = []
    after_null = False
    second: dml.Page | None = None  # the other side of the NULLs, when a keyset page runs out
    if request.after:
        sort_value, after_id = _decode_token(request.after, types[sort])
        after_null = sort_value is None and sort != table.id_field
        keyset = [after_id] if sort == table.id_field or after_null else [sort_value, sort_value, after_id]
    page = dml.Page(
        id_field=table.id_field,
        sort=sort,
        descending=request.descending,
        filter_column=filter_column,
        filter_op=filter_op,
        after=bool(request.after),
        after_null=after_null,
        nulls=None if not request.after or sort == table.id_field else ("only" if after_null else "none"),
        limit=request.limit,
        offset=request.offset,
    )
    if page.nulls is not None and after_null == request.descending:
        # ASC: after the last value come the NULLs; DESC: after the last NULL come the values.
        second = dml.Page(
            id_field=table.id_field,
            sort=sort,
            descending=request.descending,
            filter_column=filter_column,
            filter_op=filter_op,
            nulls="only" if not request.descending else "none",
        )
    # Reads only: no transaction, so a page is its statements and nothing else.
    with app_cursor(table.app_id, atomic=False) as cur:
        cur.execute(dml.browse(table.schema, table.name, page), [*params, *keyset, request.limit, request.offset])
        columns = [c.name for c in cur.description]
        rows = cur.fetchall()
        if second is not None and len(rows) < request.limit:
            cur.execute(dml.browse(table.schema, table.name, second), [*params, request.limit - len(rows), 0])
            rows += cur.fetchall()
        if request.offset == 0 and not request.after and len(rows) < request.limit:
            count, exact = len(rows), True  # the first page holds everything
        elif filter_column is None:
            count, exact = record_count(table, cur)
        else:
            cur.execute(dml.count(table.schema, table.name, page, COUNT_CAP), count_params)
            counted = cur.fetchone()[0]
            count, exact = min(counted, COUNT_CAP), counted <= COUNT_CAP
    next_token = None
    if len(rows) == request.limit:
        last = dict(zip(columns, rows[-1], strict=True))
        next_token = _encode_token(last[sort], last[table.id_field])
    return {
        "records": [_record(columns, row) for row in rows],
        "count": count,
        "count_exact": exact,
        "next": next_token,
    }


def gate_tables(app_id: int) -> dict[str, Any]:
    """The app's tables as sqlgate sees them, keyed by lower-cased alias."""
    from console.tables.sqlgate import GateTable

    result: dict[str, Any] = {}
    for table in Table.objects.filter(app_id=app_id).prefetch_related("fields"):
        names = [table.id_field, *(f.name for f in table.fields.all()), *ddl.MAGIC_FIELDS]
        result[table.alias.lower()] = GateTable(alias=table.alias, table=table.name, columns=names)
    return result
