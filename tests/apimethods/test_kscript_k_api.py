"""The K API as a script sees it, through real V8 against real PostgreSQL and Redis:
K.query (MySQL syntax, placeholders, LIMIT ?, injection), the select/update/delete
builders in all their forms, result sets, K.session across invocations, callAPIMethod
and include. Runtime-only behaviour (in-memory hosts) is in tests/runtime/test_binds.py."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apimethods import kscript
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table
from runtime import ScriptError

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def notes(app: App) -> Table:
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "notes")
    table_services.add_field(table, "title", "string")
    table_services.add_field(table, "score", "integer")
    table_services.add_field(table, "ownerName", "string")
    for title, score, owner in [("a", 1, "ann"), ("b", 5, "bo"), ("c", 3, "ann"), ("d", 9, "cy"), ("e", 3, "bo")]:
        table_services.insert_record(table, {"title": title, "score": score, "ownerName": owner})
    return table


def run(app: App, code: str, params: dict[str, Any] | None = None, *, token: str = "tok", **others: Any) -> Any:
    """Run `code` as method "test"; `others` are sibling methods: code, or (code, [(param, type)])."""
    spec = kscript.ScriptSpec("test", code, "objects", ())
    scripts: dict[str, kscript.ScriptSpec] = {"test": spec}
    for name, other in others.items():
        src, declared = other if isinstance(other, tuple) else (other, [])
        scripts[name] = kscript.ScriptSpec(name, src, "objects", tuple(declared))
    return kscript.run_top_level(app.id, 5, scripts, spec, params or {}, token).value


# K.query


def test_query_binds_placeholders_in_order_and_limit_takes_an_integer(app: App, notes: Table) -> None:
    code = f"""
    var rows = K.query('SELECT title FROM {notes.alias} WHERE score >= ? AND ownerName <> ? ORDER BY score DESC, title LIMIT ?',
                       [3, 'cy', 2]);
    K.setResponse(rows);
    """
    assert run(app, code) == [{"title": "b"}, {"title": "c"}]


def test_query_speaks_mysql_backticks_and_resolves_names_case_insensitively(app: App, notes: Table) -> None:
    code = f"K.setResponse(K.query('SELECT `TITLE`, OWNERNAME FROM `{notes.alias}` WHERE `Score` = ? ORDER BY title', [9]));"
    rows = run(app, code)
    assert len(rows) == 1 and rows[0]["title"] == "d" and rows[0]["ownerName"] == "cy"  # names as declared


def test_query_without_parameters_defaults_to_none(app: App, notes: Table) -> None:
    assert run(app, f"K.setResponse(K.query('SELECT COUNT(*) AS n FROM {notes.alias}').first().n);") == 5


def test_query_writes_return_counts_and_raw_inserts_get_time_fields(app: App, notes: Table) -> None:
    code = f"""
    var inserted = K.query('INSERT INTO {notes.alias} (title, score) VALUES (?, ?)', ['raw', 7]);
    var updated = K.query('UPDATE {notes.alias} SET score = score + 1 WHERE ownerName = ?', ['ann']);
    var row = K.query('SELECT timeCreated, timeUpdated FROM {notes.alias} WHERE title = ?', ['raw']).first();
    K.setResponse({{inserted: inserted, updated: updated, created: row.timeCreated != null}});
    """
    assert run(app, code) == {"inserted": 1, "updated": 2, "created": True}


def test_parameters_cannot_inject_sql(app: App, notes: Table) -> None:
    code = f"""
    var rows = K.query('SELECT title FROM {notes.alias} WHERE ownerName = ?', [K.params.name]);
    var sel = K.select('{notes.alias}').filter('ownerName', K.params.name).run();
    K.setResponse({{query: rows.length, select: sel.length,
                    left: K.query('SELECT COUNT(*) AS n FROM {notes.alias}').first().n}});
    """
    for hostile in ["x' OR '1'='1", "ann'; DROP TABLE notes; --", "ann\\' OR 1=1 -- "]:
        assert run(app, code, {"name": hostile}) == {"query": 0, "select": 0, "left": 5}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM auth_user",
        "SELECT * FROM pg_catalog.pg_authid",
        "SELECT pg_read_file('/etc/passwd')",
        "RESET SESSION AUTHORIZATION",
        "SET ROLE postgres",
        "DROP TABLE {alias}",
        "SELECT 1; SELECT 2",
    ],
)
def test_query_outside_the_apps_tables_is_a_failure_value(app: App, notes: Table, sql: str) -> None:
    code = (
        f"var r = K.query({sql.format(alias=notes.alias)!r}, []); K.setResponse({{failed: failed(r), error: r.error}});"
    )
    result = run(app, code)
    assert result["failed"] is True and result["error"]
    assert run(app, f"K.setResponse(K.query('SELECT COUNT(*) AS n FROM {notes.alias}').first().n);") == 5


# Builders


def test_filter_forms_combine_with_and(app: App, notes: Table) -> None:
    code = f"""
    var a = K.select('{notes.alias}').filter('ownerName', 'ann').filter('score', 3).run();
    var b = K.select('{notes.alias}').filter({{ownerName: 'bo', score: 3}}).run();
    var c = K.select('{notes.alias}').filter('score', '>', 3).run();
    K.setResponse({{a: a.first().title, b: b.first().title, an: a.length, bn: b.length, c: c.length}});
    """
    assert run(app, code) == {"a": "c", "b": "e", "an": 1, "bn": 1, "c": 2}


def test_sorts_chain_in_call_order_and_limit_takes_an_offset(app: App, notes: Table) -> None:
    code = f"""
    var rows = K.select('{notes.alias}').sort('score', 'DESC').sort('title', 'ASC').limit(3, 1).run();
    var titles = []; for (var i = 0; i < rows.length; i++) titles.push(rows.itemAtIndex(i).title);
    K.setResponse(titles);
    """
    assert run(app, code) == ["b", "c", "e"]


def test_update_counts_changed_rows_not_matched_ones(app: App, notes: Table) -> None:
    code = f"""
    var same = K.update('{notes.alias}', {{score: 3}}).filter('score', 3).run();
    var changed = K.update('{notes.alias}', {{score: 4}}).filter('ownerName', 'ann').run();
    K.setResponse({{same: same, changed: changed}});
    """
    assert run(app, code) == {"same": 0, "changed": 2}


def test_delete_needs_a_filter_or_force_delete_all(app: App, notes: Table) -> None:
    with pytest.raises(ScriptError):
        run(app, f"K.delete('{notes.alias}').run();")
    assert run(app, f"K.setResponse(K.select('{notes.alias}').run().length);") == 5
    assert run(app, f"K.setResponse(K.delete('{notes.alias}').forceDeleteAll().run());") == 5
    assert run(app, f"K.setResponse(K.select('{notes.alias}').run().length);") == 0


def test_unknown_fields_are_failure_values_and_a_bad_sort_direction_throws(app: App, notes: Table) -> None:
    code = f"""
    var a = K.select('{notes.alias}').filter('nope', 1).run();
    var b = K.update('{notes.alias}', {{score: 1}}).filter({{nope: 2}}).run();
    var c = K.insert('{notes.alias}', {{nope: 1}});
    K.setResponse([failed(a), failed(b), failed(c), typeof a.error]);
    """
    assert run(app, code) == [True, True, True, "string"]
    with pytest.raises(ScriptError, match="ASC' or 'DESC"):
        run(app, f"K.select('{notes.alias}').sort('score', 'SIDEWAYS').run();")


# Result sets


def test_result_sets_walk_index_push_and_carry_changes_into_the_response(app: App, notes: Table) -> None:
    code = f"""
    var rs = K.select('{notes.alias}').filter('ownerName', 'bo').sort('title', 'ASC').run();
    var seen = [];
    while (rs.hasNext()) {{ var row = rs.next(); row.label = row.title + '!'; seen.push(row.title); }}
    var empty = K.select('{notes.alias}').filter('ownerName', 'nobody').run();
    rs.push({{title: 'extra'}});
    K.setResponse({{rows: rs, seen: seen, first: rs.first().title, last: rs.last().title,
                    emptyFirst: empty.first() == null, emptyLength: empty.length, isArray: Array.isArray(rs)}});
    """
    result = run(app, code)
    assert [r.get("label") for r in result["rows"]] == ["b!", "e!", None]
    assert result["seen"] == ["b", "e"] and (result["first"], result["last"]) == ("b", "extra")
    assert result["emptyFirst"] is True and result["emptyLength"] == 0 and result["isArray"] is True


# Sessions (Redis)


def test_session_values_persist_per_token_and_can_be_removed(app: App, notes: Table) -> None:
    token, other = str(uuid.uuid4()), str(uuid.uuid4())
    write = "K.session.userID = 42; K.session.set('name', 'ann'); K.setResponse(true);"
    read = "K.setResponse({id: K.session.userID, name: K.session.get('name'), has: K.session.has('userID')});"
    assert run(app, write, token=token) is True
    assert run(app, read, token=token) == {"id": 42, "name": "ann", "has": True}
    assert run(app, read, token=other) == {"id": None, "name": None, "has": False}
    run(app, "K.session.unset('userID'); K.setResponse(true);", token=token)
    assert run(app, read, token=token) == {"id": None, "name": "ann", "has": False}
    run(app, "K.session.destroy(); K.setResponse(true);", token=token)
    assert run(app, read, token=token) == {"id": None, "name": None, "has": False}


def test_sessions_of_two_apps_with_the_same_token_are_apart(app: App, notes: Table, make_user: Any) -> None:
    other = app_services.create_app(make_user(), "Other")
    app_services.set_platform_flags(other, kscript_enabled=True)
    # A fresh token: Redis outlives test databases, whose app ids start over each run.
    shared = str(uuid.uuid4())
    run(app, "K.session.secret = 'mine'; K.setResponse(true);", token=shared)
    assert run(other, "K.setResponse(K.session.secret);", token=shared) is None


# Calling other scripts


def test_call_api_method_returns_the_payload_and_leaves_params_alone(app: App, notes: Table) -> None:
    code = "var n = K.callAPIMethod('double', {n: 21}); K.setResponse({n: n, mine: K.params.n, owner: K.params.who});"
    result = run(app, code, {"n": 1, "who": "ann"}, double=("K.setResponse(K.params.n * 2);", [("n", "integer")]))
    assert result == {"n": 42, "mine": 1, "owner": "ann"}


def test_include_is_cycle_safe_and_errors_inside_it_name_the_included_script(app: App, notes: Table) -> None:
    ok = run(
        app,
        "include('a'); K.setResponse(fromA + fromB);",
        a="include('b'); var fromA = 1;",
        b="include('a'); var fromB = 2;",
    )
    assert ok == 3
    with pytest.raises(ScriptError) as error:
        run(app, "include('broken');", broken="var x = 1;\nnull.boom();")
    assert (error.value.method, error.value.line) == ("broken", 2)


# Rows as the script sees them


def test_rows_arrive_as_wire_values_whatever_the_column_types(app: App, notes: Table) -> None:
    table = table_services.create_table(app, "kinds")
    for name, kind in [("s", "string"), ("t", "text"), ("i", "integer"), ("f", "float"), ("b", "boolean"),
                       ("d", "datetime"), ("blob", "data")]:  # fmt: skip
        table_services.add_field(table, name, kind)
    table_services.insert_record(
        table, {"s": "x", "t": "long\ntext", "i": 2**40, "f": 1.5, "b": True, "d": 1700000000.75, "blob": "AAEC"}
    )
    table_services.insert_record(table, {})
    full, empty = run(app, f"K.setResponse(K.select('{table.alias}').sort('i', 'ASC').run());")  # nulls last
    assert {k: full[k] for k in ("s", "t", "i", "f", "b", "d", "blob")} == {
        "s": "x", "t": "long\ntext", "i": 2**40, "f": 1.5, "b": True, "d": 1700000000, "blob": "AAEC",
    }  # fmt: skip
    assert isinstance(full["timeCreated"], int) and isinstance(full["timeUpdated"], int)
    assert all(empty[k] is None for k in ("s", "t", "i", "f", "b", "d", "blob"))
    # Datetimes are whole epoch seconds rounded down, before 1970 too
    table_services.insert_record(table, {"i": -1, "d": -1.5})
    assert run(app, f"K.setResponse(K.select('{table.alias}').filter('i', '=', -1).run().first().d);") == -2
    # K.query: any expression, including types no field has
    row = run(
        app,
        f"K.setResponse(K.query('SELECT AVG(score) AS a, COUNT(*) AS n, MAX(timeCreated) AS m, "
        f"SUM(score) AS total FROM {notes.alias}').first());",
    )
    assert row["a"] == 4.2 and row["n"] == 5 and row["total"] == 21 and isinstance(row["m"], int)
