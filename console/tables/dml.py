"""Pure functions that write record SQL (insert, update, delete, browse) for one app table.

Like ddl.py: no I/O, identifiers quoted by psycopg, every value a `%s` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from console.tables.ddl import check_identifier

# Filter operators the data browser offers, and the SQL each becomes.
OPERATORS: dict[str, str] = {
    "eq": "{} = %s",
    "ne": "{} IS DISTINCT FROM %s",
    "lt": "{} < %s",
    "lte": "{} <= %s",
    "gt": "{} > %s",
    "gte": "{} >= %s",
    "contains": "{} ILIKE %s",
    "starts": "{} ILIKE %s",
    "is_null": "{} IS NULL",
    "not_null": "{} IS NOT NULL",
    # One array parameter: a b-tree index (the ID's, a Belongs To field's) serves it.
    "in": "{} = ANY(%s)",
}
VALUELESS_OPERATORS = {"is_null", "not_null"}
TEXT_OPERATORS = {"contains", "starts"}


def like_escaped(text: str) -> str:
    """`text` inside a LIKE or ILIKE pattern: its `%`, `_` and `\\` match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _table(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(check_identifier(schema, "schema")), sql.Identifier(table))


def _columns(columns: list[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def insert_row(schema: str, table: str, columns: list[str]) -> sql.Composed:
    if not columns:
        return sql.SQL("INSERT INTO {} DEFAULT VALUES RETURNING *").format(_table(schema, table))
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING *").format(
        _table(schema, table), _columns(columns), sql.SQL(", ").join(sql.Placeholder() * len(columns))
    )


def update_row(schema: str, table: str, id_field: str, columns: list[str]) -> sql.Composed:
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
    return sql.SQL("UPDATE {} SET {} WHERE {} = %s RETURNING *").format(
        _table(schema, table), assignments, sql.Identifier(id_field)
    )


def delete_row(schema: str, table: str, id_field: str) -> sql.Composed:
    return sql.SQL("DELETE FROM {} WHERE {} = %s").format(_table(schema, table), sql.Identifier(id_field))


def select_row(schema: str, table: str, id_field: str) -> sql.Composed:
    return sql.SQL("SELECT * FROM {} WHERE {} = %s").format(_table(schema, table), sql.Identifier(id_field))


@dataclass(frozen=True)
class Page:
    """What one data-browser page asks for; values go to the parameters, not the text."""

    id_field: str
    sort: str  # a column; ties are broken by the ID
    descending: bool = False
    filter_column: str | None = None
    filter_op: str | None = None
    after: bool = False  # keyset: start after the row given as parameters
    after_null: bool = False  # ... whose sort value is NULL (parameters: its ID only)
    nulls: str | None = None  # "only" / "none": one side of the NULLs, for a page's second part
    limit: int = 50
    offset: int = 0


def _filter(page: Page) -> sql.Composable | None:
    if page.filter_column is None or page.filter_op is None:
        return None
    return sql.SQL(OPERATORS[page.filter_op]).format(sql.Identifier(page.filter_column))


def _keyset(page: Page) -> sql.Composable:
    """Rows after (v, id) in ORDER BY sort, id — ASC puts NULLs last, DESC first (PostgreSQL's
    defaults, so one b-tree index serves both). Parameters: v, v, id — or id alone."""
    s, i = sql.Identifier(page.sort), sql.Identifier(page.id_field)
    if page.sort == page.id_field or page.after_null:
        return sql.SQL("{} < %s" if page.descending else "{} > %s").format(i)
    # TRICKY: the plain `s >= v` lets PostgreSQL walk an index on the sort field; the row
    # comparison then skips the ties already shown. NULLs follow in a second query.
    if page.descending:
        return sql.SQL("{} <= %s AND ({}, {}) < (%s, %s)").format(s, s, i)
    return sql.SQL("{} >= %s AND ({}, {}) > (%s, %s)").format(s, s, i)


def browse(schema: str, table: str, page: Page) -> sql.Composed:
    """One page of rows. Parameters, in order: filter value (if any), keyset values, limit, offset."""
    conditions = [c for c in (_filter(page), _keyset(page) if page.after else None) if c is not None]
    if page.nulls is not None and page.sort != page.id_field:
        template = "{} IS NULL" if page.nulls == "only" else "{} IS NOT NULL"
        conditions.append(sql.SQL(template).format(sql.Identifier(page.sort)))
    where = sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(conditions)) if conditions else sql.SQL("")
    direction = sql.SQL("DESC" if page.descending else "ASC")
    order = [sql.SQL("{} {}").format(sql.Identifier(page.sort), direction)]
    if page.sort != page.id_field:
        order.append(sql.SQL("{} {}").format(sql.Identifier(page.id_field), direction))
    return sql.SQL("SELECT * FROM {}{} ORDER BY {} LIMIT %s OFFSET %s").format(
        _table(schema, table), where, sql.SQL(", ").join(order)
    )


def count(schema: str, table: str, page: Page, cap: int) -> sql.Composed:
    """Count matching rows, but stop at `cap` + 1 so a count never reads a huge table."""
    f = _filter(page)
    where = sql.SQL(" WHERE {}").format(f) if f is not None else sql.SQL("")
    return sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {}{} LIMIT {}) AS capped").format(
        _table(schema, table), where, sql.Literal(int(cap) + 1)
    )


def estimate() -> sql.Composed:
    """The planner's row estimate (pg_class.reltuples); parameters: schema, table. -1: never analysed."""
    return sql.Composed(
        [
            sql.SQL(
                "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname = %s"
            )
        ]
    )


def copy_in(schema: str, table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(_table(schema, table), _columns(columns))


def export_batch(
    schema: str, table: str, id_field: str, filter_column: str | None = None, filter_op: str | None = None
) -> sql.Composed:
    """Rows after an ID, in ID order, matching the data browser's filter if one is given.

    Parameters: the filter value (unless the operator takes none), last ID, batch size."""
    page = Page(id_field=id_field, sort=id_field, filter_column=filter_column, filter_op=filter_op)
    f = _filter(page)
    where = sql.SQL("{} AND ").format(f) if f is not None else sql.SQL("")
    return sql.SQL("SELECT * FROM {} WHERE {}{} > %s ORDER BY {} LIMIT %s").format(
        _table(schema, table), where, sql.Identifier(id_field), sql.Identifier(id_field)
    )


def existing_ids(schema: str, table: str, id_field: str) -> sql.Composed:
    """Which of the given IDs (one array parameter) have a row."""
    return sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
        sql.Identifier(id_field), _table(schema, table), sql.Identifier(id_field)
    )


def count_linked(schema: str, table: str, column: str) -> sql.Composed:
    """How many rows link to any of the given ids (one array parameter) by a column."""
    return sql.SQL("SELECT count(*) FROM {} WHERE {} = ANY(%s)").format(_table(schema, table), sql.Identifier(column))


def ids_linked(schema: str, table: str, id_column: str, column: str, limit: int) -> sql.Composed:
    """The ids of (at most `limit`) rows that link to any of the given ids by a column."""
    return sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s) ORDER BY 1 LIMIT {}").format(
        sql.Identifier(id_column), _table(schema, table), sql.Identifier(column), sql.Literal(int(limit))
    )
