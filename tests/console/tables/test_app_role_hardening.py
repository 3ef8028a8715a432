"""Behind the gate, PostgreSQL itself refuses what an app role has no business doing (issue 10, item 7).

Every statement here runs directly as the app role on an app connection, bypassing the
K.query gate, the way SQL that got past it would arrive. What the role can still see or do
is pinned at the end, as docs/decisions.md describes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection

from console.apps import services as app_services
from console.apps.models import App
from console.tables import ddl, services
from console.tables.isolation import app_cursor, app_role, close_app_connections
from console.tables.models import Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

REPORTED = "WITH pg_settings AS (SELECT 1) UPDATE pg_settings SET setting = '0' WHERE name = 'statement_timeout'"


@pytest.fixture
def secrets_table(other_app: App, make_table: Callable[..., Table]) -> Table:
    table = make_table(other_app, "secrets", value="string")
    services.insert_record(table, {"value": "the other app's secret"})
    return table


def refused(app: App, statement: str, params: list[Any] | None = None) -> str:
    """The message PostgreSQL refuses `statement` with, run as the app role."""
    with pytest.raises(DatabaseError) as error:
        with app_cursor(app.pk) as cur:
            cur.execute(statement, params)
            rows = cur.fetchall() if cur.description else None
            pytest.fail(f"{statement} was allowed: {rows}")  # pragma: no cover
    return str(error.value)


def platform_value(query: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


# ── large objects: none can be made, so none can outlive the app ───────────────────


LARGE_OBJECTS = [
    "SELECT lo_create(0)",
    "SELECT lo_creat(-1)",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
    "SELECT lo_import('/etc/hostname')",
    "SELECT lo_put(0, 0, 'x'::bytea)",
]


def test_no_large_object_can_be_made(app: App, users: Table) -> None:
    messages = {statement: refused(app, statement) for statement in LARGE_OBJECTS}
    assert {s: "permission denied for function lo_" in m for s, m in messages.items()} == dict.fromkeys(
        LARGE_OBJECTS, True
    ), messages
    assert platform_value("SELECT count(*) FROM pg_largeobject_metadata") == 0


# ── locks and notifications shared by every app ────────────────────────────────────


ADVISORY_LOCKS = [
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_advisory_lock(1, 2)",
    "SELECT pg_try_advisory_lock(1)",
    "SELECT pg_advisory_xact_lock(1)",
    "SELECT pg_try_advisory_xact_lock(1)",
    "SELECT pg_advisory_lock_shared(1)",
    "SELECT pg_try_advisory_lock_shared(1)",
]


def test_no_advisory_lock_can_be_taken(app: App, users: Table) -> None:
    messages = {statement: refused(app, statement) for statement in ADVISORY_LOCKS}
    assert {s: "permission denied for function pg_" in m for s, m in messages.items()} == dict.fromkeys(
        ADVISORY_LOCKS, True
    ), messages
    assert platform_value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0


def test_pg_notify_is_refused(app: App, users: Table) -> None:
    assert "permission denied for function pg_notify" in refused(app, f"SELECT pg_notify('kiln_app_facts', '{app.pk}')")
    # The NOTIFY command needs no privilege in PostgreSQL: the app facts listener ignores
    # notifications from app sessions instead (tests/apimethods/test_app_facts_spoofing.py).


# ── settings and the role itself ───────────────────────────────────────────────────


def test_the_reported_statement_run_raw_cannot_change_a_setting(app: App, users: Table) -> None:
    assert "permission denied for view pg_settings" in refused(app, REPORTED)
    assert "permission denied for view pg_settings" in refused(
        app, "UPDATE pg_settings SET setting = '0' WHERE name = 'statement_timeout'"
    )
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT current_setting('statement_timeout')")
        assert cur.fetchone() == ("5s",)


ROLE_CHANGES = [
    "ALTER ROLE CURRENT_USER VALID UNTIL '2000-01-01'",
    "ALTER ROLE CURRENT_USER CONNECTION LIMIT 0",
    "ALTER ROLE CURRENT_USER NOLOGIN",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "ALTER ROLE CURRENT_USER CREATEROLE",
    "ALTER ROLE CURRENT_USER BYPASSRLS",
    'ALTER ROLE "{role}" RENAME TO kiln_pwned',
]


def test_the_role_cannot_change_its_own_attributes(app: App, users: Table) -> None:
    role = app_role(app.pk)
    messages = {change: refused(app, change.format(role=role)) for change in ROLE_CHANGES}
    assert {
        change: any(w in message for w in ("permission denied", "must be superuser", "cannot be renamed"))
        for change, message in messages.items()
    } == dict.fromkeys(ROLE_CHANGES, True), messages
    row = platform_value(
        "SELECT row(rolvaliduntil, rolconnlimit, rolcanlogin, rolsuper, rolcreaterole, rolbypassrls)::text"
        " FROM pg_roles WHERE rolname = %s",
        [role],
    )
    assert row == "(,-1,t,f,f,f)"


def test_defaults_the_role_sets_itself_are_overridden_by_the_connection(app: App, users: Table) -> None:
    # PostgreSQL lets any role set its own defaults; Kiln's start-up options win over them.
    with app_cursor(app.pk) as cur:
        cur.execute("ALTER ROLE CURRENT_USER SET search_path = public")
        cur.execute("ALTER ROLE CURRENT_USER SET statement_timeout = 0")
        cur.execute("ALTER ROLE CURRENT_USER SET TimeZone = 'Asia/Tokyo'")
        cur.execute("ALTER ROLE CURRENT_USER SET standard_conforming_strings = off")
        cur.execute("ALTER ROLE CURRENT_USER SET DateStyle = 'SQL, DMY'")
        cur.execute("ALTER ROLE CURRENT_USER SET bytea_output = escape")
        cur.execute(
            "DO $$BEGIN EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET statement_timeout = 0',"
            " current_database()); END$$"
        )
    close_app_connections(app.pk, every_thread=True)
    with app_cursor(app.pk) as cur:
        cur.execute(
            "SELECT current_setting('search_path'), current_setting('statement_timeout'), current_setting('TimeZone'),"
            " current_setting('standard_conforming_strings'), current_setting('DateStyle'),"
            " current_setting('bytea_output')"
        )
        assert cur.fetchone() == (f"app_{app.pk}", "5s", "UTC", "on", "ISO, MDY", "hex")


def test_repairing_the_login_wipes_what_the_role_set_itself(app: App, users: Table) -> None:
    # A changed password (PostgreSQL allows it) makes Kiln's own login fail; its repair
    # restores the password and drops every default the role gave itself.
    role = app_role(app.pk)
    with app_cursor(app.pk) as cur:
        cur.execute("ALTER ROLE CURRENT_USER PASSWORD 'chosen-by-the-app'")
        cur.execute("ALTER ROLE CURRENT_USER SET default_transaction_read_only = on")
        cur.execute(
            "DO $$BEGIN EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET work_mem = ''1GB''',"
            " current_database()); END$$"
        )
    count = "SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = %s"
    assert platform_value(count, [role]) == 2
    from console.tables.isolation import role_password

    with connection.cursor() as cur:
        cur.execute(ddl.allow_app_login(role, role_password(role)))
    assert platform_value(count, [role]) == 0
    assert platform_value("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = %s", [role]) is True


def test_no_temporary_table_can_be_made(app: App, users: Table) -> None:
    assert "permission denied to create temporary tables" in refused(app, "CREATE TEMP TABLE t (x int)")


# ── the catalogs ───────────────────────────────────────────────────────────────────

CATALOG_READS = [
    "SELECT nspname FROM pg_namespace",
    "SELECT relname, reltuples FROM pg_class",
    "SELECT attname FROM pg_attribute",
    "SELECT typname FROM pg_type",
    "SELECT proname, prosrc FROM pg_proc",
    "SELECT rolname FROM pg_roles",
    "SELECT usename FROM pg_user",
    "SELECT rolname FROM pg_authid",
    "SELECT * FROM pg_auth_members",
    "SELECT setconfig FROM pg_db_role_setting",
    "SELECT datname FROM pg_database",
    "SELECT usename, application_name FROM pg_stat_activity",
    "SELECT relname, n_live_tup FROM pg_stat_user_tables",
    "SELECT relname FROM pg_statio_all_tables",
    "SELECT schemaname, tablename FROM pg_tables",
    "SELECT indexdef FROM pg_indexes",
    "SELECT attname FROM pg_stats",
    "SELECT pid FROM pg_locks",
    "SELECT * FROM pg_largeobject_metadata",
    "SELECT description FROM pg_description",
]


def test_catalogs_that_describe_other_apps_cannot_be_read(app: App, users: Table, secrets_table: Table) -> None:
    messages = {statement: refused(app, statement) for statement in CATALOG_READS}
    assert {s: "permission denied for" in m for s, m in messages.items()} == dict.fromkeys(CATALOG_READS, True), (
        messages
    )


# {oid}: the other app's table; {index}: its primary key. The app role gets oids only by
# guessing (an oid is not a secret); names in another app's schema do not resolve for it.
CATALOG_FUNCTIONS = [
    "SELECT pg_stat_get_live_tuples({oid})",
    "SELECT pg_relation_size({oid})",
    "SELECT pg_total_relation_size({oid})",
    "SELECT pg_get_indexdef({index})",
    "SELECT obj_description({oid})",
    "SELECT to_regclass('pg_class')",
    "SELECT pg_get_userbyid(10)",
    "SELECT pg_stat_get_activity(NULL)",
    "SELECT pg_blocking_pids(1)",
]


def test_functions_that_describe_other_apps_objects_are_refused(
    app: App, users: Table, secrets_table: Table, other_app: App
) -> None:
    oid = platform_value("SELECT %s::regclass::oid", [f"app_{other_app.pk}.secrets"])
    index = platform_value("SELECT %s::regclass::oid", [f"app_{other_app.pk}.secrets_pkey"])
    messages = {f: refused(app, f.format(oid=int(oid), index=int(index))) for f in CATALOG_FUNCTIONS}
    assert {f: "permission denied for function" in m for f, m in messages.items()} == dict.fromkeys(
        CATALOG_FUNCTIONS, True
    ), messages


def test_what_an_app_role_can_still_see(app: App, users: Table, secrets_table: Table, other_app: App) -> None:
    # PostgreSQL checks no privilege when an oid becomes a name (the reg* types), so names of
    # schemas, tables and roles stay discoverable by trying oids — never columns, rows,
    # sizes or counts. A name in another app's schema does not even resolve. The session's
    # own settings and prepared statements stay readable.
    oid = platform_value("SELECT %s::regclass::oid", [f"app_{other_app.pk}.secrets"])
    with app_cursor(app.pk) as cur:
        cur.execute(f"SELECT {int(oid)}::regclass::text, 10::regrole::text")
        assert cur.fetchone() == (
            f"app_{other_app.pk}.secrets",
            platform_value("SELECT rolname FROM pg_authid WHERE oid = 10"),
        )
        cur.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
        assert cur.fetchone() == ("5000",)
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone() is not None
    assert f"permission denied for schema app_{other_app.pk}" in refused(
        app, f"SELECT 'app_{other_app.pk}.secrets'::regclass"
    )
    assert f"permission denied for schema app_{other_app.pk}" in refused(
        app, f"SELECT * FROM app_{other_app.pk}.secrets"
    )


def test_the_platform_still_reads_the_catalogs_and_the_apps_own_work_goes_on(app: App, users: Table) -> None:
    from console.tables import queries

    services.insert_record(users, {"name": "ann", "age": 3})
    assert queries.record_count(users) == (1, True)  # its estimate comes from pg_class, on the platform's side
    with app_cursor(app.pk) as cur:
        cur.execute('INSERT INTO users (name) VALUES (%s) RETURNING "userID"', ["bo"])
        assert cur.fetchone() == (2,)
        cur.execute("UPDATE users SET age = 4 WHERE name = 'bo'")
        cur.execute('SELECT name, age, "timeUpdated" >= "timeCreated" FROM users ORDER BY 1')
        assert cur.fetchall() == [("ann", 3, True), ("bo", 4, True)]


# ── deleting an app always works ───────────────────────────────────────────────────


def test_deleting_an_app_works_whatever_its_role_left_behind_or_still_holds(app: App, users: Table) -> None:
    schema, role = ddl.schema_name(app.pk), app_role(app.pk)
    # What an app role could leave before migration 0003: a large object of its own and a
    # temporary table in a session still open; and what it can still do: its own defaults.
    with connection.cursor() as cur:
        cur.execute("SELECT lo_from_bytea(0, 'left behind'::bytea)")
        orphan = cur.fetchone()[0]
        cur.execute(f'ALTER LARGE OBJECT {int(orphan)} OWNER TO "{role}"')
        cur.execute("SELECT current_database()")
        database = cur.fetchone()[0]
        cur.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO "{role}"')
    with app_cursor(app.pk) as cur:
        cur.execute("CREATE TEMP TABLE kept (x int)")
        cur.execute("ALTER ROLE CURRENT_USER SET work_mem = '64MB'")
    # Another process's connection of the app, in the middle of a transaction on its table.
    params = dict(connection.get_connection_params())
    params.pop("context", None)
    from console.tables.isolation import role_password

    params.update(user=role, password=role_password(role), options=f"-c search_path={schema}")
    busy = psycopg.Connection.connect(**params)
    busy.execute("SELECT count(*) FROM users")  # holds its lock until the transaction ends
    try:
        with connection.cursor() as cur:
            cur.execute("SET lock_timeout = '10s'")  # a stalled deletion fails the test instead of hanging it
        app_services.delete_app(App.objects.get(pk=app.pk))
        with connection.cursor() as cur:
            cur.execute("RESET lock_timeout")
    finally:
        busy.close()
    assert not App.objects.filter(pk=app.pk).exists()
    assert (
        platform_value(
            "SELECT row(EXISTS (SELECT FROM pg_namespace WHERE nspname = %s), EXISTS (SELECT FROM pg_roles WHERE rolname = %s),"
            " EXISTS (SELECT FROM pg_largeobject_metadata WHERE oid = %s))::text",
            [schema, role, orphan],
        )
        == "(f,f,f)"
    )
