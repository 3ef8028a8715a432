"""The gate every piece of user-written SQL (K.query) passes before it runs.

It parses MySQL-dialect SQL with sqlglot and admits exactly one SELECT / INSERT /
UPDATE / DELETE (or a UNION of SELECTs) that names only the app's own table aliases,
calls only allowlisted functions and has no SET/RESET, transaction control, COPY,
DO/CALL, variables or SELECT INTO. It then rewrites aliases to schema-qualified tables,
column names to their real camelCase spelling, and writes PostgreSQL with `%s`
placeholders in the order the parameters must be bound. Run the result with
isolation.run_user_sql, which also runs it as the app's role.

Table names are resolved scope by scope, as PostgreSQL resolves them: a WITH query's
name is seen by its own statement (sub-queries included) and by the later queries of
the same WITH — by all of them, itself included, under WITH RECURSIVE — and never by
the target of an INSERT, UPDATE or DELETE. Every other name must be one of the app's
aliases. WITH queries are renamed `kiln_cte_<n>`, so what PostgreSQL runs names only
relations of the app's schema and WITH queries of the gate's own naming: no name the
user wrote can reach a catalog, whatever PostgreSQL makes of the scopes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.dialects.postgres import Postgres
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


CTE_PREFIX = "kiln_cte_"
DML = (exp.Insert, exp.Update, exp.Delete)


class _Postgres(Postgres):
    """PostgreSQL whose string literals mean the same whatever standard_conforming_strings says."""

    class Generator(Postgres.Generator):
        def literal_sql(self, expression: exp.Literal) -> str:
            # TRICKY: '...' reads a backslash as an escape when standard_conforming_strings
            # is off, so `'a\'` written for "on" would end the literal elsewhere. E'...' always
            # reads escapes: with the backslashes doubled, it means one thing either way.
            text = expression.this or ""
            if expression.is_string and "\\" in text:
                return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
            return super().literal_sql(expression)


_POSTGRES = _Postgres()


class GateError(ValueError):
    """User SQL the gate refuses; the message says why and is safe to show the user."""


@dataclass(frozen=True)
class GateTable:
    """One of the app's tables as the gate sees it: its alias, real name and columns."""

    alias: str
    table: str
    columns: Sequence[str]
    # False for an alias the table had before a rename (still accepted; not suggested).
    current: bool = True


def alias_hint(name: str, tables: Iterable[GateTable]) -> str:
    """When `name` is a table's name rather than its alias (`pets` for `1_1_pets`, what a
    newcomer writes first), a sentence naming the alias to use; otherwise ''."""
    wanted = str(name).lower()
    for table in tables:
        if table.current and table.table.lower() == wanted:
            return f" The table {table.table} has the alias {table.alias}: use that."
    return ""


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
    except RecursionError:  # sqlglot's parser recurses once per level of nesting
        raise GateError("This SQL is nested too deeply.") from None
    if len(statements) != 1:
        raise GateError("Send one statement at a time.")
    statement = statements[0]
    if not isinstance(statement, STATEMENTS):
        raise GateError("Only SELECT, INSERT, UPDATE and DELETE statements may run.")
    if isinstance(statement, exp.Union) and not all(
        isinstance(s.unnest() if isinstance(s, exp.Subquery) else s, exp.Select | exp.Union)
        for s in (statement.this, statement.expression)
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
        if isinstance(node, DML) and node is not statement:
            raise GateError("INSERT, UPDATE and DELETE cannot be nested in another statement.")
        if isinstance(node, exp.Dot) and _is_function(node.expression):
            raise GateError("Call functions by their name only, without a schema.")
        if isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
            raise GateError(f"Name fields as field or table.field; {node.sql('mysql')} is neither.")
    columns = _rewrite_tables(statement, tables, schema)
    _rewrite_columns(statement, columns)
    return _generate(statement, params, count)


def _targets(statement: exp.Expression) -> set[int]:
    """The tables an INSERT, UPDATE or DELETE writes to (by id): PostgreSQL never reads
    these names as WITH queries, so neither does the gate."""
    if not isinstance(statement, DML):
        return set()
    written = [statement.this, *(statement.args.get("tables") or [])]  # tables: MySQL's DELETE t1, t2 FROM
    if isinstance(statement, exp.Insert) and isinstance(statement.this, exp.Schema):
        written[0] = statement.this.this  # INSERT INTO t (a, b)
    if not all(isinstance(table, exp.Table) for table in written):
        raise GateError(f"{statement.key.upper()} writes to one of this app's tables only.")
    return {id(table) for table in written}


def _rewrite_tables(statement: exp.Expression, tables: dict[str, GateTable], schema: str) -> dict[str, str]:
    """Every table name, resolved in its scope: a visible WITH query → its `kiln_cte_<n>`,
    anything else → the alias's schema.table (keeping the alias as its name in the query).

    Returns the app's columns seen, lower-cased name → real name.
    """
    targets = _targets(statement)
    columns: dict[str, str] = {}
    numbered = 0
    # TRICKY: iterative, with the names visible at each node carried along, because a
    # statement may nest deeper than Python's recursion limit allows.
    stack: list[tuple[exp.Expression, dict[str, str]]] = [(statement, {})]
    while stack:
        node, visible = stack.pop()
        children = list(node.iter_expressions())
        with_ = next((child for child in children if isinstance(child, exp.With)), None)
        if with_ is not None:
            children.remove(with_)
            own: dict[str, str] = {}
            for cte in with_.expressions:
                name = cte.alias.lower()
                if name in own:
                    raise GateError(f"The WITH query name {cte.alias} is used twice.")
                own[name] = f"{CTE_PREFIX}{numbered}"
                numbered += 1
            recursive = bool(with_.args.get("recursive"))
            earlier = dict(visible)
            for cte in with_.expressions:
                name = cte.alias.lower()
                # A WITH query sees the ones before it; under RECURSIVE every one of them.
                stack.append((cte.this, {**visible, **own} if recursive else dict(earlier)))
                earlier[name] = own[name]
                cte.args["alias"].set("this", exp.to_identifier(own[name], quoted=True))
            visible = {**visible, **own}
        if isinstance(node, exp.Table):
            _rewrite_table(node, visible, id(node) in targets, tables, schema, columns)
        elif isinstance(node, exp.TableAlias) and isinstance(node.this, exp.Identifier):
            # Qualifiers are lower-cased (_rewrite_columns), so are the names they refer to.
            node.set("this", exp.to_identifier(node.this.name.lower(), quoted=True))
        stack.extend((child, visible) for child in children)
    return columns


def _rewrite_table(
    node: exp.Table,
    visible: dict[str, str],
    target: bool,
    tables: dict[str, GateTable],
    schema: str,
    columns: dict[str, str],
) -> None:
    # Changed in place: joins hang on the table (MySQL's UPDATE t1 JOIN t2, USING t1 JOIN t2).
    if node.args.get("db") or node.args.get("catalog"):
        raise GateError(f"Name tables by their alias only; {node.sql('mysql')} is not one of this app's tables.")
    if not isinstance(node.this, exp.Identifier):
        raise GateError(f"Only this app's tables can be read from; {node.sql('mysql')} is not one of them.")
    name = node.name
    alias = node.args.get("alias")
    if not target and name.lower() in visible:
        node.set("this", exp.to_identifier(visible[name.lower()], quoted=True))
        if alias is None:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(name.lower(), quoted=True)))
        return
    table = tables.get(name.lower())
    if table is None:
        raise GateError(f"{name} is not one of this app's table aliases.{alias_hint(name, tables.values())}")
    for column in table.columns:
        columns.setdefault(column.lower(), column)
    node.set("this", exp.to_identifier(table.table, quoted=True))
    node.set("db", exp.to_identifier(schema, quoted=True))
    if alias is None and not isinstance(node.parent, exp.Schema | exp.Insert):
        node.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias.lower(), quoted=True)))


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
        text = statement.sql(dialect=_POSTGRES, identify=True)
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
