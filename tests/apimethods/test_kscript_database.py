"""The K database API against real tables: K.select / insert / update / delete, failure
values, and one transaction per invocation."""

from __future__ import annotations

from typing import Any

import pytest

from apimethods import kscript
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from runtime import ScriptError


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
