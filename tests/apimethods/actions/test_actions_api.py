"""API methods through the console API: names, revisions and conflicts, checks against the
tables, access rules (owner / developer / outsider), the impact of a schema change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apimethods.models import ApiMethod, ApiMethodRevision, KScriptMethod
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db

SEARCH = {
    "table": "photos",
    "params": [{"field": "photographer"}, {"name": "limit", "type": "integer"}],
    "actions": [
        {
            "type": "select",
            "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
            "limit": {"param": "limit"},
        }
    ],
}


def create(client: Any, app: App, title: str = "Photos by user", **overrides: Any) -> Any:
    return client.post(f"/api/apps/{app.id}/apimethods/", {"title": title, **SEARCH, **overrides}, format="json")


def test_creating_derives_the_name_and_stores_the_canonical_definition(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    response = create(client_for(member), app)
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["revision"], body["author"], body["kind"]) == ("photosByUser", 1, "devon", "apimethod")
    assert body["params"] == [{"name": "photographer", "field": "photographer"}, {"name": "limit", "type": "integer"}]
    assert body["actions"] == [
        {
            "id": "a1",
            "type": "select",
            "table": "photos",
            "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
            "sort": [],
            "limit": {"param": "limit"},
            "offset": None,
            "related": [],
            "actions": [],
        }
    ]
    assert body["signature"] == {
        "name": "photosByUser",
        "params": [{"name": "photographer", "type": "integer"}, {"name": "limit", "type": "integer"}],
        "returns": {"type": "records", "action": "a1", "action_type": "select", "table": "photos"},
    }
    assert body["problems"] == {}


def test_the_editors_full_body_with_a_null_returned_action_saves(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    """What the editor sends: every key of the definition, `returned` null for the default."""
    client = client_for(owner)
    created = create(client, app, returned=None)
    assert (created.status_code, created.json()["returned"]) == (201, None)
    body = {**{k: created.json()[k] for k in ("title", "table", "params", "actions", "returned")}, "base_revision": 1}
    saved = client.put(f"/api/apps/{app.id}/apimethods/{created.json()['id']}/", body, format="json")
    assert (saved.status_code, saved.json()["revision"], saved.json()["returned"]) == (200, 2, None)


def test_outsiders_get_404_and_nothing_is_created(
    app: App, owner: Any, outsider: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    method = create(client_for(owner), app).json()
    assert create(client_for(outsider), app, title="Sneaky").status_code == 404
    assert client_for(outsider).get(f"/api/apps/{app.id}/apimethods/{method['id']}/").status_code == 404
    assert client_for(outsider).delete(f"/api/apps/{app.id}/apimethods/{method['id']}/").status_code == 404
    run = client_for(outsider).post(f"/api/apps/{app.id}/apimethods/{method['id']}/run/", {}, format="json")
    assert run.status_code == 404
    assert list(ApiMethod.objects.values_list("name", flat=True)) == ["photosByUser"]
    assert client_for(None).get(f"/api/apps/{app.id}/apimethods/").status_code == 403


def test_api_methods_need_no_kscript_switch(app: App, owner: Any, client_for: Callable, photo_tables: Any) -> None:
    assert not app.kscript_enabled
    assert create(client_for(owner), app).status_code == 201


def test_names_are_unique_among_api_methods_and_kscripts_also_on_rename(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    client = client_for(owner)
    client.post(f"/api/apps/{app.id}/kscripts/", {"title": "Greet user", "code": "K.setResponse(1);"}, format="json")
    first = create(client, app).json()
    clash = create(client, app, title="greet User")
    assert clash.status_code == 400
    assert clash.json()["title"] == ["Another method of this app is already called greetUser."]
    assert create(client, app, title="Photos By user").status_code == 400
    kscript = client.post(
        f"/api/apps/{app.id}/kscripts/", {"title": "photos by user", "code": "K.setResponse(1);"}, format="json"
    )
    assert kscript.status_code == 400
    rename = client.put(
        f"/api/apps/{app.id}/apimethods/{first['id']}/",
        {"title": "Greet user", **SEARCH, "base_revision": 1},
        format="json",
    )
    assert rename.status_code == 400
    assert ApiMethod.objects.get().name == "photosByUser"
    assert list(KScriptMethod.objects.values_list("name", flat=True)) == ["greetUser"]
    assert ApiMethodRevision.objects.count() == 1


def test_every_save_is_a_revision_and_a_stale_one_is_a_conflict_naming_the_newer(
    app: App, owner: Any, member: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    first = create(client_for(owner), app).json()
    url = f"/api/apps/{app.id}/apimethods/{first['id']}/"
    by_member = client_for(member).put(url, {"title": "Photos of user", **SEARCH, "base_revision": 1}, format="json")
    assert (by_member.status_code, by_member.json()["revision"], by_member.json()["name"]) == (200, 2, "photosOfUser")
    stale = client_for(owner).put(url, {"title": "Mine", **SEARCH, "base_revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["latest_revision"] == 2 and stale.json()["author"] == "devon"
    assert stale.json()["detail"] == "Revision 2 by devon is newer than the one you edited."
    assert ApiMethod.objects.get().name == "photosOfUser"
    forced = client_for(owner).put(
        url, {"title": "Mine", **SEARCH, "base_revision": 1, "overwrite": True}, format="json"
    )
    assert (forced.json()["revision"], forced.json()["name"]) == (3, "mine")
    history = client_for(owner).get(url + "revisions/").json()
    assert [(h["revision"], h["title"], h["author"]) for h in history] == [
        (3, "Mine", "olivia"),
        (2, "Photos of user", "devon"),
        (1, "Photos by user", "olivia"),
    ]
    old = client_for(owner).get(url + "revisions/2/").json()
    assert (old["title"], old["revision"], old["latest_revision"]) == ("Photos of user", 2, 3)


def test_a_definition_that_does_not_fit_the_tables_is_refused_by_place(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    response = create(
        client_for(owner),
        app,
        params=[
            {"field": "titel"},
            {"name": "q", "type": "string"},
            {"name": "off", "type": "string", "enabled": False},
        ],
        actions=[
            {
                "type": "select",
                "filters": [
                    {"field": "title", "op": "contains", "value": {"param": "q"}},
                    {"join": "or", "field": "rating", "op": "starts_with", "value": {"param": "q"}},
                    {"field": "name", "via": ["photographer"], "op": "=", "value": {"param": "off"}},
                    {"field": "body", "via": ["comment.photo"], "op": "=", "value": {"param": "q"}},
                ],
                "sort": [{"field": "nope"}],
            },
            {"type": "delete", "table": "comments"},
            {"type": "update", "values": [{"field": "photoID", "value": {"row": "photoID"}}], "all": True},
        ],
    )
    assert response.status_code == 400
    assert response.json() == {
        "params[0].field": ["photos has no field 'titel'."],
        "actions[0].filters[1].op": ["'starts_with' compares text; photos.rating is float."],
        "actions[0].filters[2].value": ["The parameter 'off' is switched off."],
        "actions[0].filters[3].via[0]": ["No table called 'comment'."],
        "actions[0].sort[0].field": ["photos has no field 'nope'."],
        "actions[1].filters": ["Without a filter this deletes every record; set 'all' to mean it."],
        "actions[2].values[0].field": ["photoID is filled in automatically."],
        "actions[2].values[0].value": ["Only a nested action can take a value from an enclosing select or create."],
    }
    assert not ApiMethod.objects.exists()


def test_a_bad_shape_is_refused_by_place(app: App, owner: Any, client_for: Callable, photo_tables: Any) -> None:
    response = create(
        client_for(owner),
        app,
        actions=[{"type": "select", "limit": 20, "filters": [{"field": "title", "op": "like"}]}, {"type": "merge"}],
        returned=["a1"],
    )
    assert response.status_code == 400
    assert response.json() == {
        "actions[0].filters[0].op": [
            "Choose an operator: =, !=, <, <=, >, >=, contains, starts_with, ends_with, is_empty, is_not_empty."
        ],
        "actions[0].limit": ['Give the value as {"param": name}.'],
        "actions[1].type": ["Choose an action type: create, select, update, delete, aggregate."],
        "returned": ["Give the id of the returned action."],
    }
    assert not ApiMethod.objects.exists()


def test_an_action_nested_in_a_select_cannot_be_returned(
    app: App, owner: Any, client_for: Callable, photo_tables: Any
) -> None:
    response = create(
        client_for(owner),
        app,
        actions=[{"id": "rows", "type": "select", "actions": [{"id": "n", "type": "aggregate", "function": "count"}]}],
        returned="n",
    )
    assert response.status_code == 400
    assert response.json() == {"returned": ["An action nested in a select runs once per row; it cannot be returned."]}


def test_deleting_a_method_removes_its_revisions(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    method = create(client_for(member), app).json()
    assert client_for(member).delete(f"/api/apps/{app.id}/apimethods/{method['id']}/").status_code == 204
    assert not ApiMethod.objects.exists() and not ApiMethodRevision.objects.exists()


def test_the_list_shows_signature_revision_and_problems_after_a_rename(
    app: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table], field_of: Callable
) -> None:
    client = client_for(owner)
    create(client, app)
    table_services.rename_field(field_of(photo_tables["photos"], "photographer"), "takenBy")
    listed = client.get(f"/api/apps/{app.id}/apimethods/").json()
    assert [(m["name"], m["latest_revision"], m["deployed_revision"], m["table"]) for m in listed] == [
        ("photosByUser", 1, None, "photos")
    ]
    assert listed[0]["problems"] == {
        "params[0].field": ["photos has no field 'photographer'."],
        "actions[0].filters[0].field": ["photos has no field 'photographer'."],
    }


def test_impact_names_the_methods_a_schema_change_would_break(
    app: App, owner: Any, client_for: Callable, meal_tables: dict[str, Table]
) -> None:
    client = client_for(owner)
    search = create(
        client,
        app,
        title="Search people by meal",
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
    ).json()
    create(
        client, app, title="Count meals", table="meals", params=[], actions=[{"type": "aggregate", "function": "count"}]
    )
    url = f"/api/apps/{app.id}/apimethods/impact/"
    assert client.get(url, {"table": "meals", "field": "title"}).json() == [
        {"id": search["id"], "name": "searchPeopleByMeal", "places": ["actions[0].filters[0]"]}
    ]
    assert [m["name"] for m in client.get(url, {"table": "favoriteMeals"}).json()] == ["searchPeopleByMeal"]
    assert [m["name"] for m in client.get(url, {"table": "meals"}).json()] == ["countMeals", "searchPeopleByMeal"]
    assert client.get(url, {"table": "meals", "field": "chef"}).json() == []
    assert client.get(url).status_code == 400
