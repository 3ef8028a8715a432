"""CSV import (preview, per-row errors, all-or-nothing, progress) and streamed CSV export.

Small files import inside the request; larger ones run as a Celery task
(`tasks.import_csv_task`) whose progress is kept in the cache, because the rows are
written in one transaction that nobody else can see into until it commits.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError

from console.tables import ddl, dml, queries, values
from console.tables.isolation import app_cursor
from console.tables.models import CsvImport, Field, FieldType, Table

SYNC_ROWS = 1_000  # up to this many rows, import inside the request
PREVIEW_ROWS = 20
MAX_ERRORS = 100
EXPORT_BATCH = 2_000
PROGRESS_EVERY = 500
ERROR_VALUE_CHARS = 100  # an error shows this much of the bad cell's text
_TEXT_TYPES = frozenset({"string", "text"})


def _error(row: int | None, field: str | None, message: str, value: str | None = None) -> dict[str, Any]:
    """One problem: `value` is the raw text of the cell to blame (cut short), null for a row or the file."""
    if value is not None and len(value) > ERROR_VALUE_CHARS:
        value = value[:ERROR_VALUE_CHARS] + "…"
    return {"row": row, "field": field, "value": value, "message": message}


def _progress_key(job_id: int) -> str:
    return f"tables:csv-import:{job_id}"


@dataclass
class Parsed:
    """A CSV file read against a table: rows as database values, and what was wrong."""

    columns: list[str]
    rows: list[dict[str, Any]]
    lines: list[int]  # the file's row number of each row (the header is row 1)
    errors: list[dict[str, Any]]
    datetime_formats: dict[str, list[str]] = field(default_factory=dict)  # field → forms seen


def parse(table: Table, text: str) -> Parsed:
    """Read the file; Belongs To values are checked against the parents' rows too."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError({"csv": ["The file is empty."]}) from None
    except csv.Error as exc:
        raise ValidationError({"csv": [f"Not a CSV file: {exc}"]}) from None
    fields = {f.name.lower(): f for f in table.fields.select_related("target")}
    skipped = {n.lower() for n in (table.id_field, *ddl.MAGIC_FIELDS)}
    columns: list[tuple[int, Field]] = []
    for position, name in enumerate(header):
        key = name.strip().lower()
        if key in skipped:
            continue  # kept by the database
        if key not in fields:
            raise ValidationError({"csv": [f"Column {name!r} is not a field of {table.name}."]})
        columns.append((position, fields[key]))
    parsed = Parsed([f.name for _, f in columns], [], [], [])
    formats: dict[str, set[str]] = {}
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                parsed.errors.append(_error(line, None, f"Expected {len(header)} cells, found {len(cells)}."))
                continue
            row: dict[str, Any] = {}
            for position, column in columns:
                cell = cells[position]
                if column.type in _TEXT_TYPES:
                    cell = restore_formula(cell)  # a file exported by Kiln imports unchanged
                try:
                    if column.type == FieldType.DATETIME and cell.strip():
                        row[column.name], form = values.datetime_from_text(cell)
                        formats.setdefault(column.name, set()).add(form)
                    else:
                        row[column.name] = values.to_db(column.type, values.from_csv(column.type, cell))
                except values.BadValue as exc:
                    parsed.errors.append(_error(line, column.name, str(exc), cells[position]))
            parsed.rows.append(row)
            parsed.lines.append(line)
    except csv.Error as exc:
        parsed.errors.append(_error(reader.line_num, None, f"Not valid CSV: {exc}"))
    order = (values.DATETIME_EPOCH, values.DATETIME_PLAIN, values.DATETIME_ISO)
    parsed.datetime_formats = {name: [f for f in order if f in seen] for name, seen in formats.items()}
    for _, column in columns:
        if column.type == FieldType.BELONGS_TO and column.target is not None:
            _check_parents(table, column, parsed)
    parsed.errors.sort(key=lambda e: (e["row"] is not None, e["row"] or 0))
    return parsed


def _check_parents(table: Table, column: Field, parsed: Parsed) -> None:
    """An error for each Belongs To value whose parent record does not exist (yet)."""
    wanted = {row[column.name] for row in parsed.rows if row.get(column.name) is not None}
    if not wanted:
        return
    target = column.target
    assert target is not None
    with app_cursor(table.app_id) as cur:
        cur.execute(dml.existing_ids(target.schema, target.name, target.id_field), [sorted(wanted)])
        present = {r[0] for r in cur.fetchall()}
    for line, row in zip(parsed.lines, parsed.rows, strict=True):
        value = row.get(column.name)
        if value is not None and value not in present:
            parsed.errors.append(_error(line, column.name, f"There is no record {value} in {target.name}.", str(value)))


def preview(table: Table, text: str) -> dict[str, Any]:
    parsed = parse(table, text)
    columns = parsed.columns
    return {
        "columns": columns,
        "rows": [{c: values.to_wire(r.get(c)) for c in columns} for r in parsed.rows[:PREVIEW_ROWS]],
        "total_rows": len(parsed.rows),
        "datetime_formats": parsed.datetime_formats,
        "errors": parsed.errors[:MAX_ERRORS],
        "error_count": len(parsed.errors),
    }


def start_import(table: Table, text: str) -> CsvImport:
    """Check the file, then import it now (small) or in a Celery task (large)."""
    parsed = parse(table, text)
    job = CsvImport.objects.create(table=table, content=text, total_rows=len(parsed.rows))
    if parsed.errors:
        _finish(job, CsvImport.Status.FAILED, errors=parsed.errors[:MAX_ERRORS])
    elif len(parsed.rows) <= SYNC_ROWS:
        run_import(job.pk)
        job.refresh_from_db()
    else:
        from console.tables.tasks import import_csv_task

        transaction.on_commit(lambda: import_csv_task.delay(job.pk))
    return job


def _finish(job: CsvImport, status: str, *, errors: list[dict[str, Any]] | None = None, imported: int = 0) -> None:
    CsvImport.objects.filter(pk=job.pk).update(
        status=status, errors=errors or [], imported_rows=imported, finished_at=timezone.now()
    )
    cache.delete(_progress_key(job.pk))


def run_import(job_id: int) -> None:
    """Import every row in one transaction, or none (the errors say why)."""
    job = CsvImport.objects.select_related("table__app").get(pk=job_id)
    if job.status not in (CsvImport.Status.PENDING,):
        return  # already ran: tasks may be delivered twice
    CsvImport.objects.filter(pk=job.pk).update(status=CsvImport.Status.RUNNING)
    table = job.table
    parsed = parse(table, job.content)
    if parsed.errors:
        _finish(job, CsvImport.Status.FAILED, errors=parsed.errors[:MAX_ERRORS])
        return
    columns, rows = parsed.columns, parsed.rows
    try:
        with transaction.atomic(), app_cursor(table.app_id) as cur:
            with cur.cursor.copy(dml.copy_in(table.schema, table.name, columns)) as copy:
                for done, row in enumerate(rows, start=1):
                    copy.write_row([row.get(c) for c in columns])
                    if done % PROGRESS_EVERY == 0:
                        cache.set(_progress_key(job.pk), done, 3600)
    except (DatabaseError, psycopg.Error) as exc:
        # COPY runs on psycopg's cursor directly, so its errors arrive unwrapped.
        cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
        _finish(job, CsvImport.Status.FAILED, errors=[_copy_error(table, parsed, cause)])
        return
    _finish(job, CsvImport.Status.DONE, imported=len(rows))


def _copy_error(table: Table, parsed: Parsed, cause: BaseException | None) -> dict[str, Any]:
    """A database refusal during COPY as the file's row and field, in Kiln's words.

    The preview checks catch almost everything; this is for what changed in between
    (a parent deleted meanwhile), so PostgreSQL's own text never reaches the console.
    """
    diag = getattr(cause, "diag", None)
    # PostgreSQL's context says `COPY photos, line 3` (line 1 is the first row sent).
    match = re.search(r"line (\d+)", getattr(diag, "context", None) or "")
    index = int(match[1]) - 1 if match else None
    line = parsed.lines[index] if index is not None and 0 <= index < len(parsed.lines) else None
    column = getattr(diag, "column_name", None)
    detail = getattr(diag, "message_detail", None) or ""
    if isinstance(cause, psycopg.errors.ForeignKeyViolation):
        found = re.match(r'Key \((\w+)\)=\((.*)\) is not present in table "(\w+)"', detail)
        if found:
            if line is None:
                # Foreign keys are checked when COPY ends, so the row comes from the value.
                line = next(
                    (n for n, r in zip(parsed.lines, parsed.rows, strict=True) if str(r.get(found[1])) == found[2]),
                    None,
                )
            return _error(line, found[1], f"There is no record {found[2]} in {found[3]}.", found[2])
    if isinstance(cause, psycopg.errors.NotNullViolation):
        return _error(line, column, "This field needs a value.")
    if isinstance(cause, psycopg.errors.StringDataRightTruncation):
        return _error(line, column, "This value is too long for the field.")
    if isinstance(cause, psycopg.errors.UniqueViolation):
        found = re.match(r"Key \((.*)\)=\((.*)\) already exists", detail)
        name = found[1] if found and "," not in found[1] else None
        return _error(line, name, "Another record already has this value.", found[2] if found else None)
    where = f"row {line}" if line else "a row"
    return _error(line, column, f"The database refused {where}; nothing was imported.")


def get_import(table: Table, job_id: int) -> CsvImport:
    job = CsvImport.objects.filter(table=table, pk=job_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


def job_shape(job: CsvImport) -> dict[str, Any]:
    job.refresh_from_db()
    imported = job.imported_rows
    if job.status == CsvImport.Status.RUNNING:
        imported = int(cache.get(_progress_key(job.pk)) or 0)
    return {
        "id": job.pk,
        "status": job.status,
        "total_rows": job.total_rows,
        "imported_rows": imported,
        "progress": 1.0
        if job.status == CsvImport.Status.DONE
        else (imported / job.total_rows if job.total_rows else 0.0),
        "errors": job.errors,
    }


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection"): an exported
# `=cmd|' /C calc'!A0` would run when the file is opened in Excel or LibreOffice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        # Only text fields hold str here: numbers stay numbers (-3 is not a formula), and
        # Data (base64) and datetimes (epoch seconds) cannot start a formula.
        return neutralise_formula(value)
    wire = values.to_wire(value)
    if isinstance(wire, bool):
        return "true" if wire else "false"
    return "" if wire is None else wire


def neutralise_formula(text: str) -> str:
    """Text a spreadsheet shows as text: a formula start gets a leading `'`, as OWASP
    recommends, and so does a leading `'` itself, so that import can take exactly one off."""
    if text.startswith(FORMULA_STARTS) or text.startswith("'"):
        return "'" + text
    return text


def restore_formula(text: str) -> str:
    """The inverse of `neutralise_formula`, for cells of text fields being imported."""
    if len(text) > 1 and text[0] == "'" and (text[1] == "'" or text[1:].startswith(FORMULA_STARTS)):
        return text[1:]
    return text


def export_rows(table: Table, request: queries.BrowseRequest | None = None) -> Iterator[str]:
    """The table as CSV, a batch of rows at a time (never the whole table in memory); only the
    rows matching the data browser's filter when `request` has one."""
    column, op, params = queries.checked_filter(table, queries.column_types(table), request or queries.BrowseRequest())
    statement = dml.export_batch(table.schema, table.name, table.id_field, column, op)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    last_id = 0
    header_written = False
    while True:
        with app_cursor(table.app_id) as cur:
            cur.execute(statement, [*params, last_id, EXPORT_BATCH])
            columns = [c.name for c in cur.description]
            batch = cur.fetchall()
        if not header_written:
            writer.writerow(columns)
            header_written = True
        for row in batch:
            writer.writerow([_cell(v) for v in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < EXPORT_BATCH:
            return
        last_id = batch[-1][0]
