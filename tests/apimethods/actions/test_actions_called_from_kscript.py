"""K.callAPIMethod reaching drag-and-drop API methods: deployed ones from deployed scripts
called over the Kumulos protocol, latest drafts from Run It!, inside the calling script's
transaction and deadline, results in JS values as the client's payload holds them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from apimethods.actions import execute
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table
from console.tables.scripting import script_database
from runtime import HostError
from runtime.limits import Deadline
from tests.apimethods.actions.test_actions_wire import PHOTOS_WITH_ALL, call, create, deploy, query

pytestmark = pytest.mark.django_db(transaction=True)

MAY_1 = 1_462_060_800  # 2016-05-01 00:00:00 UTC


def kscript(client: Any, app: App, title: str, code: str, params: list[dict[str, str]] | None = None) -> Any:
    body = {"title": title, "return_type": "objects", "params": params or [], "code": code}
    response = client.post(f"/api/apps/{app.id}/kscripts/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def photos(kapp: App, photo_tables: dict[str, Table]) -> dict[str, int]:
    users, photos, comments = photo_tables["users"], photo_tables["photos"], photo_tables["comments"]
    ann = table_services.insert_record(users, {"name": "Ann", "born": MAY_1})["userID"]
    sunset = table_services.insert_record(
        photos, {"title": "Sunset", "photographer": ann, "rating": 4.5, "public": True, "image": "AAEC"}
    )["photoID"]
    table_services.insert_record(comments, {"body": "Lovely", "photo": sunset, "author": ann})
    return {"ann": ann, "sunset": sunset}


ADD_COMMENT = {
    "table": "comments",
    "params": [{"field": "body"}, {"field": "photo"}, {"field": "author"}],
    "actions": [
        {
            "type": "create",
            "values": [
                {"field": "body", "value": {"param": "body"}},
                {"field": "photo", "value": {"param": "photo"}},
                {"field": "author", "value": {"param": "author"}},
            ],
        }
    ],
}


def test_a_deployed_script_gets_an_api_methods_records_as_js_values(
    kapp: App, owner: Any, client_for: Callable, photos: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, kapp, "Photo by title", **PHOTOS_WITH_ALL)
    kscript(
        client,
        kapp,
        "Describe",
        "var found = K.callAPIMethod('photoByTitle', {title: K.params.title});"
        "if (!found.length) { K.setResponse({n: 0}); } else {"
        "var p = found[0];"
        "K.setResponse({n: found.length, kinds: [typeof p.photoID, typeof p.rating, typeof p.public,"
        " typeof p.timeCreated, typeof p.image], by: p.photographer.name, born: p.photographer.born,"
        " comments: p.comments.map(function (c) { return c.body; }), image: p.image, rating: p.rating}); }",
        [{"name": "title", "type": "string"}],
    )
    assert deploy(client, kapp).status_code == 201
    body = call(wsgi_server, kapp, "describe", {"title": "Sunset"})
    assert body["responseCode"] == 1, body
    payload = body["payload"]
    # Numbers are numbers, Booleans Booleans, dates epoch seconds and data base64: as K.select gives them.
    assert payload["kinds"] == ["number", "number", "boolean", "number", "string"]
    assert (payload["n"], payload["by"], payload["comments"]) == (1, "Ann", ["Lovely"])
    assert (payload["born"], payload["image"], payload["rating"]) == (MAY_1, "AAEC", 4.5)
    # A title that matches nothing: an empty list, not an error.
    assert call(wsgi_server, kapp, "describe", {"title": "Nothing"})["payload"]["n"] == 0


def test_an_api_methods_writes_share_the_scripts_transaction(
    kapp: App, owner: Any, client_for: Callable, photos: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, kapp, "Add comment", **ADD_COMMENT)
    kscript(
        client,
        kapp,
        "Comment twice",
        "var a = K.callAPIMethod('addComment', {body: 'one', photo: K.params.photo, author: K.params.author});"
        "var b = K.callAPIMethod('addComment', {body: 'two', photo: K.params.photo, author: K.params.author});"
        "if (K.params.fail) throw new Error('changed my mind after ' + a + ' and ' + b);"
        "K.setResponse({ids: [a, b], kind: typeof a});",
        [
            {"name": "photo", "type": "integer"},
            {"name": "author", "type": "integer"},
            {"name": "fail", "type": "boolean"},
        ],
    )
    assert deploy(client, kapp).status_code == 201
    params = {"photo": str(photos["sunset"]), "author": str(photos["ann"])}
    failed = call(wsgi_server, kapp, "commentTwice", {**params, "fail": "1"})
    assert failed["responseCode"] == 64 and "changed my mind after" in failed["responseMessage"]
    # Both creates ran (they returned IDs) and were rolled back with the script.
    assert query(kapp, "SELECT body FROM comments ORDER BY 1") == [("Lovely",)]
    body = call(wsgi_server, kapp, "commentTwice", {**params, "fail": "0"})
    assert body["responseCode"] == 1 and body["payload"]["kind"] == "number"
    a, b = body["payload"]["ids"]
    assert b == a + 1
    assert query(kapp, "SELECT body FROM comments ORDER BY 1") == [("Lovely",), ("one",), ("two",)]


def test_a_failing_api_method_is_a_failure_value_and_takes_back_only_its_own_writes(
    kapp: App,
    owner: Any,
    client_for: Callable,
    photo_tables: dict[str, Table],
    photos: dict[str, int],
    wsgi_server: str,
) -> None:
    client = client_for(owner)
    # A create with a nested create whose parent does not exist: the second statement fails.
    create(
        client,
        kapp,
        "Comment and reply",
        table="comments",
        params=[{"field": "body"}, {"field": "photo"}, {"field": "author"}],
        actions=[
            {
                "id": "c1",
                "type": "create",
                "values": [
                    {"field": "body", "value": {"param": "body"}},
                    {"field": "photo", "value": {"param": "photo"}},
                    {"field": "author", "value": {"param": "author"}},
                ],
                "actions": [
                    {
                        "type": "create",
                        "values": [
                            {"field": "body", "value": {"param": "body"}},
                            {"field": "photo", "value": {"row": "photo"}},
                            {"field": "author", "value": {"row": "commentID"}},
                        ],
                    }
                ],
            }
        ],
        returned="c1",
    )
    kscript(
        client,
        kapp,
        "Try it",
        f"if (failed(K.insert('{photo_tables['users'].alias}', {{name: 'Bea'}}))) throw new Error('no insert');"
        "var a = K.callAPIMethod('commentAndReply', {body: 'x', photo: K.params.photo, author: K.params.author});"
        "var b = K.callAPIMethod('commentAndReply', {body: 'x', photo: 'twelve'});"
        "K.setResponse({failed: [failed(a), failed(b)], message: a.error + ' | ' + b.error});",
        [{"name": "photo", "type": "integer"}, {"name": "author", "type": "integer"}],
    )
    assert deploy(client, kapp).status_code == 201
    body = call(wsgi_server, kapp, "tryIt", {"photo": str(photos["sunset"]), "author": "999999"})
    assert body["responseCode"] == 1, body
    assert body["payload"]["failed"] == [True, True]
    database_error, bad_param = body["payload"]["message"].split(" | ")
    assert database_error.startswith("commentAndReply failed:") and "foreign key" in database_error
    assert "photo" in bad_param and "integer" in bad_param
    # The script's own write stands; neither create of the failed method does.
    assert query(kapp, "SELECT name FROM users ORDER BY 1") == [("Ann",), ("Bea",)]
    assert query(kapp, "SELECT body FROM comments") == [("Lovely",)]


def test_run_it_calls_the_latest_draft_and_clients_the_deployed_revision(
    kapp: App, owner: Any, client_for: Callable, photos: dict[str, int], wsgi_server: str
) -> None:
    client = client_for(owner)
    counted = {
        "table": "photos",
        "params": [],
        "actions": [{"type": "aggregate", "function": "count"}],
    }
    method = create(client, kapp, "Photo count", **counted)
    script = kscript(client, kapp, "Count", "K.setResponse({n: K.callAPIMethod('photoCount', {})});")
    assert deploy(client, kapp).status_code == 201
    # The draft now sums the ratings instead of counting.
    summed = {**counted, "actions": [{"type": "aggregate", "function": "sum", "field": "rating"}]}
    saved = client.put(
        f"/api/apps/{kapp.id}/apimethods/{method['id']}/",
        {"title": "Photo count", **summed, "base_revision": 1},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    run = client.post(f"/api/apps/{kapp.id}/kscripts/{script['id']}/run/", {"params": {}}, format="json").json()
    assert run["ok"] is True and run["result"] == {"n": 4.5}
    assert call(wsgi_server, kapp, "count")["payload"] == {"n": 1}


def test_a_method_that_no_longer_fits_the_tables_says_so_in_the_script(
    kapp: App, owner: Any, client_for: Callable, photo_tables: dict[str, Table], wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, kapp, "Photo by title", **PHOTOS_WITH_ALL)
    kscript(
        client,
        kapp,
        "Look",
        "var r = K.callAPIMethod('photoByTitle', {title: 'x'}); K.setResponse(failed(r) ? r.error : 'ran');",
    )
    assert deploy(client, kapp).status_code == 201
    title = photo_tables["photos"].fields.get(name="title")
    table_services.rename_field(title, "caption")
    body = call(wsgi_server, kapp, "look")
    assert body["responseCode"] == 1
    assert "photoByTitle no longer matches the app's tables" in body["payload"]
    assert "title" in body["payload"]


def test_unknown_methods_are_still_refused(kapp: App, owner: Any, client_for: Callable, wsgi_server: str) -> None:
    client = client_for(owner)
    script = kscript(client, kapp, "Nothing", "K.setResponse({error: K.callAPIMethod('noSuchThing', {}).error});")
    run = client.post(f"/api/apps/{kapp.id}/kscripts/{script['id']}/run/", {"params": {}}, format="json").json()
    assert run["ok"] is True and run["result"] == {"error": "No such method: noSuchThing"}


def test_a_method_called_past_the_invocations_deadline_runs_nothing(
    kapp: App, owner: Any, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    make_method(
        "Add user",
        table="users",
        params=[{"field": "name"}],
        actions=[{"type": "create", "values": [{"field": "name", "value": {"param": "name"}}]}],
    )
    callee = execute.draft_callees(kapp)["addUser"]
    deadline = Deadline(0.2)
    with script_database(kapp.pk, deadline=deadline) as database:
        tables = execute.load_schema(kapp.pk, database.version)
        assert callee.call(database, tables, {"name": "Ann"}, deadline) > 0
        time.sleep(0.25)
        with pytest.raises(HostError, match="^addUser failed: the invocation's time limit has passed$"):
            callee.call(database, tables, {"name": "Bea"}, deadline)
    assert query(kapp, "SELECT name FROM users") == [("Ann",)]
