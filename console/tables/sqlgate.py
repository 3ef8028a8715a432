"""The gate every piece of user-written SQL (K.query) passes before it runs.

It parses MySQL-dialect SQL with sqlglot and admits exactly one SELECT / INSERT /
UPDATE / DELETE (or a UNION of SELECTs) that names only the app's own table aliases,
calls only allowlisted functions and has no SET/RESET, transaction control, COPY,
DO/CALL, variables or SELECT INTO. It then rewrites aliases to schema-qualified tables,
column names to their real camelCase spelling, and writes PostgreSQL with `%s`
placeholders in the order the parameters must be bound. Run the result with
isolation.run_user_sql, which also runs it as the app's role.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

STATEMENTS = (exp.Select, exp.Insert, exp.Update, exp.Delete, exp.Union)
FORBIDDEN_NODES = (
    exp.Command,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Copy,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Into,
    exp.SessionParameter,
    exp.Parameter,
    exp.Pragma,
    exp.Use,
)
# sqlglot's names for functions (typed nodes use their own names, e.g. UNIX_TO_TIME for FROM_UNIXTIME).
ALLOWED_FUNCTIONS = frozenset(
    """
    COUNT SUM AVG MIN MAX COALESCE NULLIF IF CASE CONCAT CONCAT_WS LOWER UPPER LENGTH CHAR_LENGTH
    SUBSTRING TRIM LTRIM RTRIM REPLACE LEFT RIGHT ROUND ABS FLOOR CEIL MOD POW POWER SQRT SIGN
    GREATEST LEAST CAST TRY_CAST UNIX_TO_TIME TIME_TO_UNIX STR_TO_UNIX TIME_TO_STR
    TS_OR_DS_TO_TIMESTAMP CURRENT_TIMESTAMP CURRENT_DATE NOW DATE_ADD DATE_SUB DATE_TRUNC
    EXTRACT GROUP_CONCAT ROW_NUMBER RANK DENSE_RANK STRING_AGG ARRAY_AGG IFNULL LOCATE STR_POSITION
    UNIX_TIMESTAMP RAND RANDOM MD5 LPAD RPAD REVERSE DATE YEAR MONTH DAY HOUR MINUTE SECOND
    DATEDIFF DATE_DIFF TIMESTAMP_DIFF FROM_UNIXTIME TO_TIMESTAMP BOOL_AND BOOL_OR EXISTS
    """.split()
)
ALLOWED_CASTS = frozenset(
    """
    CHAR VARCHAR TEXT NCHAR NVARCHAR INT BIGINT SMALLINT TINYINT UINT UBIGINT DECIMAL DOUBLE FLOAT
    BOOLEAN DATE DATETIME TIMESTAMP TIMESTAMPTZ TIME BINARY VARBINARY BLOB
    """.split()
)


class GateError(ValueError):
    """User SQL the gate refuses; the message says why and is safe to show the user."""


@dataclass(frozen=True)
class GateTable:
    """One of the app's tables as the gate sees it: its alias, real name and columns."""

    alias: str
    table: str
    columns: Sequence[str]


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: list[Any]
    kind: str  # select / insert / update / delete


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    rowcount: int
    extra: dict[str, Any] = field(default_factory=dict)


def _number_placeholders(query: str) -> tuple[str, int]:
    """Give every `?` its position (`:kiln_p0`…) so parameters follow the text, whatever sqlglot reorders."""
    try:
        tokens = MySQL().tokenize(query)
    except (TokenError, ValueError) as exc:
        raise GateError(f"Could not read this SQL: {exc}") from None
    out, last, count = [], 0, 0
    for token in tokens:
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            out.append(query[last : token.start])
            out.append(f" :kiln_p{count} ")
            last = token.end + 1
            count += 1
    out.append(query[last:])
    return "".join(out), count


def _is_function(node: exp.Expression) -> bool:
    # AND / OR / NOT and other operators are Func subclasses in sqlglot, but not calls.
    return isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Connector | exp.Unary)


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return node.sql_name().upper()


def compile_query(query: str, tables: dict[str, GateTable], schema: str, params: Sequence[Any]) -> Compiled:
    """Check and rewrite one statement of MySQL-dialect SQL naming the app's aliases."""
    if not isinstance(query, str) or not query.strip():
        raise GateError("Give an SQL statement.")
    numbered, count = _number_placeholders(query)
    try:
        statements = [s for s in sqlglot.parse(numbered, read="mysql") if s is not None]
    except (ParseError, TokenError) as exc:
        raise GateError(f"Could not read this SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise GateError("Send one statement at a time.")
    statement = statements[0]
    if not isinstance(statement, STATEMENTS):
        raise GateError("Only SELECT, INSERT, UPDATE and DELETE statements may run.")
    if isinstance(statement, exp.Union) and not all(
        isinstance(s, exp.Select | exp.Union) for s in (statement.this, statement.expression)
    ):
        raise GateError("Only SELECTs can be combined with UNION.")
    for node in statement.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise GateError(f"{node.key.upper()} is not allowed in K.query.")
        if _is_function(node) and _function_name(node) not in ALLOWED_FUNCTIONS:
            raise GateError(f"The function {_function_name(node)} is not allowed in K.query.")
        if isinstance(node, exp.DataType) and node.this.name not in ALLOWED_CASTS:
            raise GateError(f"Casting to {node.sql('mysql')} is not allowed in K.query.")
        if isinstance(node, exp.Insert | exp.Select | exp.Update | exp.Delete) and node.args.get("returning"):
            raise GateError("RETURNING is not allowed in K.query.")
    columns = _rewrite_tables(statement, tables, schema)
    _rewrite_columns(statement, columns)
    return _generate(statement, params, count)


def _rewrite_tables(statement: exp.Expression, tables: dict[str, GateTable], schema: str) -> dict[str, str]:
    """Aliases → schema.table (keeping the alias as the table's name in the query)."""
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    columns: dict[str, str] = {}
    for node in list(statement.find_all(exp.Table)):
        name = node.name
        if node.args.get("db") or node.args.get("catalog"):
            raise GateError(f"Name tables by their alias only; {node.sql('mysql')} is not one of this app's tables.")
        if name.lower() in ctes:
            continue
        table = tables.get(name.lower())
        if table is None:
            raise GateError(f"{name} is not one of this app's table aliases.")
        for column in table.columns:
            columns.setdefault(column.lower(), column)
        alias = node.args.get("alias")
        replacement = exp.Table(
            this=exp.to_identifier(table.table, quoted=True), db=exp.to_identifier(schema, quoted=True)
        )
        alias_name = alias.name if alias is not None else table.alias.lower()
        if not isinstance(node.parent, exp.Schema | exp.Insert) or alias is not None:
            replacement.set("alias", exp.TableAlias(this=exp.to_identifier(alias_name, quoted=True)))
        node.replace(replacement)
    return columns


def _rewrite_columns(statement: exp.Expression, columns: dict[str, str]) -> None:
    """Column names resolve case-insensitively to the real camelCase names (timecreated → timeCreated)."""
    for column in statement.find_all(exp.Column):
        real = columns.get(column.name.lower())
        if real is not None and not isinstance(column.this, exp.Star):
            column.set("this", exp.to_identifier(real, quoted=True))
        qualifier = column.args.get("table")
        if qualifier is not None:
            column.set("table", exp.to_identifier(qualifier.name.lower(), quoted=True))
    for schema in statement.find_all(exp.Schema):  # INSERT INTO t (a, b)
        for identifier in schema.expressions:
            if isinstance(identifier, exp.Identifier):
                real = columns.get(identifier.name.lower())
                if real is None:
                    raise GateError(f"There is no field called {identifier.name}.")
                identifier.replace(exp.to_identifier(real, quoted=True))


def _generate(statement: exp.Expression, params: Sequence[Any], count: int) -> Compiled:
    if len(params) != count:
        raise GateError(f"The SQL has {count} ? placeholder(s) but {len(params)} parameter(s) were given.")
    marker = f"kilnparam{uuid.uuid4().hex}_"
    limited: set[int] = set()
    for node in list(statement.find_all(exp.Placeholder)):
        index = int(str(node.name).removeprefix("kiln_p"))
        if node.find_ancestor(exp.Limit, exp.Offset) is not None:
            limited.add(index)
        node.replace(exp.var(f"{marker}{index}"))
    try:
        text = statement.sql(dialect="postgres", identify=True)
    except Exception as exc:  # sqlglot raises several types for what it cannot write
        raise GateError(f"This SQL cannot run here: {exc}") from None
    # TRICKY: psycopg reads % as a placeholder sign, so literal % must be doubled first.
    text = text.replace("%", "%%")
    ordered: list[Any] = []
    pieces = text.split(marker)
    out = [pieces[0]]
    for piece in pieces[1:]:
        digits = len(piece) - len(piece.lstrip("0123456789"))
        index = int(piece[:digits])
        value = params[index]
        if index in limited:
            # LIMIT ? works with numbers (the reference's known issue quoted them).
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 0:
                raise GateError(f"LIMIT and OFFSET take whole numbers, not {value!r}.")
            value = int(value)
        ordered.append(value)
        out.append("%s" + piece[digits:])
    kind = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete"}.get(type(statement), "select")
    return Compiled(sql="".join(out), params=ordered, kind=kind)
