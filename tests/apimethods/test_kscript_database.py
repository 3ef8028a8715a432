"""The K database API against real tables: K.select / insert / update / delete, failure
values, and one transaction per invocation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from apimethods import kscript
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from runtime import ScriptError

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def posts(app: App) -> Any:
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "posts")
    table_services.add_field(table, "title", "string")
    table_services.add_field(table, "score", "integer")
    for title, score in [("a", 1), ("b", 5), ("c", 3), ("d", 9)]:
        table_services.insert_record(table, {"title": title, "score": score})
    return table


def run(app: App, code: str, params: dict[str, Any] | None = None) -> Any:
    spec = kscript.ScriptSpec("test", code, "objects", ())
    return kscript.run_top_level(app.id, 5, {"test": spec}, spec, params or {}, "tok").value


def test_select_with_filter_sort_and_limit(app: App, posts: Any) -> None:
    code = f"""
    var rows = K.select('{posts.alias}').filter('score', '>=', 3).sort('score', 'DESC').limit(2).run();
    var titles = [];
    while (rows.hasNext()) {{ titles.push(rows.next().title); }}
    K.setResponse(titles);
    """
    assert run(app, code) == ["d", "b"]


def test_select_gives_every_field_type_the_wire_value_a_query_gives(app: App) -> None:
    """K.select's rows are made as JSON by PostgreSQL, K.query's in Python: the two agree
    on every field type, on awkward values and on empty ones."""
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "things")
    # ("r" is the alias of the row the JSON is made of: a field of that name is still a field)
    for name, kind in [
        ("s", "string"),
        ("t", "text"),
        ("i", "integer"),
        ("f", "float"),
        ("b", "boolean"),
        ("r", "string"),
    ]:
        table_services.add_field(table, name, kind)
    table_services.add_field(table, "d", "datetime")
    table_services.add_field(table, "blob", "data")
    awkward = 'quote " back \\ tab\t nl\n bell\x07 é 😀 \u2028 </script>'
    table_services.insert_record(
        table,
        {
            "s": awkward,
            "t": "long " * 500 + awkward,
            "i": 2**53 - 1,
            "f": 0.1,
            "b": True,
            "d": -1.5,  # before the epoch, with a fraction: floored like the wire's other paths
            "blob": base64.b64encode(bytes(range(256))).decode(),  # longer than one base64 line
            "r": "a field, not the row",
        },
    )
    table_services.insert_record(table, {"i": -(2**53) + 1, "f": -1.5e-300, "b": False, "d": 1_700_000_000})
    table_services.insert_record(table, {"f": 1e22})
    table_services.insert_record(table, {})  # every field empty
    code = f"""
    K.setResponse({{
      selected: K.select('{table.alias}').sort('{table.id_field}', 'ASC').run(),
      queried: K.query('SELECT * FROM {table.alias} ORDER BY {table.id_field}', []),
    }});
    """
    result = run(app, code)
    assert len(result["selected"]) == 4
    assert result["selected"] == result["queried"]
    assert [list(row) for row in result["selected"]] == [list(row) for row in result["queried"]]
    first, second = result["selected"][0], result["selected"][1]
    assert (
        first["s"] == awkward and first["d"] == -2 and first["i"] == 2**53 - 1 and first["r"] == "a field, not the row"
    )
    assert base64.b64decode(first["blob"]) == bytes(range(256))
    assert second["i"] == -(2**53) + 1 and second["f"] == -1.5e-300 and second["blob"] is None


def test_a_sorted_limited_select_builds_json_only_for_the_rows_it_returns(app: App, posts: Any) -> None:
    """The JSON of a row is made after the sort and the limit, even where PostgreSQL sorts
    every matching row itself (no index on the sort field)."""
    from django.db import connection

    from console.tables.scripting import app_tables, select_statement

    table = app_tables(app.id)[posts.alias.lower()]
    text, params = select_statement(
        table, {"filters": [], "sort": [{"field": "title", "direction": "DESC"}], "limit": 2}
    )
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {text}", params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    top = plan[0]["Plan"]
    assert top["Node Type"] == "Subquery Scan" and "row_to_json" in top["Output"][0]
    below = json.dumps(top["Plans"])
    assert "row_to_json" not in below and '"Limit"' in below
    code = f"K.setResponse(K.select('{posts.alias}').sort('title', 'DESC').limit(2, 1).run());"
    assert [row["title"] for row in run(app, code)] == ["c", "b"]


def test_insert_update_counts_changed_rows_and_delete(app: App, posts: Any) -> None:
    code = f"""
    var id = K.insert('{posts.alias}', {{title: 'e', score: 3}});
    var changed = K.update('{posts.alias}', {{score: 3}}).filter('score', '=', 3).run();
    var deleted = K.delete('{posts.alias}').filter('title', '=', 'a').run();
    K.setResponse({{id: id, changed: changed, deleted: deleted,
                   left: K.select('{posts.alias}').run().length}});
    """
    result = run(app, code)
    assert result["changed"] == 0 and result["deleted"] == 1 and result["left"] == 4
    assert isinstance(result["id"], int)


def test_a_failed_statement_is_a_failure_value_and_the_run_goes_on(app: App, posts: Any) -> None:
    code = f"""
    var bad = K.insert('{posts.alias}', {{score: 'not a number'}});
    var ok = K.select('{posts.alias}').run();
    K.setResponse({{failed: failed(bad), error: typeof bad.error, count: ok.length}});
    """
    assert run(app, code) == {"failed": True, "error": "string", "count": 4}


def test_a_script_that_throws_after_writing_leaves_nothing_written(app: App, posts: Any) -> None:
    code = f"K.insert('{posts.alias}', {{title: 'ghost', score: 0}}); throw 'stop';"
    with pytest.raises(ScriptError):
        run(app, code)
    assert run(app, f"K.setResponse(K.select('{posts.alias}').filter('title', '=', 'ghost').run().length);") == 0


def test_another_apps_alias_is_unknown_here(app: App, posts: Any, make_user: Any) -> None:
    other = app_services.create_app(make_user(), "Other")
    code = f"var r = K.select('{posts.alias}').run(); K.setResponse({{failed: failed(r), error: r.error}});"
    spec = kscript.ScriptSpec("test", code, "objects", ())
    result = kscript.run_top_level(other.id, 5, {"test": spec}, spec, {}, "tok").value
    assert result["failed"] is True and "No table with the alias" in result["error"]


def test_a_table_named_by_its_name_gets_its_alias_suggested(app: App, posts: Any, make_user: Any) -> None:
    # What a newcomer writes first: the table's name, where Kumulos scripts use its alias.
    hint = f"The table posts has the alias {posts.alias}: use that."
    code = "var r = K.select('posts').run(); K.setResponse(r.error);"
    assert run(app, code) == f"No table with the alias 'posts' in this app. {hint}"
    code = "var r = K.query('SELECT title FROM Posts WHERE score > ?', [2]); K.setResponse(r.error);"
    assert run(app, code) == f"Posts is not one of this app's table aliases. {hint}"
    # After a rename the old name is no table's name: only the current name is suggested.
    table_services.rename_table(posts, "articles")
    posts.refresh_from_db()
    assert run(app, "K.setResponse(K.select('posts').run().error);") == "No table with the alias 'posts' in this app."
    assert run(app, "K.setResponse(K.select('articles').run().error);").endswith(
        f"The table articles has the alias {posts.alias}: use that."
    )
    # Another app's table of that name is not this app's: nothing to suggest there.
    other = app_services.create_app(make_user(), "Other")
    app_services.set_platform_flags(other, kscript_enabled=True)
    spec = kscript.ScriptSpec("test", "K.setResponse(K.select('articles').run().error);", "objects", ())
    error = kscript.run_top_level(other.id, 5, {"test": spec}, spec, {}, "tok").value
    assert error == "No table with the alias 'articles' in this app."


def test_a_schema_change_is_seen_by_the_next_run_through_the_version(app: App, posts: Any) -> None:
    from console.tables.scripting import app_tables, schema_version

    code = f"K.setResponse(K.select('{posts.alias}').filter('title', '=', 'a').run().next().mood || 'none')"
    before = schema_version(app.id)
    assert run(app, code) == "none"
    cached = app_tables(app.id, before)
    field = table_services.add_field(posts, "mood", "string")
    after = schema_version(app.id)
    assert after > before and app_tables(app.id, before) is cached  # the old entry is only valid for `before`
    table_services.update_record(posts, 1, {"mood": "sunny"})
    # What the client endpoint does: the version read with the app selects the metadata.
    assert (
        kscript.run_top_level(
            app.id,
            5,
            {"t": kscript.ScriptSpec("t", code, "objects", ())},
            kscript.ScriptSpec("t", code, "objects", ()),
            {},
            "tok",
            after,
        ).value
        == "sunny"
    )
    table_services.rename_field(field, "feeling")
    assert run(app, code) == "none"


def test_reads_before_the_first_write_need_no_transaction_and_a_throw_still_undoes_writes(app: App, posts: Any) -> None:
    code = f"""
    var before = K.select('{posts.alias}').run().length;
    K.insert('{posts.alias}', {{title: 'e', score: 2}});
    K.update('{posts.alias}', {{score: 100}}).filter('title', '=', 'a').run();
    var bad = K.query('SELECT CAST(title AS BIGINT) FROM {posts.alias}', []);  // fails in PostgreSQL
    K.insert('{posts.alias}', {{title: 'f', score: 3}});
    if (K.params.fail) throw new Error('stop');
    K.setResponse([before, K.select('{posts.alias}').run().length, failed(bad) && bad.error]);
    """
    with pytest.raises(ScriptError):
        run(app, code, {"fail": True})
    assert run(app, f"K.setResponse(K.select('{posts.alias}').run().length)") == 4
    before, after, error = run(app, code, {"fail": False})
    assert (before, after) == (4, 6) and "invalid input syntax" in error
    assert run(app, f"K.setResponse(K.select('{posts.alias}').filter('title', '=', 'a').run().next().score)") == 100


def test_prepared_selects_bind_every_filter_kind(app: App, posts: Any) -> None:
    code = f"""
    var t = '{posts.alias}';
    function titles(q) {{
      var rows = q.sort('title', 'ASC').run(), out = [];
      if (failed(rows)) return rows.error;
      while (rows.hasNext()) out.push(rows.next().title);
      return out;
    }}
    K.setResponse([
      titles(K.select(t).filter('title', 'IN', ['a', 'c', 'zz'])),
      titles(K.select(t).filter('score', 'NOT IN', [1, 9, 2000000000000])),
      titles(K.select(t).filter('score', 'IN', [1.0, 9])),
      titles(K.select(t).filter('title', 'LIKE', '%b%')),
      titles(K.select(t).filter('title', '!=', null)),
      titles(K.select(t).filter('timeCreated', '>', 0).filter('score', '<=', 3)),
      titles(K.select(t).filter('title', 'IN', [])),
    ]);
    """
    for _ in range(7):  # past psycopg's preparing threshold: the same answers from prepared plans
        assert run(app, code) == [["a", "c"], ["b", "c"], ["a", "d"], ["b"], ["a", "b", "c", "d"], ["a", "c"], []]


def test_selects_and_the_client_app_lookup_really_are_prepared(app: App, posts: Any) -> None:
    # Django turns psycopg's prepared statements off; Kiln's settings turn them back on for
    # the statements it marks prepare=True. Without that, `prepare=True` is silently ignored
    # and PostgreSQL parses and plans both statements on every client call.
    from django.db import connection

    from apimethods import appfacts
    from console.tables.isolation import leased

    run(app, f"K.setResponse(K.select('{posts.alias}').filter('score', '>', 1).run().length)")
    with leased(app.id) as conn:
        statements = [row[0] for row in conn.conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()]
    assert any('FROM "' in s and "WHERE" in s for s in statements), statements

    assert appfacts.read_app_facts(app.api_key)["id"] == app.id
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        assert any("secret_key" in row[0] for row in cursor.fetchall())


def test_a_limited_select_is_planned_once_not_on_every_call(app: App, posts: Any) -> None:
    # With `LIMIT $n` PostgreSQL prices the generic plan for a tenth of the rows, so on a
    # table of some size it kept choosing a custom plan: the select was planned again on
    # every call.
    from console.tables.isolation import leased

    table_services.add_index(posts, ["score"])
    with leased(app.id) as conn:
        conn.conn.execute(
            f'INSERT INTO "{posts.schema}"."{posts.name}" (title, score) SELECT \'t\' || i, i FROM generate_series(10, 5000) i'
        )
        conn.conn.execute(f'ANALYZE "{posts.schema}"."{posts.name}"')
    code = f"K.setResponse(K.select('{posts.alias}').filter('score', '<', 10).sort('score', 'DESC').limit(2).run())"
    for _ in range(12):
        assert [row["title"] for row in run(app, code)] == ["d", "b"]
    paged = f"K.setResponse(K.select('{posts.alias}').filter('score', '<', 10).sort('score', 'ASC').limit(2, 1).run())"
    assert [row["title"] for row in run(app, paged)] == ["c", "b"]
    with leased(app.id) as conn:
        plans = conn.conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%ORDER BY \"score\" DESC%%'"
        ).fetchall()
    assert len(plans) == 1, plans
    generic, custom = plans[0]
    assert generic >= 6 and custom <= 5, plans


def test_host_calls_on_v8s_thread_use_the_request_threads_connection_and_transaction(app: App, posts: Any) -> None:
    # Host calls run on the isolate thread of whichever context serves a run, while the
    # request's thread waits. A nested K.callAPIMethod runs in another context (another
    # thread), yet every statement of the invocation must share one connection and one
    # transaction: the callee sees the caller's uncommitted insert, and a throw afterwards
    # undoes it.
    from django.db import connection

    callee = kscript.ScriptSpec("count", f"K.setResponse(K.select('{posts.alias}').run().length);", "number", ())
    caller = kscript.ScriptSpec(
        "caller",
        f"K.insert('{posts.alias}', {{title: 'e', score: 4}});"
        "var seen = K.callAPIMethod('count', {}); if (K.params.fail) throw new Error('after ' + seen);"
        "K.setResponse(seen);",
        "number",
        (("fail", "bool"),),
    )
    scripts = {"count": callee, "caller": caller}
    with pytest.raises(ScriptError, match="after 5"):
        kscript.run_top_level(app.id, 5, scripts, caller, {"fail": True}, "tok")
    assert run(app, f"K.setResponse(K.select('{posts.alias}').run().length)") == 4
    assert kscript.run_top_level(app.id, 5, scripts, caller, {"fail": False}, "tok").value == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [f"kiln app {app.id}"])
        assert cursor.fetchone()[0] == 1
