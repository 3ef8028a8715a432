"""Take from PUBLIC — and so from every app role — what PostgreSQL grants every role by
default and an app has no use for (issue 10, item 7; docs/decisions.md, "Tables and data
isolation"):

- reading the catalogs: every relation and view of pg_catalog but a few that show only the
  session's own state (other apps' schema, table and column names, row counts and
  estimates, role names and settings, other sessions); writing pg_settings;
- functions that create or touch large objects (which would outlive the app's schema and
  once made deleting the app fail), take advisory locks, send notifications (pg_notify;
  the NOTIFY command itself cannot be revoked), read statistics, sizes, definitions and
  descriptions of objects by oid, or list locks and the pids holding them;
- TEMPORARY on the database (temporary tables live outside the app's schema) and CREATE on
  the public schema (PostgreSQL 15 and later no longer grant it).

Only a superuser can change privileges of pg_catalog's objects. Run by anyone else this
changes nothing and says so in a warning; the K.query gate still refuses all of it.
The database owner, when it is not a superuser, is granted back what PUBLIC loses, as the
platform may connect as the owner. Reversed from pg_init_privs, PostgreSQL's record of
the privileges initdb gave.
"""

import logging

from django.db import migrations
from psycopg import sql

logger = logging.getLogger(__name__)

# Views of pg_catalog that show only the session's own state (or plain reference data).
SESSION_VIEWS = ["pg_settings", "pg_prepared_statements", "pg_cursors", "pg_timezone_names", "pg_timezone_abbrevs"]
FUNCTION_PATTERNS = [
    r"lo\_%",
    r"pg\_advisory\_%",
    r"pg\_try\_advisory\_%",
    r"pg\_stat\_%",
    r"pg\_get\_%",
    r"to\_reg%",
    r"pg\_partition\_%",
    r"pg\_identify\_object%",
]
FUNCTION_NAMES = [
    "loread",
    "lowrite",
    "pg_notify",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_table_size",
    "pg_indexes_size",
    "pg_relation_filenode",
    "pg_relation_filepath",
    "pg_filenode_relation",
    "pg_database_size",
    "pg_tablespace_size",
    "pg_tablespace_databases",
    "pg_tablespace_location",
    "obj_description",
    "col_description",
    "shobj_description",
    "pg_describe_object",
    "pg_lock_status",
    "pg_blocking_pids",
    "pg_safe_snapshot_blocking_pids",
    "pg_prepared_xact",
]

# (kind, object, privilege) granted to PUBLIC, now (acl) or as initdb left it (initprivs).
_CHOSEN = """
SELECT 'TABLE', c.oid::regclass::text, a.privilege_type
  FROM pg_class c CROSS JOIN LATERAL aclexplode({acl}) a
 WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind IN ('r', 'v', 'm') AND a.grantee = 0
   AND NOT (c.relname = ANY(%(views)s) AND a.privilege_type = 'SELECT')
UNION ALL
SELECT 'FUNCTION', p.oid::regprocedure::text, a.privilege_type
  FROM pg_proc p CROSS JOIN LATERAL aclexplode({proacl}) a
 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND a.grantee = 0
   AND (p.proname LIKE ANY(%(patterns)s) OR p.proname = ANY(%(names)s))
ORDER BY 1, 2, 3
"""
_NOW = _CHOSEN.format(acl="c.relacl", proacl="coalesce(p.proacl, acldefault('f', p.proowner))")
_INITDB = _CHOSEN.format(
    acl="(SELECT i.initprivs FROM pg_init_privs i WHERE i.objoid = c.oid AND i.classoid = 'pg_class'::regclass"
    " AND i.objsubid = 0)",
    proacl="coalesce((SELECT i.initprivs FROM pg_init_privs i WHERE i.objoid = p.oid"
    " AND i.classoid = 'pg_proc'::regclass), acldefault('f', p.proowner))",
)
_PARAMS = {"views": SESSION_VIEWS, "patterns": FUNCTION_PATTERNS, "names": FUNCTION_NAMES}


def _superuser(cursor) -> bool:  # type: ignore[no-untyped-def]
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(cursor.fetchone()[0])


def _owner(cursor) -> str | None:  # type: ignore[no-untyped-def]
    """The database owner, when it is not a superuser (a superuser needs no grants)."""
    cursor.execute(
        "SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba"
        " WHERE d.datname = current_database() AND NOT r.rolsuper"
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _database(cursor) -> sql.Identifier:  # type: ignore[no-untyped-def]
    cursor.execute("SELECT current_database()")
    return sql.Identifier(cursor.fetchone()[0])


def _statements(rows, verb: str, grantee: sql.Composable):  # type: ignore[no-untyped-def]
    preposition = sql.SQL("TO" if verb == "GRANT" else "FROM")
    for kind, name, privilege in rows:
        # TRICKY: regclass and regprocedure text are already quoted, valid SQL names.
        yield sql.SQL("{} {} ON {} {} {} {}").format(
            sql.SQL(verb), sql.SQL(privilege), sql.SQL(kind), sql.SQL(name), preposition, grantee
        )


def harden(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        if not _superuser(cursor):
            logger.warning("Not a superuser: PUBLIC keeps its default privileges on the catalogs (see migration 0003).")
            return
        cursor.execute(_NOW, _PARAMS)
        rows = cursor.fetchall()
        owner = _owner(cursor)
        for statement in _statements(rows, "REVOKE", sql.SQL("PUBLIC")):
            cursor.execute(statement)
        if owner is not None:
            for statement in _statements(rows, "GRANT", sql.Identifier(owner)):
                cursor.execute(statement)
        cursor.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(_database(cursor)))
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def restore(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    with schema_editor.connection.cursor() as cursor:
        if not _superuser(cursor):
            return
        cursor.execute(_INITDB, _PARAMS)
        for statement in _statements(cursor.fetchall(), "GRANT", sql.SQL("PUBLIC")):
            cursor.execute(statement)
        cursor.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO PUBLIC").format(_database(cursor)))


class Migration(migrations.Migration):
    dependencies = [("kiln_tables", "0002_tablesequence_schema_version")]

    operations = [migrations.RunPython(harden, restore)]
