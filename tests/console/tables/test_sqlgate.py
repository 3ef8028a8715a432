"""The statement gate for user-written SQL: rewriting, and every escape refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from console.apps.models import App
from console.tables import services
from console.tables.isolation import app_role, run_user_sql
from console.tables.queries import gate_tables
from console.tables.sqlgate import GateError, GateTable, compile_query

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

TABLES = {"1_2_users": GateTable("1_2_users", "users", ["userID", "name", "age", "timeCreated", "timeUpdated"])}


def gate(query: str, *params: Any) -> tuple[str, list[Any]]:
    compiled = compile_query(query, TABLES, "app_1", list(params))
    return compiled.sql, compiled.params


def test_select_rewrite_snapshot() -> None:
    sql, params = gate("SELECT name, TIMECREATED FROM 1_2_users WHERE timecreated >= FROM_UNIXTIME(?) LIMIT ?", 10, 5.0)
    assert sql == (
        'SELECT "name", "timeCreated" FROM "app_1"."users" AS "1_2_users" '
        'WHERE "timeCreated" >= TO_TIMESTAMP(%s) LIMIT %s'
    )
    assert params == [10, 5]


def test_parameters_follow_the_text_even_when_postgres_reorders_limit() -> None:
    sql, params = gate("SELECT * FROM 1_2_users WHERE age = ? LIMIT ?, ?", 30, 20, 10)
    assert sql.endswith('WHERE "age" = %s LIMIT %s OFFSET %s')
    assert params == [30, 10, 20]


def test_insert_update_delete_rewrite_snapshots() -> None:
    assert gate("INSERT INTO 1_2_users (NAME, age) VALUES (?, ?)", "ann", 3) == (
        'INSERT INTO "app_1"."users" ("name", "age") VALUES (%s, %s)',
        ["ann", 3],
    )
    assert gate("UPDATE `1_2_users` SET age = age + 1 WHERE userid = ?", 7)[0] == (
        'UPDATE "app_1"."users" AS "1_2_users" SET "age" = "age" + 1 WHERE "userID" = %s'
    )
    assert gate("DELETE FROM 1_2_users WHERE name LIKE '%x%'")[0] == (
        'DELETE FROM "app_1"."users" AS "1_2_users" WHERE "name" LIKE \'%%x%%\''
    )


ESCAPES = {
    "stacked statements": ("SELECT 1; DROP TABLE 1_2_users", "one statement"),
    "a comment hiding a second statement": ("SELECT 1 /* hi */; SET ROLE postgres -- bye", "one statement"),
    "SET ROLE": ("SET ROLE postgres", "Only SELECT"),
    "RESET ROLE": ("RESET ROLE", "Only SELECT"),
    "RESET SESSION AUTHORIZATION": ("RESET SESSION AUTHORIZATION", "Could not read"),
    "SET SESSION AUTHORIZATION": ("SET SESSION AUTHORIZATION postgres", "Only SELECT"),
    "set_config role": ("SELECT set_config('role', 'postgres', true)", "SET_CONFIG is not allowed"),
    "set_config session authorization": (
        "SELECT set_config('session_authorization', 'postgres', true)",
        "SET_CONFIG is not allowed",
    ),
    "pg_sleep": ("SELECT pg_sleep(60)", "PG_SLEEP is not allowed"),
    "pg_read_file": ("SELECT pg_read_file('/etc/passwd')", "PG_READ_FILE is not allowed"),
    "a system catalog": ("SELECT * FROM pg_catalog.pg_roles", "alias only"),
    "information schema": ("SELECT * FROM information_schema.tables", "alias only"),
    "an unqualified catalog": ("SELECT * FROM pg_class", "pg_class is not one of this app's table aliases"),
    "auth_user": ("SELECT * FROM auth_user", "auth_user is not one of this app's table aliases"),
    "public.auth_user": ("SELECT * FROM public.auth_user", "alias only"),
    "another app's alias": ("SELECT * FROM 9_1_secrets", "9_1_secrets is not one of this app's table aliases"),
    "a subquery on another table": ("SELECT * FROM 1_2_users WHERE age IN (SELECT 1 FROM auth_user)", "auth_user"),
    "COPY to a program": ("COPY 1_2_users TO PROGRAM 'ls'", "Only SELECT"),
    "transaction control": ("COMMIT", "Only SELECT"),
    "BEGIN": ("BEGIN", "Only SELECT"),
    "CALL": ("CALL something()", "Only SELECT"),
    "DO": ("DO $$ BEGIN END $$", "Could not read"),
    "SELECT INTO": ("SELECT * INTO newtable FROM 1_2_users", "INTO is not allowed"),
    "a server variable": ("SELECT @@version", "not allowed"),
    "a cast to regclass": ("SELECT CAST('auth_user' AS regclass)", "not"),
    "DDL": ("DROP TABLE 1_2_users", "Only SELECT"),
    "LIMIT injection": ("SELECT * FROM 1_2_users LIMIT ?", "whole numbers"),
}


@pytest.mark.parametrize("escape", list(ESCAPES))
def test_the_gate_refuses_escapes(escape: str) -> None:
    query, message = ESCAPES[escape]
    params = ["1; DROP TABLE users"] if "?" in query else []
    with pytest.raises(GateError) as error:
        gate(query, *params)
    assert message in str(error.value)


def test_the_placeholder_count_must_match() -> None:
    with pytest.raises(GateError, match="1 \\? placeholder\\(s\\) but 2 parameter"):
        gate("SELECT * FROM 1_2_users WHERE age = ?", 1, 2)


def test_user_sql_runs_as_the_app_and_returns_camel_case_names(app: App, users: Any) -> None:
    services.insert_record(users, {"name": "ann", "age": 30})
    result = run_user_sql(
        app.pk,
        gate_tables(app.pk),
        f"SELECT userid, NAME, timecreated FROM {users.alias} WHERE age > ? AND timeCreated <= NOW()",
        [18],
    )
    assert result.columns == ["userID", "name", "timeCreated"]
    assert [r[:2] for r in result.rows] == [(1, "ann")]


def test_an_injection_through_a_parameter_is_just_a_value(app: App, users: Any) -> None:
    evil = "x'); DROP TABLE users; --"
    run_user_sql(app.pk, gate_tables(app.pk), f"INSERT INTO {users.alias} (name) VALUES (?)", [evil])
    result = run_user_sql(app.pk, gate_tables(app.pk), f"SELECT name FROM {users.alias}", [])
    assert result.rows == [(evil,)]


def test_raw_insert_through_the_gate_gets_time_created(app: App, users: Any) -> None:
    run_user_sql(app.pk, gate_tables(app.pk), f"INSERT INTO {users.alias} (name) VALUES ('bo')", [])
    result = run_user_sql(app.pk, gate_tables(app.pk), f"SELECT timeCreated IS NOT NULL FROM {users.alias}", [])
    assert result.rows == [(True,)]


def test_after_gated_sql_the_connection_is_the_platform_again(app: App, users: Any, make_table: Callable) -> None:
    run_user_sql(app.pk, gate_tables(app.pk), f"SELECT * FROM {users.alias}", [])
    with connection.cursor() as cur:
        cur.execute("SELECT current_user <> %s", [app_role(app.pk)])
        assert cur.fetchone() == (True,)


def test_kscript_database_query_goes_through_the_gate(app: App, users: Any) -> None:
    from console.tables.scripting import script_database

    services.insert_record(users, {"name": "ann", "age": 30})
    with script_database(app.pk) as database:
        rows = database.query(f"SELECT NAME, userid FROM {users.alias} WHERE age = ?", [30])
        assert [(r["name"], r["userID"]) for r in rows] == [("ann", 1)]
        with pytest.raises(Exception, match="PG_SLEEP is not allowed"):
            database.query("SELECT pg_sleep(1)", [])
