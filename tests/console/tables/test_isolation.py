"""An app's SQL runs as its own role in its own schema: every way out is refused.

These run raw SQL under `isolation.app_cursor`, without the statement gate, so they
prove what PostgreSQL itself enforces. The gate's own refusals are in test_sqlgate.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection

from console.apps import services as app_services
from console.apps.models import App
from console.tables import ddl, services
from console.tables.isolation import app_cursor, app_role, close_app_connections
from console.tables.models import Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def secrets_table(other_app: App, make_table: Callable[..., Table]) -> Table:
    table = make_table(other_app, "secrets", value="string")
    services.insert_record(table, {"value": "the other app's secret"})
    return table


def test_app_sql_runs_as_the_app_role_in_the_app_schema(app: App, users: Table) -> None:
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT session_user, current_user, current_schemas(false), current_setting('statement_timeout')")
        assert cur.fetchone() == (app_role(app.pk), app_role(app.pk), [f"app_{app.pk}"], "5s")
        cur.execute('INSERT INTO users (name) VALUES (%s) RETURNING "userID"', ["ann"])
        assert cur.fetchone()[0] == 1


def test_leaving_the_app_cursor_restores_the_platform_identity(app: App, users: Table) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT current_user, current_setting('search_path'), current_setting('statement_timeout')")
        before = cur.fetchone()
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT 1")
    with connection.cursor() as cur:
        cur.execute("SELECT current_user, current_setting('search_path'), current_setting('statement_timeout')")
        assert cur.fetchone() == before


ATTACKS = {
    "another app's table": "SELECT * FROM app_{other}.secrets",
    "Kiln's user table": "SELECT * FROM public.auth_user",
    "Kiln's app table with keys": "SELECT secret_key FROM public.kiln_apps_app",
    "a server file": "SELECT pg_read_file('/etc/passwd')",
    "a server file as bytes": "SELECT pg_read_binary_file('/etc/passwd')",
    "a directory listing": "SELECT pg_ls_dir('.')",
    "switching to the superuser": "SET ROLE postgres",
    "switching to the session user": "SET ROLE NONE; SELECT * FROM public.auth_user",
    "switching to the other app": "SET ROLE {other_role}",
    "set_config role": "SELECT set_config('role', 'postgres', true)",
    "set_config role to the other app": "SELECT set_config('role', '{other_role_name}', true)",
    "reset role, then read": "RESET ROLE; SELECT * FROM public.auth_user",
    "reset session authorization, then read Kiln's users": "RESET SESSION AUTHORIZATION; SELECT * FROM public.auth_user",
    "reset session authorization, then read the other app": "RESET SESSION AUTHORIZATION; SELECT * FROM app_{other}.secrets",
    "reset everything, then read Kiln's users": "RESET ALL; RESET SESSION AUTHORIZATION; RESET ROLE; SELECT * FROM public.auth_user",
    "session authorization of the platform user": "SET SESSION AUTHORIZATION {platform}",
    "session authorization of the other app": "SET SESSION AUTHORIZATION {other_role}",
    "set_config session_authorization": "SELECT set_config('session_authorization', '{platform_name}', false)",
    "set role to the platform user": "SET ROLE {platform}",
    "session-level set role to the other app": "SET SESSION ROLE {other_role}",
    "copy to a program": "COPY (SELECT 1) TO PROGRAM 'touch /tmp/kiln-pwned'",
    "copy to a file": "COPY (SELECT 1) TO '/tmp/kiln-pwned'",
    "copy from a file": "COPY users FROM '/etc/passwd'",
    "create a table in public": "CREATE TABLE public.kiln_pwned (x int)",
    "create a table in its own schema": "CREATE TABLE app_{app}.extra (x int)",
    "drop its own table": "DROP TABLE users",
    "alter its own table": "ALTER TABLE users ADD COLUMN x int",
    "alter a role": "ALTER ROLE postgres PASSWORD 'pwned'",
    "make itself superuser": "ALTER ROLE {role} SUPERUSER",
    "create a role": "CREATE ROLE kiln_pwned LOGIN SUPERUSER",
    "grant itself the other app": "GRANT {other_role} TO {role}",
    "create a function": "CREATE FUNCTION app_{app}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "load a library": "LOAD 'plpgsql'",
    "reload the server configuration": "SELECT pg_reload_conf()",
    "change a superuser-only setting": "SET LOCAL log_statement = 'none'",
    "terminate other sessions": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_raw_sql_under_the_app_role_cannot_escape(
    app: App, other_app: App, users: Table, secrets_table: Table, attack: str
) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT session_user")
        platform = cur.fetchone()[0]
    statement = ATTACKS[attack].format(
        platform=f'"{platform}"',
        platform_name=platform,
        app=app.pk,
        other=other_app.pk,
        role=f'"{app_role(app.pk)}"',
        other_role=f'"{app_role(other_app.pk)}"',
        other_role_name=app_role(other_app.pk),
    )
    with pytest.raises(DatabaseError) as error:
        with app_cursor(app.pk) as cur:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else None
            pytest.fail(f"{attack} was allowed: {rows}")  # pragma: no cover
    message = str(error.value).lower()
    assert any(word in message for word in ("permission denied", "must be", "must have", "not allowed")), message


def test_app_sql_runs_on_a_connection_that_logged_in_as_the_app_role(app: App, users: Table) -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        platform_pid = cur.fetchone()[0]
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with connection.cursor() as cur:  # pg_stat_activity is the platform's to read (tables migration 0003)
        cur.execute("SELECT usename FROM pg_stat_activity WHERE pid = %s", [pid])
        login = cur.fetchone()[0]
    assert pid != platform_pid and login == app_role(app.pk)


@pytest.mark.parametrize(
    "escape",
    ["RESET SESSION AUTHORIZATION", "SET SESSION AUTHORIZATION DEFAULT", "RESET ROLE", "SET ROLE NONE", "RESET ALL"],
)
def test_resetting_identity_lands_on_the_app_role_again(app: App, users: Table, escape: str) -> None:
    with app_cursor(app.pk) as cur:
        cur.execute(escape)
        cur.execute("SELECT session_user, current_user, current_setting('is_superuser')")
        assert cur.fetchone() == (app_role(app.pk), app_role(app.pk), "off")
        with pytest.raises(DatabaseError, match="permission denied"):
            cur.execute("SELECT count(*) FROM public.auth_user")


def test_reset_role_lands_on_the_app_role_again(app: App, users: Table) -> None:
    with app_cursor(app.pk) as cur:
        cur.execute("RESET ROLE")
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == app_role(app.pk)


def test_the_statement_timeout_stops_long_queries(app: App, users: Table) -> None:
    with pytest.raises(DatabaseError, match="statement timeout"):
        with app_cursor(app.pk, timeout_ms=100) as cur:
            cur.execute("SELECT pg_sleep(2)")


def test_the_app_role_logs_in_but_has_no_powers(app: App, users: Table) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " FROM pg_roles WHERE rolname = %s",
            [app_role(app.pk)],
        )
        assert cur.fetchone() == (True, False, False, False, False, False, False)


def test_deleting_an_app_drops_its_schema_and_role(app: App, users: Table) -> None:
    schema, role = ddl.schema_name(app.pk), app_role(app.pk)
    app_services.delete_app(app)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),"
            " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
            [schema, role],
        )
        assert cur.fetchone() == (False, False)


def test_deleting_an_app_without_tables_works(app: App) -> None:
    app_services.delete_app(app)
    assert not App.objects.filter(pk=app.pk).exists()


def test_an_app_role_that_cannot_log_in_is_repaired_on_the_way(app: App, users: Table) -> None:
    # Given a role as older Kiln versions made them (NOLOGIN), and no open app connection
    with connection.cursor() as cur:
        cur.execute(f'ALTER ROLE "{app_role(app.pk)}" NOLOGIN')
    close_app_connections(every_thread=True)
    # When app SQL runs, the role is allowed to log in again and the SQL runs as the app
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT session_user")
        assert cur.fetchone()[0] == app_role(app.pk)
    with connection.cursor() as cur:
        cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [app_role(app.pk)])
        assert cur.fetchone()[0] is True


def test_app_writes_commit_with_the_block_and_roll_back_with_it(app: App, users: Table) -> None:
    with pytest.raises(RuntimeError):
        with app_cursor(app.pk) as cur:
            cur.execute("INSERT INTO users (name) VALUES ('ghost')")
            with app_cursor(app.pk) as inner:  # nested: a savepoint on the same connection
                inner.execute("INSERT INTO users (name) VALUES ('inner ghost')")
            raise RuntimeError("stop")
    with app_cursor(app.pk) as cur:
        cur.execute("INSERT INTO users (name) VALUES ('kept')")
        with pytest.raises(DatabaseError):
            with app_cursor(app.pk) as inner:
                inner.execute("INSERT INTO users (nope) VALUES (1)")
    with app_cursor(app.pk, atomic=False) as cur:
        cur.execute("SELECT name FROM users ORDER BY 1")
        assert cur.fetchall() == [("kept",)]
