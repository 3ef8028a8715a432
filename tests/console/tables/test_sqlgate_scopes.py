"""The gate resolves table names in their scopes, as PostgreSQL does (issue 10, item 5).

A WITH query's name is visible only in its own statement and the later queries of the
same WITH (all of them under WITH RECURSIVE), never as the target of a write; any other
name must be one of the app's aliases, whatever it is called or however it is spelled.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimethods import kscript
from console.apps.models import App
from console.tables import services
from console.tables.isolation import leased, run_user_sql
from console.tables.models import Table
from console.tables.queries import gate_tables
from console.tables.sqlgate import GateError, GateTable, compile_query

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

TABLES = {"1_2_users": GateTable("1_2_users", "users", ["userID", "name", "age", "timeCreated", "timeUpdated"])}
REPORTED = "WITH pg_settings AS (SELECT 1) UPDATE pg_settings SET setting = '0' WHERE name = 'statement_timeout'"
CATALOGS = ["pg_settings", "pg_class", "pg_roles", "pg_namespace", "pg_stat_activity", "pg_authid"]


def gate(query: str, *params: Any) -> str:
    return compile_query(query, TABLES, "app_1", list(params)).sql


def run(app: App, code: str) -> Any:
    spec = kscript.ScriptSpec("test", code, "objects", ())
    return kscript.run_top_level(app.id, 5, {"test": spec}, spec, {}, "tok").value


def test_the_reported_shape_is_refused() -> None:
    with pytest.raises(GateError, match="^pg_settings is not one of this app's table aliases.$"):
        gate(REPORTED)


def test_the_reported_shape_through_k_query_changes_no_setting(app: App, users: Table) -> None:
    services.insert_record(users, {"name": "ann", "age": 30})
    code = f"""
    var r = K.query("{REPORTED}", []);
    K.setResponse({{failed: failed(r), error: r.error,
                   rows: K.query('SELECT name FROM {users.alias}', []).first().name}});
    """
    assert run(app, code) == {
        "failed": True,
        "error": "pg_settings is not one of this app's table aliases.",
        "rows": "ann",
    }
    with leased(app.pk) as conn:
        row = conn.cursor().execute("SELECT current_setting('statement_timeout')").fetchone()
    assert row == ("5s",)


# Every shape: (statement, exact message). {n} is a catalog relation's name.
REFUSED_FOR_EVERY_CATALOG = {
    "the CTE shadows the target of an UPDATE": ("WITH {n} AS (SELECT 1) UPDATE {n} SET a = 1", "{n}"),
    "the CTE shadows the target of a DELETE": ("WITH {n} AS (SELECT 1) DELETE FROM {n}", "{n}"),
    "the CTE shadows the target of an INSERT": ("WITH {n} AS (SELECT 1) INSERT INTO {n} SELECT * FROM {n}", "{n}"),
    "another CTE of the statement": ("WITH x AS (SELECT 1) SELECT * FROM {n}", "{n}"),
    "the CTE in a sub-query, the relation outside it": (
        "SELECT * FROM {n} WHERE 1 IN (WITH {n} AS (SELECT 1) SELECT * FROM {n})",
        "{n}",
    ),
    "the CTE in a FROM sub-query, the relation in a join": (
        "SELECT * FROM (WITH {n} AS (SELECT 1 AS a) SELECT a FROM {n}) AS d JOIN {n} ON TRUE",
        "{n}",
    ),
    "the CTE in one UNION branch, the relation in the other": (
        "(WITH {n} AS (SELECT 1) SELECT * FROM {n}) UNION SELECT * FROM {n}",
        "{n}",
    ),
    "a non-recursive CTE naming itself": ("WITH {n} AS (SELECT * FROM {n}) SELECT * FROM {n}", "{n}"),
    "a recursive CTE beside the relation": (
        "WITH RECURSIVE c AS (SELECT 1 AS k UNION ALL SELECT k + 1 FROM c WHERE k < 3) SELECT * FROM c, {n}",
        "{n}",
    ),
    "a CTE of a sub-query, the relation in the WHERE": (
        "SELECT * FROM 1_2_users WHERE age IN (SELECT 1 FROM (WITH {n} AS (SELECT 1) SELECT 1) AS d) OR age IN (SELECT 1 FROM {n})",
        "{n}",
    ),
    "upper case": ("SELECT * FROM {N}", "{N}"),
    "odd case, back-quoted": ("WITH x AS (SELECT 1) SELECT * FROM `{Nn}`", "{Nn}"),
    "back-quoted, shadowed in a sub-query only": ("SELECT (WITH `{n}` AS (SELECT 1) SELECT 1) FROM `{n}`", "{n}"),
}


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize("shape", list(REFUSED_FOR_EVERY_CATALOG))
def test_a_catalog_name_outside_a_visible_cte_is_refused(shape: str, catalog: str) -> None:
    query, name = REFUSED_FOR_EVERY_CATALOG[shape]
    names = {"n": catalog, "N": catalog.upper(), "Nn": catalog.title()}
    with pytest.raises(GateError) as error:
        gate(query.format(**names))
    assert str(error.value) == f"{name.format(**names)} is not one of this app's table aliases."


QUALIFIED = [
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_settings",
    "WITH pg_settings AS (SELECT 1) SELECT * FROM pg_catalog.pg_settings",
    "WITH pg_settings AS (SELECT 1) UPDATE pg_catalog.pg_settings SET setting = '0'",
    "SELECT * FROM `pg_catalog`.`pg_class`",
    "SELECT * FROM public.auth_user",
    "SELECT * FROM app_2.users",
    "SELECT * FROM app_1.users",
    "SELECT * FROM pg_temp.users",
    "SELECT * FROM kiln.public.auth_user",
    "WITH c AS (SELECT 1) SELECT * FROM app_1.c",
]


@pytest.mark.parametrize("query", QUALIFIED)
def test_schema_qualified_names_of_any_kind_are_refused(query: str) -> None:
    with pytest.raises(GateError, match="^Name tables by their alias only; .* is not one of this app's tables.$"):
        gate(query)


OTHER_REFUSALS = {
    "a write nested in a WITH": ("WITH x AS (DELETE FROM 1_2_users) SELECT 1", "cannot be nested"),
    "a WITH name used twice": ("WITH a AS (SELECT 1), a AS (SELECT 2) SELECT * FROM a", "used twice"),
    "a later CTE seen before it is defined": ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", "b is"),
    "set_config": ("SELECT set_config('statement_timeout', '0', false)", "SET_CONFIG is not allowed"),
    "current_setting": ("SELECT current_setting('statement_timeout')", "CURRENT_SETTING is not allowed"),
    "a schema-qualified function": ("SELECT pg_catalog.lower(name) FROM 1_2_users", "without a schema"),
    "a schema-qualified column": ("SELECT pg_catalog.pg_class.relname FROM 1_2_users", "is neither"),
    "a table function": ("SELECT * FROM generate_series(1, 3)", "GENERATE_SERIES is not allowed"),
    "a server variable": ("SELECT @@standard_conforming_strings", "not allowed"),
    "SET": ("SET standard_conforming_strings = off", "Only SELECT"),
    "nesting deeper than the parser goes": ("SELECT " + "(" * 400 + "1" + ")" * 400, "nested too deeply"),
}


@pytest.mark.parametrize("refusal", list(OTHER_REFUSALS))
def test_other_ways_around_the_scopes_are_refused(refusal: str) -> None:
    query, message = OTHER_REFUSALS[refusal]
    with pytest.raises(GateError) as error:
        gate(query)
    assert message in str(error.value)


def test_visible_ctes_are_renamed_and_keep_their_name_as_alias() -> None:
    assert gate("WITH pg_settings AS (SELECT 'x' AS name) SELECT Pg_Settings.name FROM PG_SETTINGS") == (
        'WITH "kiln_cte_0" AS (SELECT \'x\' AS "name") SELECT "pg_settings"."name" FROM "kiln_cte_0" AS "pg_settings"'
    )
    assert gate("WITH RECURSIVE b AS (SELECT k FROM a), a AS (SELECT 1 AS k) SELECT * FROM b") == (
        'WITH RECURSIVE "kiln_cte_0" AS (SELECT "k" FROM "kiln_cte_1" AS "a"), '
        '"kiln_cte_1" AS (SELECT 1 AS "k") SELECT * FROM "kiln_cte_0" AS "b"'
    )
    # An inner WITH shadows an outer one of the same name in its own statement only.
    assert gate("WITH c AS (SELECT 1) SELECT * FROM (WITH c AS (SELECT 2) SELECT * FROM c) AS d, c") == (
        'WITH "kiln_cte_0" AS (SELECT 1) SELECT * FROM (WITH "kiln_cte_1" AS (SELECT 2) '
        'SELECT * FROM "kiln_cte_1" AS "c") AS "d", "kiln_cte_0" AS "c"'
    )


def test_the_target_of_a_write_is_always_the_apps_table_even_under_a_cte_of_its_name() -> None:
    assert gate("WITH 1_2_users AS (SELECT 1 AS age) UPDATE 1_2_users SET age = 2") == (
        'WITH "kiln_cte_0" AS (SELECT 1 AS "age") UPDATE "app_1"."users" AS "1_2_users" SET "age" = 2'
    )


def test_a_backslash_literal_means_the_same_whatever_standard_conforming_strings_says(app: App, users: Table) -> None:
    compiled = compile_query("SELECT 'a\\\\' AS v, 'b' AS w", gate_tables(app.pk), f"app_{app.pk}", [])
    assert compiled.sql == "SELECT E'a\\\\' AS \"v\", 'b' AS \"w\""
    with leased(app.pk) as conn:
        cur = conn.cursor()
        assert cur.execute(compiled.sql).fetchall() == [("a\\", "b")]
        cur.execute("SET standard_conforming_strings = off")
        try:
            assert cur.execute(compiled.sql).fetchall() == [("a\\", "b")]
        finally:
            cur.execute("SET standard_conforming_strings = on")


# Admitted shapes run as the app, with the rows PostgreSQL gives for them.
def test_admitted_ctes_run_with_postgresqls_meaning(app: App, users: Table) -> None:
    services.insert_record(users, {"name": "ann", "age": 30})
    services.insert_record(users, {"name": "bo", "age": 40})
    tables, a = gate_tables(app.pk), users.alias

    def rows(query: str) -> list[tuple[Any, ...]]:
        return run_user_sql(app.pk, tables, query, []).rows

    def changed(query: str) -> int:
        return run_user_sql(app.pk, tables, query, []).rowcount

    counted = "WITH RECURSIVE c AS (SELECT 1 AS k UNION ALL SELECT k + 1 FROM c WHERE k < 5) SELECT k FROM c"
    assert rows(counted) == [(1,), (2,), (3,), (4,), (5,)]
    assert rows("WITH pg_settings AS (SELECT 'mine' AS name) SELECT name FROM pg_settings") == [("mine",)]
    assert rows(f"WITH {a} AS (SELECT 42 AS age) SELECT age FROM {a}") == [(42,)]
    old = f"WITH old AS (SELECT age FROM {a} WHERE name = 'bo') SELECT name FROM {a} WHERE age IN (SELECT age FROM old)"
    assert rows(old) == [("bo",)]
    assert changed(f"WITH n AS (SELECT 'cy' AS v) INSERT INTO {a} (name, age) SELECT v, 50 FROM n") == 1
    assert changed(f"WITH {a} AS (SELECT 1 AS age) UPDATE {a} SET age = age + 1 WHERE name = 'ann'") == 1
    assert changed(f"WITH d AS (SELECT 'bo' AS v) DELETE FROM {a} WHERE name IN (SELECT v FROM d)") == 1
    assert rows(f"SELECT name, age FROM {a} ORDER BY name") == [("ann", 31), ("cy", 50)]
