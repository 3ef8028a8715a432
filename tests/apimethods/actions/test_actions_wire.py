"""Deployed API methods called over the Kumulos protocol exactly like KScripts, on Kiln's
own WSGI application: every action's payload in JSON and plist (parsed back with plistlib),
record values typed per wire protocol §5.3, deploys, and failures."""

from __future__ import annotations

import plistlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from apimethods.models import Deployment
from console.apps import services as app_services
from console.apps.models import App
from console.tables import isolation
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

MAY_1 = 1_462_060_800  # 2016-05-01 00:00:00 UTC


def call(server: str, app: App, method: str, params: dict[str, str] | None = None, fmt: str = "json") -> Any:
    response = requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.{fmt}",
        auth=(app.api_key, app.secret_key),
        data={f"params[{k}]": v for k, v in (params or {}).items()},
        timeout=30,
    )
    assert response.status_code == 200
    if fmt == "plist":
        assert response.headers["Content-Type"] == "application/xml"
        return plistlib.loads(response.content)
    return response.json()


def query(app: App, text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with isolation.app_cursor(app.pk) as cur:
        cur.execute(text, params or [])
        return [tuple(row) for row in cur.fetchall()] if cur.description else []


@pytest.fixture
def data(app: App, photo_tables: dict[str, Table]) -> dict[str, int]:
    users, photos, comments = photo_tables["users"], photo_tables["photos"], photo_tables["comments"]
    ann = table_services.insert_record(users, {"name": "Ann", "born": MAY_1 - 86_400})["userID"]
    sunset = table_services.insert_record(
        photos, {"title": "Sunset", "photographer": ann, "rating": 4.5, "public": True, "image": "AAEC"}
    )["photoID"]
    comment = table_services.insert_record(comments, {"body": "Lovely", "photo": sunset, "author": ann})["commentID"]
    for table in ("users", "photos", "comments"):  # timeUpdated is the database's: now
        query(app, f'UPDATE {table} SET "timeCreated" = %s', [_at(MAY_1)])
    return {"ann": ann, "sunset": sunset, "comment": comment}


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def updated_times(record: dict[str, Any]) -> list[Any]:
    """Take out every timeUpdated of a record and its related records (set by the database)."""
    found = [record.pop("timeUpdated")]
    for value in record.values():
        for related in value if isinstance(value, list) else [value]:
            if isinstance(related, dict):
                found += updated_times(related)
    return found


def create(client: Any, app: App, title: str, **definition: Any) -> Any:
    response = client.post(f"/api/apps/{app.id}/apimethods/", {"title": title, **definition}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def deploy(client: Any, app: App) -> Any:
    return client.post(f"/api/apps/{app.id}/deployments/")


PHOTOS_WITH_ALL = {
    "table": "photos",
    "params": [{"field": "title"}],
    "actions": [
        {
            "type": "select",
            "filters": [{"field": "title", "op": "=", "value": {"param": "title"}}],
            "related": [{"field": "photographer"}, {"table": "comments", "field": "photo"}],
        }
    ],
}


def test_a_select_in_json_has_mysql_style_strings_and_related_records(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    assert deploy(client, app).status_code == 201
    body = call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})
    assert (body["responseCode"], body["responseMessage"]) == (1, "Success")
    may_1 = "2016-05-01 00:00:00"
    stamps = updated_times(body["payload"][0])
    assert len(stamps) == 3 and all(re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in stamps)
    assert body["payload"] == [
        {
            "photoID": str(data["sunset"]),
            "timeCreated": may_1,
            "title": "Sunset",
            "description": None,
            "image": "AAEC",
            "rating": "4.5",
            "public": "1",
            "photographer": {
                "userID": str(data["ann"]),
                "timeCreated": may_1,
                "name": "Ann",
                "born": "2016-04-30 00:00:00",
                "city": None,
            },
            "comments": [
                {
                    "commentID": str(data["comment"]),
                    "timeCreated": may_1,
                    "body": "Lovely",
                    "photo": str(data["sunset"]),
                    "author": str(data["ann"]),
                }
            ],
        }
    ]
    assert call(wsgi_server, app, "photoByTitle", {"title": "Nothing"})["payload"] == []


def test_a_select_in_a_plist_has_native_values_and_leaves_out_nulls(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    deploy(client, app)
    envelope = call(wsgi_server, app, "photoByTitle", {"title": "Sunset"}, fmt="plist")
    may_1 = datetime(2016, 5, 1)  # plistlib reads dates as naive UTC
    assert envelope["responseCode"] == 1
    stamps = updated_times(envelope["payload"][0])
    assert len(stamps) == 3 and all(isinstance(t, datetime) and t.year > 2020 for t in stamps)
    assert envelope["payload"] == [
        {
            "photoID": data["sunset"],
            "timeCreated": may_1,
            "title": "Sunset",
            "image": b"\x00\x01\x02",
            "rating": 4.5,
            "public": 1,
            "photographer": {
                "userID": data["ann"],
                "timeCreated": may_1,
                "name": "Ann",
                "born": datetime(2016, 4, 30),
            },
            "comments": [
                {
                    "commentID": data["comment"],
                    "timeCreated": may_1,
                    "body": "Lovely",
                    "photo": data["sunset"],
                    "author": data["ann"],
                }
            ],
        }
    ]
    assert type(envelope["payload"][0]["public"]) is int  # <integer>1</integer>, not <true/>


@pytest.mark.parametrize("fmt", ["json", "plist"])
def test_create_update_delete_and_aggregate_payloads_are_numbers(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str, fmt: str
) -> None:
    client = client_for(owner)
    create(
        client,
        app,
        "Add comment",
        table="comments",
        params=[{"field": "body"}, {"field": "photo"}, {"field": "author"}],
        actions=[
            {
                "type": "create",
                "values": [
                    {"field": "body", "value": {"param": "body"}},
                    {"field": "photo", "value": {"param": "photo"}},
                    {"field": "author", "value": {"param": "author"}},
                ],
            }
        ],
    )
    create(
        client,
        app,
        "Rate photo",
        table="photos",
        params=[{"field": "photoID"}, {"field": "rating"}],
        actions=[
            {
                "type": "update",
                "values": [{"field": "rating", "value": {"param": "rating"}}],
                "filters": [{"field": "photoID", "op": "=", "value": {"param": "photoID"}}],
            }
        ],
    )
    create(
        client,
        app,
        "Delete comments",
        table="comments",
        params=[{"field": "photo"}],
        actions=[{"type": "delete", "filters": [{"field": "photo", "op": "=", "value": {"param": "photo"}}]}],
    )
    create(
        client,
        app,
        "Average rating",
        table="photos",
        params=[{"field": "title"}],
        actions=[
            {
                "type": "aggregate",
                "function": "avg",
                "field": "rating",
                "filters": [{"field": "title", "op": "=", "value": {"param": "title"}}],
            }
        ],
    )
    deploy(client, app)
    sunset, ann = str(data["sunset"]), str(data["ann"])
    new_id = call(wsgi_server, app, "addComment", {"body": "Nice", "photo": sunset, "author": ann}, fmt)["payload"]
    assert type(new_id) is int and new_id > data["comment"]
    assert call(wsgi_server, app, "ratePhoto", {"photoID": sunset, "rating": "2.25"}, fmt)["payload"] == 1
    assert call(wsgi_server, app, "ratePhoto", {"photoID": sunset, "rating": "2.25"}, fmt)["payload"] == 0
    assert call(wsgi_server, app, "averageRating", {"title": "Sunset"}, fmt)["payload"] == 2.25
    nothing = call(wsgi_server, app, "averageRating", {"title": "None such"}, fmt)
    if fmt == "json":
        assert nothing["payload"] is None
    else:
        assert "payload" not in nothing  # a plist has no null
    assert call(wsgi_server, app, "deleteComments", {"photo": sunset}, fmt)["payload"] == 2
    assert query(app, "SELECT count(*) FROM comments") == [(0,)]


def test_json_bodies_and_no_params_work_too(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, app, "Count photos", table="photos", actions=[{"type": "aggregate", "function": "count"}])
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    deploy(client, app)
    response = requests.post(
        f"{wsgi_server}/b2.2/{app.api_key}/countPhotos.json", auth=(app.api_key, app.secret_key), timeout=30
    )
    assert response.json()["payload"] == 1
    as_json = requests.post(
        f"{wsgi_server}/b2.2/{app.api_key}/photoByTitle.json",
        auth=(app.api_key, app.secret_key),
        json={"params": {"title": "Sunset"}, "sessionToken": "abc"},
        timeout=30,
    ).json()
    assert ([p["title"] for p in as_json["payload"]], as_json["sessionToken"]) == (["Sunset"], "abc")


def test_clients_get_the_deployed_revision_and_never_a_mix(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    client = client_for(owner)
    method = create(client, app, "Count photos", table="photos", actions=[{"type": "aggregate", "function": "count"}])
    client.post(f"/api/apps/{app.id}/kscripts/", {"title": "Ping", "code": "K.setResponse('pong');"}, format="json")
    assert call(wsgi_server, app, "countPhotos")["responseCode"] == 4  # defined, not deployed
    deployed = deploy(client, app).json()
    assert (deployed["methods"], deployed["revisions"], deployed["kinds"]) == (
        ["countPhotos", "ping"],
        {"countPhotos": 1, "ping": 1},
        {"countPhotos": "apimethod", "ping": "kscript"},
    )
    saved = client.put(
        f"/api/apps/{app.id}/apimethods/{method['id']}/",
        {
            "title": "Count photos",
            "table": "photos",
            "actions": [{"type": "aggregate", "function": "sum", "field": "rating"}],
            "base_revision": 1,
        },
        format="json",
    )
    assert saved.status_code == 200
    assert call(wsgi_server, app, "countPhotos")["payload"] == 1  # still the deployed count
    assert call(wsgi_server, app, "ping")["payload"] == "pong"
    listed = client.get(f"/api/apps/{app.id}/apimethods/").json()
    assert [(m["name"], m["latest_revision"], m["deployed_revision"]) for m in listed] == [("countPhotos", 2, 1)]
    deploy(client, app)
    assert call(wsgi_server, app, "countPhotos")["payload"] == 4.5


def test_a_deploy_refuses_a_method_that_no_longer_fits_and_keeps_the_live_one(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], photo_tables: dict[str, Table], field_of: Callable
) -> None:
    client = client_for(owner)
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    deploy(client, app)
    table_services.rename_field(field_of(photo_tables["photos"], "title"), "caption")
    refused = deploy(client, app)
    assert refused.status_code == 400
    assert refused.json() == {"api_methods": ["photoByTitle: params[0].field: photos has no field 'title'."]}
    assert list(Deployment.objects.filter(app=app).values_list("number", flat=True)) == [1]


def test_a_field_renamed_after_the_deploy_is_reported_clearly(
    app: App,
    owner: Any,
    client_for: Callable,
    data: dict[str, int],
    photo_tables: dict[str, Table],
    field_of: Callable,
    wsgi_server: str,
) -> None:
    client = client_for(owner)
    method = create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    deploy(client, app)
    assert call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})["responseCode"] == 1
    table_services.rename_field(field_of(photo_tables["photos"], "title"), "caption")
    body = call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})
    assert (body["responseCode"], body["payload"]) == (64, None)
    assert body["responseMessage"] == (
        "API method photoByTitle no longer matches the app's tables (params[0].field: photos has no field"
        " 'title'.); fix it in the console and deploy again"
    )
    fixed = {
        "title": "Photo by title",
        "table": "photos",
        "params": [{"field": "caption", "name": "title"}],
        "actions": [{"type": "select", "filters": [{"field": "caption", "op": "=", "value": {"param": "title"}}]}],
        "base_revision": 1,
    }
    assert client.put(f"/api/apps/{app.id}/apimethods/{method['id']}/", fixed, format="json").status_code == 200
    deploy(client, app)
    assert [p["caption"] for p in call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})["payload"]] == ["Sunset"]


def test_a_field_added_after_the_deploy_shows_in_records(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], photo_tables: dict[str, Table], wsgi_server: str
) -> None:
    """Plans are per schema version: the next call compiles against the new tables."""
    client = client_for(owner)
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    deploy(client, app)
    assert "place" not in call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})["payload"][0]
    table_services.add_field(photo_tables["photos"], "place", "string")
    assert call(wsgi_server, app, "photoByTitle", {"title": "Sunset"})["payload"][0]["place"] is None


def test_a_database_failure_answers_128_and_writes_nothing(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(
        client,
        app,
        "Comment twice",
        table="comments",
        params=[{"field": "body"}, {"field": "photo"}, {"name": "other", "type": "integer"}],
        actions=[
            {"type": "create", "values": [{"field": "photo", "value": {"param": "photo"}}]},
            {"type": "create", "values": [{"field": "photo", "value": {"param": "other"}}]},
        ],
    )
    deploy(client, app)
    for fmt in ("json", "plist"):
        body = call(wsgi_server, app, "commentTwice", {"photo": str(data["sunset"]), "other": "999999"}, fmt)
        assert body["responseCode"] == 128
        assert body["responseMessage"].startswith("Database error (request id ")
    assert query(app, "SELECT count(*) FROM comments") == [(1,)]


def test_a_parameter_that_does_not_convert_answers_32(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, app, "Photo by title", **PHOTOS_WITH_ALL)
    create(
        client,
        app,
        "Photos paged",
        table="photos",
        params=[{"name": "limit", "type": "integer"}],
        actions=[{"type": "select", "limit": {"param": "limit"}}],
    )
    deploy(client, app)
    body = call(wsgi_server, app, "photosPaged", {"limit": "ten"})
    assert (body["responseCode"], body["responseMessage"]) == (
        32,
        "Invalid request: Parameter 'limit' must be an integer",
    )
    long = call(wsgi_server, app, "photoByTitle", {"title": "x" * 300})
    assert (long["responseCode"], long["responseMessage"]) == (
        32,
        "Invalid request: Parameter 'title' is longer than 255 characters",
    )


def test_a_statement_past_the_calls_time_limit_is_cancelled_and_answers_64(
    app: App, owner: Any, client_for: Callable, data: dict[str, int], wsgi_server: str
) -> None:
    """The statement waits on a lock another transaction holds; the call's time (the app's
    1 s limit) runs out, PostgreSQL cancels it, and nothing is written."""
    app.script_timeout_seconds = 1
    app.save()
    client = client_for(owner)
    create(
        client,
        app,
        "Rename photo",
        table="photos",
        params=[{"field": "photoID"}, {"field": "title"}],
        actions=[
            {"type": "create", "table": "comments", "values": [{"field": "body", "value": {"param": "title"}}]},
            {
                "type": "update",
                "values": [{"field": "title", "value": {"param": "title"}}],
                "filters": [{"field": "photoID", "op": "=", "value": {"param": "photoID"}}],
            },
        ],
    )
    deploy(client, app)
    holder = isolation.lease(app.pk)
    try:
        holder.begin(60_000)
        holder.cursor().execute('SELECT 1 FROM photos WHERE "photoID" = %s FOR UPDATE', [data["sunset"]])
        body = call(wsgi_server, app, "renamePhoto", {"photoID": str(data["sunset"]), "title": "Dawn"})
    finally:
        isolation.release(holder, commit=False)
    assert (body["responseCode"], body["responseMessage"]) == (
        64,
        "API method renamePhoto ran past its time limit of 1 s; nothing was written",
    )
    assert query(app, "SELECT title FROM photos") == [("Sunset",)]
    assert query(app, "SELECT body FROM comments") == [("Lovely",)]
