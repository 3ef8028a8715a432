"""Pure functions that write the SQL for an app's schema, role, tables, fields and indexes.

Nothing here touches a database: every function returns `psycopg.sql.Composed`.
Identifiers pass `check_identifier` (the one validator) and are quoted by psycopg;
values never appear in the text — callers bind them as parameters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from psycopg import sql

# Field types as stored in metadata, and the PostgreSQL type of each.
COLUMN_TYPES: dict[str, str] = {
    "string": "varchar(255)",
    "text": "text",
    "integer": "bigint",
    "float": "double precision",
    "boolean": "boolean",
    "datetime": "timestamptz",
    "data": "bytea",
    "belongs_to": "bigint",
}
ON_DELETE_SQL: dict[str, str] = {"cascade": "CASCADE", "set_empty": "SET NULL", "prevent": "RESTRICT"}
MAGIC_FIELDS = ("timeCreated", "timeUpdated")
TOUCH_FUNCTION = "kiln_touch_time_updated"

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
MAX_IDENTIFIER_LENGTH = 60

# Words PostgreSQL or MySQL reserve (or that read badly as names); compared lower-cased.
RESERVED_WORDS = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization between bigint binary
    both case cast check collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time current_timestamp
    current_user default deferrable delete desc distinct do drop else end except exists
    false fetch for foreign freeze from full grant group having ilike in index initially
    inner insert intersect into is isnull join key lateral leading left like limit
    localtime localtimestamp match natural not notnull null offset on only or order outer
    overlaps placing primary references returning right row select session_user set
    similar some symmetric system_user table tablesample then to trailing true union unique
    update user using values variadic verbose when where window with interval load lock
    range rows read replace require schema return signal sql table trigger use usage
    """.split()
)


class InvalidIdentifier(ValueError):
    """A name that cannot be a table or field name; the message says why."""


def check_identifier(name: object, kind: str = "name") -> str:
    """Return `name` if it can name a table, field or index; raise InvalidIdentifier if not."""
    if not isinstance(name, str) or not name:
        raise InvalidIdentifier(f"Give the {kind} a name.")
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise InvalidIdentifier(f"Keep the {kind} to {MAX_IDENTIFIER_LENGTH} characters or fewer.")
    if not _IDENTIFIER.match(name):
        raise InvalidIdentifier(
            f"{name!r} is not a valid {kind}: start with a letter and use only letters, digits and _."
        )
    if name.lower() in RESERVED_WORDS:
        raise InvalidIdentifier(f"{name!r} is a reserved SQL word; choose another {kind}.")
    return name


def singular(plural: str) -> str:
    """The singular of a plural table name: users→user, companies→company, boxes→box."""
    lowered = plural.lower()
    if lowered.endswith("ies") and len(plural) > 3:
        return plural[:-3] + ("Y" if plural[-3].isupper() else "y")
    if re.search(r"(ss|x|ch|sh|zz)es\Z", lowered):
        return plural[:-2]
    if lowered.endswith(("us", "is")):  # status, analysis: already singular
        return plural
    if lowered.endswith("s") and not lowered.endswith("ss") and len(plural) > 1:
        return plural[:-1]
    return plural


def id_field_name(table_name: str) -> str:
    return singular(table_name) + "ID"


def schema_name(app_id: int) -> str:
    return f"app_{int(app_id)}"


def role_name(app_id: int, database: str) -> str:
    # TRICKY: roles are cluster-wide while schemas are per database; the hash keeps two
    # databases on one server (parallel test databases, staging beside production) apart.
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    return f"kiln_{digest}_app_{int(app_id)}"


@dataclass(frozen=True)
class Relation:
    table: str  # the target table's name in the same schema
    id_field: str  # the target's ID column
    on_delete: str  # a key of ON_DELETE_SQL


def _qualified(schema: str, name: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(check_identifier(schema, "schema")), sql.Identifier(name))


def _column_type(field_type: str) -> sql.SQL:
    if field_type not in COLUMN_TYPES:
        raise ValueError(f"unknown field type {field_type!r}")
    return sql.SQL(COLUMN_TYPES[field_type])


def create_app_space(schema: str, role: str, password: str) -> sql.Composed:
    """The app's login role (no inherited rights, no powers) and its schema, reachable by it only.

    The role logs in itself: app SQL runs on a connection whose session user is this
    role, so there is no other identity for it to switch to (see isolation.py).
    """
    s, r = sql.Identifier(check_identifier(schema, "schema")), sql.Identifier(check_identifier(role, "role"))
    return sql.SQL(";\n").join(
        [
            sql.SQL(
                "CREATE ROLE {} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD {}"
            ).format(r, _password(password)),
            sql.SQL("CREATE SCHEMA {}").format(s),
            sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(s),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
            sql.SQL(
                "CREATE FUNCTION {}.{}() RETURNS trigger LANGUAGE plpgsql AS "
                '$$BEGIN NEW."timeUpdated" := now(); RETURN NEW; END$$'
            ).format(s, sql.Identifier(TOUCH_FUNCTION)),
        ]
    )


def allow_app_login(role: str, password: str) -> sql.Composed:
    """Let an existing app role log in with `password` (older NOLOGIN roles, a changed SECRET_KEY)
    and drop the defaults it may have set itself.

    PostgreSQL lets every role change its own password and session defaults (`ALTER ROLE
    CURRENT_USER PASSWORD …`, `… SET …`, `… IN DATABASE … SET …`); a login refused for
    that is repaired here, and the repair wipes whatever else it set.
    """
    r = sql.Identifier(check_identifier(role, "role"))
    return sql.SQL(";\n").join(
        [
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(r, _password(password)),
            sql.SQL("ALTER ROLE {} RESET ALL").format(r),
            # The current database's name is known only to the server.
            sql.SQL(
                "DO $kiln$BEGIN EXECUTE format('ALTER ROLE %I IN DATABASE %I RESET ALL', {}, current_database()); END$kiln$"
            ).format(sql.Literal(role)),
        ]
    )


def _password(password: str) -> sql.Composable:
    # TRICKY: CREATE/ALTER ROLE take no bind parameters; the password is our own HMAC hex
    # digest (isolation.role_password), checked here, and quoted by psycopg all the same.
    if not re.fullmatch(r"[0-9a-f]{32,128}", password):
        raise ValueError("an app role password is a hex digest")
    return sql.Literal(password)


def drop_app_space(schema: str, role: str) -> sql.Composed:
    """Drop the app's schema and role, whatever the role did or still does.

    Its sessions are ended first (a lock one of them holds would stall the DROP SCHEMA);
    DROP OWNED then takes what it may own outside the schema (large objects or temporary
    tables made before migration 0003 took those rights away), without which DROP ROLE fails.
    """
    check_identifier(role, "role")
    s, r = sql.Identifier(check_identifier(schema, "schema")), sql.Identifier(role)
    return sql.SQL(";\n").join(
        [
            # Only sessions the platform may signal: a failed signal would end the deletion.
            sql.SQL(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE usename = {} AND pid <> pg_backend_pid() AND pg_has_role(usesysid, 'USAGE')"
            ).format(sql.Literal(role)),
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(s),
            sql.SQL(
                "DO $kiln$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = {}) THEN DROP OWNED BY {}; END IF; END$kiln$"
            ).format(sql.Literal(role), r),
            sql.SQL("DROP ROLE IF EXISTS {}").format(r),
        ]
    )


def create_table(schema: str, table: str, role: str) -> sql.Composed:
    """A table with its ID column and the two magic time columns kept by the database."""
    check_identifier(table, "table name")
    qualified = _qualified(schema, table)
    return sql.SQL(";\n").join(
        [
            sql.SQL(
                "CREATE TABLE {} ({} bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                '"timeCreated" timestamptz NOT NULL DEFAULT now(), '
                '"timeUpdated" timestamptz NOT NULL DEFAULT now())'
            ).format(qualified, sql.Identifier(id_field_name(table))),
            sql.SQL("CREATE TRIGGER {} BEFORE UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}.{}()").format(
                sql.Identifier("touch_time_updated"),
                qualified,
                sql.Identifier(schema),
                sql.Identifier(TOUCH_FUNCTION),
            ),
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
                qualified, sql.Identifier(check_identifier(role, "role"))
            ),
        ]
    )


def rename_table(schema: str, old: str, new: str) -> sql.Composed:
    """Rename the table and its ID column (users→people also makes userID personID)."""
    check_identifier(new, "table name")
    statements = [sql.SQL("ALTER TABLE {} RENAME TO {}").format(_qualified(schema, old), sql.Identifier(new))]
    if id_field_name(old) != id_field_name(new):
        statements.append(
            sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                _qualified(schema, new), sql.Identifier(id_field_name(old)), sql.Identifier(id_field_name(new))
            )
        )
    return sql.SQL(";\n").join(statements)


def drop_table(schema: str, table: str) -> sql.Composed:
    # CASCADE removes only the foreign keys of tables that belonged to this one; services
    # turn those fields into plain Integer fields first.
    return sql.SQL("DROP TABLE {} CASCADE").format(_qualified(schema, table))


def add_column(schema: str, table: str, column: str, field_type: str, relation: Relation | None = None) -> sql.Composed:
    check_identifier(column, "field name")
    qualified = _qualified(schema, table)
    definition = sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
        qualified, sql.Identifier(column), _column_type(field_type)
    )
    if field_type != "belongs_to":
        return definition
    if relation is None:
        raise ValueError("a Belongs To field needs a relation")
    return sql.SQL(";\n").join(
        [
            sql.SQL("{} REFERENCES {} ({}) ON DELETE {}").format(
                definition,
                _qualified(schema, relation.table),
                sql.Identifier(relation.id_field),
                sql.SQL(ON_DELETE_SQL[relation.on_delete]),
            ),
            # Children are found by their parent on every cascade and every "has many".
            sql.SQL("CREATE INDEX ON {} ({})").format(qualified, sql.Identifier(column)),
        ]
    )


def rename_column(schema: str, table: str, old: str, new: str) -> sql.Composed:
    check_identifier(new, "field name")
    return sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
        _qualified(schema, table), sql.Identifier(old), sql.Identifier(new)
    )


def _conversion(column: str, old: str, new: str) -> sql.Composable:
    """How each value of type `old` becomes a value of type `new` (errors stop the change)."""
    return _convert(sql.Identifier(column), old, new)


def _convert(c: sql.Composable, old: str, new: str) -> sql.Composable:
    """`_conversion` of any expression (a column, or a conversion to go back through)."""
    if new == "datetime" and old in {"integer", "float"}:
        return sql.SQL("to_timestamp({})").format(c)
    if new == "datetime" and old in {"string", "text"}:
        return sql.SQL("to_timestamp(({})::double precision)").format(c)
    if old == "datetime" and new in {"integer", "float", "string", "text"}:
        return sql.SQL("floor(extract(epoch FROM {}))::{}").format(
            c, sql.SQL("bigint" if new == "integer" else COLUMN_TYPES[new])
        )
    if new == "boolean" and old in {"integer", "float"}:
        return sql.SQL("({} <> 0)").format(c)
    if old == "boolean" and new in {"integer", "float"}:
        return sql.SQL("({})::integer::{}").format(c, _column_type(new))
    if new == "data":
        text = c if old in {"string", "text"} else sql.SQL("({})::text").format(c)
        return sql.SQL("convert_to({}, 'UTF8')").format(text)
    if old == "data":
        return sql.SQL("convert_from({}, 'UTF8')::{}").format(c, _column_type(new))
    if old in {"integer", "float", "boolean"} and new == "string":
        return sql.SQL("({})::text").format(c)
    if new == "string":
        # An explicit cast to varchar(255) would cut long values silently; assigning text
        # to the column instead fails on a value that is too long.
        return sql.SQL("({})::text").format(c)
    return sql.SQL("({})::{}").format(c, _column_type(new))


def type_change_effect(schema: str, table: str, id_field: str, column: str, old: str, new: str) -> sql.Composed:
    """What changing a column's type would do to its values, without changing anything.

    A value *changes* when converting it and back does not give it again (4.75 → 5 → 5.0;
    " 12" → 12 → "12"); a conversion that fails makes the statement fail on the first
    such value, as the change itself would. Rows: (changed, too_long, [[id, old, new], ...]
    of the first few changing values, as text).
    """
    c = sql.Identifier(column)
    forward = _convert(c, old, new)
    back = _convert(sql.SQL("({})").format(forward), new, old)
    too_long = sql.SQL("length({}) > 255").format(forward) if new == "string" else sql.SQL("false")
    return sql.SQL(
        "SELECT count(*) FILTER (WHERE {back} IS DISTINCT FROM {c}),"
        " count(*) FILTER (WHERE {too_long}),"
        " (SELECT coalesce(json_agg(json_build_array(x.i, x.o, x.n)), '[]') FROM"
        "  (SELECT {i} AS i, {c}::text AS o, ({forward})::text AS n FROM {t}"
        "   WHERE {c} IS NOT NULL AND {back} IS DISTINCT FROM {c} ORDER BY {i} LIMIT 3) AS x)"
        " FROM {t} WHERE {c} IS NOT NULL"
    ).format(
        back=back, c=c, too_long=too_long, i=sql.Identifier(id_field), forward=forward, t=_qualified(schema, table)
    )


def change_column_type(schema: str, table: str, column: str, old: str, new: str) -> sql.Composed:
    if "belongs_to" in (old, new):
        raise ValueError("Belongs To fields cannot change type")
    return sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}").format(
        _qualified(schema, table), sql.Identifier(column), _column_type(new), _conversion(column, old, new)
    )


def drop_column(schema: str, table: str, column: str) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(_qualified(schema, table), sql.Identifier(column))


def foreign_keys_of_column() -> sql.Composed:
    """Names of the foreign keys on one column; parameters: schema, table, column."""
    return sql.Composed(
        [
            sql.SQL(
                "SELECT c.conname FROM pg_constraint c"
                " JOIN pg_class t ON t.oid = c.conrelid"
                " JOIN pg_namespace n ON n.oid = t.relnamespace"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(c.conkey)"
                " WHERE c.contype = 'f' AND n.nspname = %s AND t.relname = %s AND a.attname = %s"
            )
        ]
    )


def replace_foreign_key(schema: str, table: str, column: str, constraint: str, relation: Relation) -> sql.Composed:
    """The column's foreign key again with another ON DELETE rule (one statement, one lock)."""
    return sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}, ADD FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}").format(
        _qualified(schema, table),
        sql.Identifier(constraint),
        sql.Identifier(column),
        _qualified(schema, relation.table),
        sql.Identifier(relation.id_field),
        sql.SQL(ON_DELETE_SQL[relation.on_delete]),
    )


def drop_foreign_key(schema: str, table: str, column: str, constraint: str) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(_qualified(schema, table), sql.Identifier(constraint))


def create_index(schema: str, table: str, index: str, columns: list[str], *, unique: bool = False) -> sql.Composed:
    if not columns:
        raise ValueError("an index needs at least one field")
    return sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})" if unique else "CREATE INDEX {} ON {} ({})").format(
        sql.Identifier(check_identifier(index, "index name")),
        _qualified(schema, table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )


def drop_index(schema: str, index: str) -> sql.Composed:
    return sql.SQL("DROP INDEX {}").format(_qualified(schema, index))


def index_name(table_number: int, columns: list[str], *, unique: bool = False) -> str:
    digest = hashlib.sha256("\0".join(columns).encode()).hexdigest()[:10]
    return f"t{int(table_number)}_{'ux' if unique else 'ix'}_{digest}"


def list_indexes() -> sql.Composed:
    """Every index of a schema's tables but the primary keys, with its columns in order.

    Parameters: schema. Rows: (table, index, [column, ...]).
    """
    return sql.Composed(
        [
            sql.SQL(
                "SELECT t.relname, i.relname, array_agg(a.attname::text ORDER BY k.ord)"
                " FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " JOIN pg_namespace n ON n.oid = t.relnamespace"
                " CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
                " WHERE n.nspname = %s AND NOT x.indisprimary"
                " GROUP BY t.relname, i.relname ORDER BY t.relname, i.relname"
            )
        ]
    )
