"""KScript methods through the console API: revisions, conflicts, Run It!, deploy, and
deployed methods called over the Kumulos protocol (real V8, PostgreSQL and Redis)."""

from __future__ import annotations

import plistlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.test import Client

from apimethods.models import KScriptMethod, KScriptRevision
from console.apps import services as app_services
from console.apps.models import App

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


def create(client: Any, app: App, **overrides: Any) -> Any:
    body = {"title": "Greet user", "return_type": "objects", "params": [{"name": "name", "type": "string"}]}
    body["code"] = "K.setResponse({hello: K.params.name});"
    body.update(overrides)
    return client.post(f"/api/apps/{app.id}/kscripts/", body, format="json")


def call(server: str, app: App, method: str, data: dict[str, str] | None = None, fmt: str = "json") -> Any:
    """Call a deployed method over the client protocol, as an app would (Kiln's WSGI app)."""
    return requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.{fmt}",
        auth=(app.api_key, app.secret_key),
        data=data or {},
        timeout=30,
    )


def test_kscript_needs_the_platform_switch(app: App, owner: Any, client_for: Callable) -> None:
    response = create(client_for(owner), app)
    assert response.status_code == 403
    assert "not enabled" in response.json()["detail"]
    assert not KScriptMethod.objects.exists()


def test_creating_derives_the_lower_camel_case_name(kapp: App, member: Any, client_for: Callable) -> None:
    body = create(client_for(member), kapp).json()
    assert (body["name"], body["revision"], body["author"]) == ("greetUser", 1, member.username)


def test_outsiders_cannot_see_or_create(kapp: App, owner: Any, outsider: Any, client_for: Callable) -> None:
    method_id = create(client_for(owner), kapp).json()["id"]
    assert create(client_for(outsider), kapp).status_code == 404
    assert client_for(outsider).get(f"/api/apps/{kapp.id}/kscripts/{method_id}/").status_code == 404
    assert KScriptMethod.objects.count() == 1


def test_a_syntax_error_is_refused_with_its_line(kapp: App, owner: Any, client_for: Callable) -> None:
    response = create(client_for(owner), kapp, code='var a = 1;\nvar s = "unterminated;\n')
    assert response.status_code == 400
    assert response.json()["code"][0].startswith("Line 2, column ")
    assert not KScriptMethod.objects.exists()


def test_names_are_unique_also_on_rename(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    create(client, kapp)
    other = create(client, kapp, title="Other").json()
    assert create(client, kapp, title="greet User").status_code == 400
    rename = client.put(
        f"/api/apps/{kapp.id}/kscripts/{other['id']}/",
        {**other, "title": "Greet user", "base_revision": 1},
        format="json",
    )
    assert rename.status_code == 400
    assert "already called greetUser" in rename.json()["title"][0]
    assert KScriptMethod.objects.get(pk=other["id"]).name == "other"


def test_saving_on_an_old_revision_is_a_conflict_naming_the_newer_one(
    kapp: App, owner: Any, member: Any, client_for: Callable
) -> None:
    first = create(client_for(owner), kapp).json()
    url = f"/api/apps/{kapp.id}/kscripts/{first['id']}/"
    assert (
        client_for(member).put(url, {**first, "code": "// member", "base_revision": 1}, format="json").status_code
        == 200
    )
    stale = client_for(owner).put(url, {**first, "code": "// owner", "base_revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["latest_revision"] == 2 and stale.json()["author"] == member.username
    forced = client_for(owner).put(
        url, {**first, "code": "// owner", "base_revision": 1, "overwrite": True}, format="json"
    )
    assert forced.json()["revision"] == 3
    assert list(KScriptRevision.objects.order_by("number").values_list("code", flat=True))[1:] == [
        "// member",
        "// owner",
    ]
    history = client_for(owner).get(url + "revisions/").json()
    assert [h["revision"] for h in history] == [3, 2, 1]


def test_an_earlier_revision_reads_as_saved_and_an_unknown_one_is_not_found(
    kapp: App, owner: Any, member: Any, outsider: Any, client_for: Callable
) -> None:
    first = create(client_for(owner), kapp).json()
    url = f"/api/apps/{kapp.id}/kscripts/{first['id']}/"
    client_for(member).put(url, {**first, "title": "Greet", "code": "// two", "base_revision": 1}, format="json")
    old = client_for(member).get(url + "revisions/1/").json()
    assert (old["title"], old["code"], old["revision"], old["latest_revision"]) == (
        "Greet user",
        "K.setResponse({hello: K.params.name});",
        1,
        2,
    )
    assert old["author"] == owner.username
    assert client_for(member).get(url + "revisions/3/").status_code == 404
    assert client_for(outsider).get(url + "revisions/1/").status_code == 404
    assert client_for(outsider).get(url + "revisions/").status_code == 404


def test_run_it_returns_result_logs_and_duration(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp, code="K.log('hi', K.params.name); K.setResponse({hello: K.params.name});").json()
    run = client.post(f"/api/apps/{kapp.id}/kscripts/{method['id']}/run/", {"params": {"name": "Ann"}}, format="json")
    body = run.json()
    assert body["ok"] is True and body["result"] == {"hello": "Ann"}
    assert body["logs"][0]["args"] == ["hi", "Ann"]
    assert body["duration_ms"] > 0


def test_run_it_reports_the_error_with_line_and_column(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp, code="var a = 1;\n  null.boom();").json()
    body = client.post(f"/api/apps/{kapp.id}/kscripts/{method['id']}/run/", {"params": {}}, format="json").json()
    assert body["ok"] is False
    assert (body["error"]["line"], body["error"]["column"], body["error"]["method"]) == (2, 8, "greetUser")


def test_run_it_stops_an_endless_loop_at_the_apps_time_limit(kapp: App, owner: Any, client_for: Callable) -> None:
    kapp.script_timeout_seconds = 1
    kapp.save()
    client = client_for(owner)
    method = create(client, kapp, code="while (true) {}").json()
    body = client.post(f"/api/apps/{kapp.id}/kscripts/{method['id']}/run/", {"params": {}}, format="json").json()
    assert body["ok"] is False and body["error"]["type"] == "ScriptTimeout"


def test_clients_get_the_deployed_revision_never_the_draft(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str
) -> None:
    client = client_for(owner)
    method = create(client, kapp, code="K.setResponse({v: 'deployed ' + K.params.name});").json()
    assert call(wsgi_server, kapp, "greetUser").json()["responseCode"] == 4
    deployed = client.post(f"/api/apps/{kapp.id}/deployments/").json()
    assert deployed["number"] == 1 and deployed["methods"] == ["greetUser"]
    client.put(
        f"/api/apps/{kapp.id}/kscripts/{method['id']}/",
        {**method, "code": "K.setResponse({v: 'draft'});", "base_revision": 1},
        format="json",
    )
    body = call(wsgi_server, kapp, "greetUser", {"params[name]": "Ann"}).json()
    assert (body["responseCode"], body["payload"]) == (1, {"v": "deployed Ann"})


def test_number_methods_coerce_params_and_call_other_methods_without_disturbing_params(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str
) -> None:
    client = client_for(owner)
    create(
        client,
        kapp,
        title="double",
        return_type="number",
        params=[{"name": "n", "type": "integer"}],
        code="K.setResponse(K.params.n * 2);",
    )
    create(
        client,
        kapp,
        title="sum doubled",
        return_type="number",
        params=[{"name": "n", "type": "integer"}],
        code="include('helpers'); var d = K.callAPIMethod('double', {n: 5}); K.setResponse(d + K.params.n + extra());",
    )
    create(client, kapp, title="helpers", code="function extra() { return 100; }")
    client.post(f"/api/apps/{kapp.id}/deployments/")
    body = call(wsgi_server, kapp, "sumDoubled", {"params[n]": "7"}, fmt="plist")
    envelope = plistlib.loads(body.content)
    assert (envelope["responseCode"], envelope["payload"]) == (1, 117)


def test_a_throwing_deployed_script_answers_64_with_its_message(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str
) -> None:
    client = client_for(owner)
    create(client, kapp, code="throw 'nope';")
    client.post(f"/api/apps/{kapp.id}/deployments/")
    body = call(wsgi_server, kapp, "greetUser").json()
    assert body["responseCode"] == 64
    assert "nope" in body["responseMessage"]


def test_sessions_follow_the_session_token_in_redis(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str
) -> None:
    client = client_for(owner)
    create(
        client,
        kapp,
        title="counter",
        return_type="number",
        params=[],
        code="var n = (K.session.get('n') || 0) + 1; K.session.set('n', n); K.setResponse(n);",
    )
    client.post(f"/api/apps/{kapp.id}/deployments/")

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    counts = [call(wsgi_server, kapp, "counter", {"sessionToken": first}).json()["payload"] for _ in range(3)]
    other = call(wsgi_server, kapp, "counter", {"sessionToken": second}).json()["payload"]
    assert counts == [1, 2, 3] and other == 1


def test_console_pages_need_login() -> None:
    response = Client().get("/api/apps/1/kscripts/")
    assert response.status_code == 403


def test_an_app_with_a_live_deployment_can_still_be_deleted(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    create(client, kapp)
    assert client.post(f"/api/apps/{kapp.id}/deployments/").status_code == 201
    assert client.delete(f"/api/apps/{kapp.id}/").status_code == 204
    assert not App.objects.filter(pk=kapp.pk).exists()


def test_the_list_shows_latest_revision_author_and_what_is_live(
    kapp: App, owner: Any, member: Any, client_for: Callable
) -> None:
    method = create(client_for(owner), kapp).json()
    create(client_for(owner), kapp, title="Other", return_type="number", params=[])
    client_for(owner).post(f"/api/apps/{kapp.id}/deployments/")
    url = f"/api/apps/{kapp.id}/kscripts/{method['id']}/"
    client_for(member).put(url, {**method, "code": "// changed", "base_revision": 1}, format="json")

    listed = client_for(owner).get(f"/api/apps/{kapp.id}/kscripts/").json()

    assert [(m["name"], m["latest_revision"], m["deployed_revision"], m["author"]) for m in listed] == [
        ("greetUser", 2, 1, member.username),
        ("other", 1, 1, owner.username),
    ]
    assert listed[0]["params"] == [{"name": "name", "type": "string"}]
    assert listed[1]["return_type"] == "number"


def test_a_method_created_after_the_deploy_is_not_live(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    client.post(f"/api/apps/{kapp.id}/deployments/")
    create(client, kapp)
    assert [m["deployed_revision"] for m in client.get(f"/api/apps/{kapp.id}/kscripts/").json()] == [None]


def test_deployments_list_marks_the_live_one_with_its_revisions(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp).json()
    client.post(f"/api/apps/{kapp.id}/deployments/")
    client.put(
        f"/api/apps/{kapp.id}/kscripts/{method['id']}/",
        {**method, "code": "// two", "base_revision": 1},
        format="json",
    )
    second = client.post(f"/api/apps/{kapp.id}/deployments/").json()
    assert (second["number"], second["live"], second["revisions"]) == (2, True, {"greetUser": 2})

    listed = client.get(f"/api/apps/{kapp.id}/deployments/").json()

    assert [(d["number"], d["live"], d["revisions"], d["created_by"]) for d in listed] == [
        (2, True, {"greetUser": 2}, owner.username),
        (1, False, {"greetUser": 1}, owner.username),
    ]


def test_typings_declare_the_k_api_for_members_only(
    kapp: App, member: Any, outsider: Any, client_for: Callable
) -> None:
    from apimethods.ide import app_symbols, render_app_dts
    from runtime.typings import render_dts

    response = client_for(member).get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/typescript")
    # The K API, then this app's names (none yet).
    assert response.content.decode() == render_dts() + "\n" + render_app_dts(app_symbols(kapp))
    assert "declare const K: KApi;" in response.content.decode()
    assert client_for(outsider).get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts").status_code == 404


def test_typings_for_a_method_type_its_params(kapp: App, member: Any, client_for: Callable) -> None:
    client = client_for(member)
    method = create(client, kapp, params=[{"name": "name", "type": "string"}, {"name": "age", "type": "integer"}])
    dts = client.get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts?method={method.json()['id']}").content.decode()
    assert "readonly name?: string | null;" in dts and "readonly age?: number | null;" in dts
    assert "readonly params: KParams;" in dts
    assert client.get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts?method=x").status_code == 400
    assert client.get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts?method=99999").status_code == 404


def test_typings_need_kscript_enabled(app: App, owner: Any, client_for: Callable) -> None:
    assert client_for(owner).get(f"/api/apps/{app.id}/kscripts/typings.d.ts").status_code == 403
