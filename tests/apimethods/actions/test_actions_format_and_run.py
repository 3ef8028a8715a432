"""Run from the console (result, time, the SQL that ran) and the "api_methods" section of
the app definition (export, import into an app with other table numbers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from apimethods.actions import services
from apimethods.models import ApiMethod, ApiMethodRevision
from console.apps import services as app_services
from console.apps.models import App
from console.tables import appformat, isolation
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

BY_TITLE = {
    "table": "photos",
    "params": [{"field": "title"}],
    "actions": [
        {
            "type": "select",
            "filters": [{"field": "title", "op": "contains", "value": {"param": "title"}}],
            "related": [{"field": "photographer"}],
        }
    ],
}


def run(client: Any, app: App, method_id: int, **params: Any) -> Any:
    return client.post(f"/api/apps/{app.id}/apimethods/{method_id}/run/", {"params": params}, format="json")


def test_run_answers_the_result_the_time_and_the_sql_that_ran(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    ann = table_services.insert_record(photo_tables["users"], {"name": "Ann"})["userID"]
    photo = table_services.insert_record(photo_tables["photos"], {"title": "Sunset", "photographer": ann})["photoID"]
    method = make_method("Search", **BY_TITLE).method
    body = run(client_for(member), app, method.id, title="sun").json()
    assert body["ok"] is True and body["duration_ms"] > 0
    assert [(r["photoID"], r["title"], r["photographer"]["name"]) for r in body["result"]] == [(photo, "Sunset", "Ann")]
    assert isinstance(body["result"][0]["timeCreated"], float)  # seconds, as Run It! shows dates
    [statement] = body["statements"]
    assert statement["action"] == "a1" and statement["rows"] == 1 and statement["ms"] >= 0
    assert statement["sql"].startswith('SELECT "t"."photoID", "t"."timeCreated"')
    assert statement["sql"].endswith(""" WHERE "t"."title" ILIKE '%sun%'::text ORDER BY "t"."photoID\"""")


def test_run_of_a_failing_method_reports_the_database_error_and_writes_nothing(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    method = make_method(
        "Two photos",
        table="photos",
        params=[{"field": "title"}, {"field": "photographer"}],
        actions=[
            {"type": "create", "values": [{"field": "title", "value": {"param": "title"}}]},
            {
                "type": "create",
                "values": [
                    {"field": "title", "value": {"param": "title"}},
                    {"field": "photographer", "value": {"param": "photographer"}},
                ],
            },
        ],
    ).method
    body = run(client_for(owner), app, method.id, title="x", photographer=404).json()
    assert body["ok"] is False and body["error"]["type"] == "DatabaseError"
    assert "violates foreign key constraint" in body["error"]["message"]
    assert [s["action"] for s in body["statements"]] == ["a1", "a2"]
    assert "error" in body["statements"][1] and "error" not in body["statements"][0]
    with isolation.app_cursor(app.pk) as cur:
        assert cur.execute("SELECT count(*) FROM photos").fetchone() == (0,)


def test_run_refuses_parameters_that_do_not_coerce_and_drafts_that_do_not_fit(
    app: App,
    owner: Any,
    client_for: Callable,
    photo_tables: dict[str, Table],
    make_method: Callable,
    field_of: Callable,
) -> None:
    client = client_for(owner)
    method = make_method(
        "By id",
        table="photos",
        params=[{"field": "photoID"}],
        actions=[{"type": "select", "filters": [{"field": "photoID", "op": "=", "value": {"param": "photoID"}}]}],
    ).method
    bad = run(client, app, method.id, photoID="seven")
    assert (bad.status_code, bad.json()) == (400, {"params": ["Parameter 'photoID' must be an integer"]})
    search = make_method("Search", **BY_TITLE).method
    table_services.rename_field(field_of(photo_tables["photos"], "title"), "caption")
    broken = run(client, app, search.id, title="x")
    assert broken.status_code == 400
    assert broken.json() == {
        "params[0].field": ["photos has no field 'title'."],
        "actions[0].filters[0].field": ["photos has no field 'title'."],
    }


def test_run_refuses_a_suspended_app_and_runs_nothing(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    method = make_method(
        "Add user",
        table="users",
        params=[{"field": "name"}],
        actions=[{"type": "create", "values": [{"field": "name", "value": {"param": "name"}}]}],
    ).method
    app_services.set_platform_flags(app, suspended=True)
    response = run(client_for(owner), app, method.id, name="Ann")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "This app is suspended; a platform admin can lift the suspension."},
    )
    with isolation.app_cursor(app.pk) as cur:
        assert cur.execute("SELECT count(*) FROM users").fetchone() == (0,)


# ── the app definition ──────────────────────────────────────────────────────────


def test_export_and_import_into_an_app_with_other_table_numbers(
    app: App, owner: Any, make_table: Callable[..., Table], meal_tables: dict[str, Table], make_method: Callable
) -> None:
    make_method(
        "Search people by meal",
        table="people",
        params=[{"name": "meal", "type": "string"}],
        actions=[
            {
                "type": "select",
                "filters": [
                    {
                        "field": "title",
                        "via": ["favoriteMeals.connoisseur", "meal"],
                        "op": "contains",
                        "value": {"param": "meal"},
                    }
                ],
            }
        ],
    )
    document = appformat.export_app(app)
    assert document["api_methods"] == [
        {
            "title": "Search people by meal",
            "table": "people",
            "params": [{"name": "meal", "type": "string"}],
            "actions": [
                {
                    "id": "a1",
                    "type": "select",
                    "table": "people",
                    "filters": [
                        {
                            "field": "title",
                            "op": "contains",
                            "via": ["favoriteMeals.connoisseur", "meal"],
                            "value": {"param": "meal"},
                        }
                    ],
                    "sort": [],
                    "limit": None,
                    "offset": None,
                    "related": [],
                    "actions": [],
                }
            ],
            "returned": None,
        }
    ]
    fresh = app_services.create_app(owner, "Copy")
    make_table(fresh, "unrelated")  # so the copy's tables get other numbers and aliases
    changes = appformat.import_app(fresh, document)
    assert "created API method searchPeopleByMeal" in changes
    assert [t.alias for t in Table.objects.filter(app=fresh).order_by("number")][1:] != [
        t.alias for t in Table.objects.filter(app=app).order_by("number")
    ]
    assert appformat.export_app(fresh)["api_methods"] == document["api_methods"]
    assert appformat.import_app(fresh, document) == []  # identical: no new revision
    document["api_methods"][0]["actions"][0]["sort"] = [{"field": "name", "direction": "desc"}]
    assert appformat.import_app(fresh, document) == ["saved API method searchPeopleByMeal as revision 2"]
    document["api_methods"] = []
    assert "deleted API method searchPeopleByMeal" in appformat.import_app(fresh, document, drop_missing=True)
    assert not ApiMethod.objects.filter(app=fresh).exists()


def test_an_import_that_does_not_fit_the_tables_names_the_place_and_changes_nothing(
    app: App, owner: Any, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    make_method("Search", **BY_TITLE)
    document = appformat.export_app(app)
    document["api_methods"].append(
        {
            "title": "Broken",
            "table": "photos",
            "actions": [{"type": "aggregate", "function": "sum", "field": "titel"}],
        }
    )
    document["api_methods"][0]["actions"][0]["sort"] = [{"field": "rating"}]
    with pytest.raises(ValidationError) as error:
        appformat.import_app(app, document)
    assert error.value.detail == {"api_methods[1].actions[0].field": ["photos has no field 'titel'."]}
    assert list(ApiMethodRevision.objects.values_list("number", flat=True)) == [1]  # the whole import rolled back


def test_an_import_refuses_a_name_a_kscript_has(app: App, owner: Any, photo_tables: dict[str, Table]) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    document = appformat.export_app(app) | {
        "kscripts": [{"title": "Search", "code": "K.setResponse(1);"}],
        "api_methods": [{"title": "Search", **BY_TITLE}],
    }
    with pytest.raises(ValidationError) as error:
        appformat.import_app(app, document)
    assert error.value.detail == {"api_methods[0].title": ["Another method of this app is already called search."]}
    assert not ApiMethod.objects.exists()
    assert services.latest_revisions(app) == []


@pytest.mark.parametrize(
    ("api_methods", "detail"),
    [
        ("not a list", {"api_methods": ["Give a list of API methods."]}),
        ([{"table": "photos"}], {"api_methods[0]": ["Give each API method a title."]}),
        (
            [{"title": "Extra", "owner": "me"}],
            {"api_methods[0]": ["Unknown key 'owner'; expected title, table, params, actions, returned."]},
        ),
        (
            [{"title": "a b", **BY_TITLE}, {"title": "A B", **BY_TITLE}],
            {"api_methods[1].title": ["Two methods in the document have this name."]},
        ),
    ],
)
def test_a_badly_shaped_api_methods_section_is_refused_by_place(
    app: App, photo_tables: dict[str, Table], api_methods: Any, detail: dict[str, list[str]]
) -> None:
    document = appformat.export_app(app) | {"api_methods": api_methods}
    with pytest.raises(ValidationError) as error:
        appformat.import_app(app, document)
    assert error.value.detail == detail
    assert not ApiMethod.objects.exists()
