"""Working drafts (typing makes no revision), Save that keeps code which does not parse,
deploys that review what changes against the live deployment, and rollbacks — through the
console API, with real V8, PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods.actions import services as api_method_services
from apimethods.models import Deployment, KScriptDraft, KScriptMethod, KScriptRevision, LiveDeployment
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN = "var a = 1;\nvar s = 'unterminated;\nK.setResponse({});\n"


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


def create(client: Any, app: App, title: str = "Greet user", code: str = "K.setResponse({hello: 1});") -> Any:
    body = {"title": title, "return_type": "objects", "params": [{"name": "name", "type": "string"}], "code": code}
    response = client.post(f"/api/apps/{app.id}/kscripts/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def save(client: Any, app: App, method: dict[str, Any], code: str, base: int, **extra: Any) -> Any:
    body = {**{k: method[k] for k in ("title", "return_type", "params")}, "code": code, "base_revision": base, **extra}
    return client.put(f"/api/apps/{app.id}/kscripts/{method['id']}/", body, format="json")


def draft_url(app: App, method: dict[str, Any]) -> str:
    return f"/api/apps/{app.id}/kscripts/{method['id']}/draft/"


def deploy(client: Any, app: App, **body: Any) -> Any:
    return client.post(f"/api/apps/{app.id}/deployments/", body, format="json")


def call(server: str, app: App, method: str) -> Any:
    app.refresh_from_db()
    return requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.json", auth=(app.api_key, app.secret_key), data={}, timeout=30
    ).json()


# ── drafts ────────────────────────────────────────────────────────────────────────────


def test_a_draft_keeps_the_text_without_making_a_revision(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    assert client.get(draft_url(kapp, method)).json() == {"draft": None}

    answer = client.put(
        draft_url(kapp, method), {"code": "K.setResponse({hello: 2});", "base_revision": 1}, format="json"
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["code"], body["base_revision"], body["syntax_error"], body["latest_revision"], body["newer"]) == (
        "K.setResponse({hello: 2});",
        1,
        None,
        1,
        None,
    )
    again = client.put(
        draft_url(kapp, method), {"code": "K.setResponse({hello: 3});", "base_revision": 1}, format="json"
    )
    assert again.status_code == 200

    assert KScriptMethod.objects.get(pk=method["id"]).latest_revision == 1
    assert KScriptRevision.objects.filter(method_id=method["id"]).count() == 1
    assert list(KScriptDraft.objects.values_list("code", "base_revision")) == [("K.setResponse({hello: 3});", 1)]
    assert client.get(draft_url(kapp, method)).json()["draft"]["code"] == "K.setResponse({hello: 3});"


def test_a_draft_that_does_not_parse_is_kept_and_says_where(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    body = client.put(draft_url(kapp, method), {"code": BROKEN, "base_revision": 1}, format="json").json()
    assert body["code"] == BROKEN
    assert (body["syntax_error"]["line"], body["syntax_error"]["column"]) == (2, 9)
    assert body["syntax_error"]["message"] == "SyntaxError: Invalid or unexpected token"
    assert KScriptDraft.objects.get().code == BROKEN


def test_drafts_are_per_person_and_saving_a_revision_replaces_only_the_authors(
    kapp: App, owner: Any, member: Any, client_for: Callable
) -> None:
    mine, theirs = client_for(owner), client_for(member)
    method = create(mine, kapp)
    mine.put(draft_url(kapp, method), {"code": "// olivia typing", "base_revision": 1}, format="json")
    theirs.put(draft_url(kapp, method), {"code": "// devon typing", "base_revision": 1}, format="json")
    assert theirs.get(draft_url(kapp, method)).json()["draft"]["code"] == "// devon typing"

    saved = save(theirs, kapp, method, "// devon saved", base=1)
    assert saved.status_code == 200 and saved.json()["revision"] == 2
    assert theirs.get(draft_url(kapp, method)).json() == {"draft": None}

    # Olivia's draft stays, and now tells her about Devon's newer revision.
    draft = mine.get(draft_url(kapp, method)).json()["draft"]
    assert (draft["code"], draft["base_revision"], draft["latest_revision"]) == ("// olivia typing", 1, 2)
    assert (draft["newer"]["revision"], draft["newer"]["author"], draft["newer"]["code"]) == (
        2,
        "devon",
        "// devon saved",
    )


def test_typing_on_an_old_revision_hears_of_the_newer_one(
    kapp: App, owner: Any, member: Any, client_for: Callable
) -> None:
    method = create(client_for(owner), kapp)
    save(client_for(member), kapp, method, "// devon", base=1)
    body = client_for(owner).put(draft_url(kapp, method), {"code": "// mine", "base_revision": 1}, format="json").json()
    assert body["newer"]["revision"] == 2 and body["newer"]["author"] == "devon"
    # The text is kept all the same: nothing typed is lost to a conflict.
    assert KScriptDraft.objects.get().code == "// mine"


def test_discarding_a_draft(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    client.put(draft_url(kapp, method), {"code": "// typing", "base_revision": 1}, format="json")
    assert client.delete(draft_url(kapp, method)).status_code == 204
    assert not KScriptDraft.objects.exists()
    assert KScriptRevision.objects.get().code == "K.setResponse({hello: 1});"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"code": "//", "base_revision": 2}, "base_revision", "Give a revision of this method (1 to 1)."),
        ({"code": "//", "base_revision": 0}, "base_revision", "Give a revision of this method (1 to 1)."),
        ({"base_revision": 1}, "code", "This field is required."),
        (
            {"code": "x" * 1_000_001, "base_revision": 1},
            "code",
            "Ensure this field has no more than 1000000 characters.",
        ),
    ],
)
def test_a_bad_draft_is_refused_and_nothing_is_stored(
    kapp: App, owner: Any, client_for: Callable, body: dict[str, Any], field: str, message: str
) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    answer = client.put(draft_url(kapp, method), body, format="json")
    assert answer.status_code == 400
    assert answer.json() == {field: [message]}
    assert not KScriptDraft.objects.exists()


def test_outsiders_and_apps_without_kscript_keep_no_drafts(
    kapp: App, owner: Any, outsider: Any, client_for: Callable
) -> None:
    method = create(client_for(owner), kapp)
    body = {"code": "// x", "base_revision": 1}
    assert client_for(outsider).put(draft_url(kapp, method), body, format="json").status_code == 404
    assert client_for(outsider).get(draft_url(kapp, method)).status_code == 404
    app_services.set_platform_flags(kapp, kscript_enabled=False)
    refused = client_for(owner).put(draft_url(kapp, method), body, format="json")
    assert refused.status_code == 403 and "not enabled" in refused.json()["detail"]
    assert not KScriptDraft.objects.exists()


# ── Save keeps code that does not parse; Run It! and deploy refuse it ──────────────────


def test_save_keeps_code_that_does_not_parse_only_when_asked(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    refused = save(client, kapp, method, BROKEN, base=1)
    assert refused.status_code == 400
    assert refused.json() == {"code": ["Line 2, column 9: SyntaxError: Invalid or unexpected token"]}
    assert KScriptMethod.objects.get().latest_revision == 1

    kept = save(client, kapp, method, BROKEN, base=1, allow_syntax_errors=True)
    assert kept.status_code == 200
    assert (kept.json()["revision"], kept.json()["code"]) == (2, BROKEN)
    assert kept.json()["syntax_error"] == {
        "line": 2,
        "column": 9,
        "message": "SyntaxError: Invalid or unexpected token",
    }
    fine = save(client, kapp, method, "K.setResponse({});", base=2, allow_syntax_errors=True)
    assert fine.json()["syntax_error"] is None


def test_run_it_refuses_a_revision_that_does_not_parse(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    save(client, kapp, method, BROKEN, base=1, allow_syntax_errors=True)
    run = client.post(f"/api/apps/{kapp.id}/kscripts/{method['id']}/run/", {"params": {}}, format="json").json()
    assert run["ok"] is False
    assert (run["error"]["line"], run["error"]["column"]) == (2, 9)
    assert "SyntaxError: Invalid or unexpected token" in run["error"]["message"]


def test_deploy_refuses_a_method_that_does_not_parse_and_changes_nothing(
    kapp: App, owner: Any, client_for: Callable
) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    assert deploy(client, kapp).status_code == 201
    save(client, kapp, method, BROKEN, base=1, allow_syntax_errors=True)
    refused = deploy(client, kapp)
    assert refused.status_code == 400
    assert refused.json() == {"kscripts": ["greetUser: Line 2, column 9: SyntaxError: Invalid or unexpected token"]}
    assert list(Deployment.objects.values_list("number", flat=True)) == [1]
    assert LiveDeployment.objects.get().deployment.number == 1


# ── reviewing a deploy ─────────────────────────────────────────────────────────────────


def test_the_preview_lists_added_removed_changed_and_unchanged_methods(
    kapp: App, owner: Any, client_for: Callable
) -> None:
    client = client_for(owner)
    greet = create(client, kapp)
    keep = create(client, kapp, title="Keep me")
    gone = create(client, kapp, title="Gone soon")
    preview = client.get(f"/api/apps/{kapp.id}/deployments/preview/").json()
    assert preview["live"] is None and preview["target"] == {"kind": "deploy"}
    assert [(m["name"], m["revision"]) for m in preview["added"]] == [("goneSoon", 1), ("greetUser", 1), ("keepMe", 1)]

    assert deploy(client, kapp, expected_live=None).status_code == 201
    save(client, kapp, greet, "K.setResponse({hello: 2});", base=1)
    same_code = save(client, kapp, keep, keep["code"], base=1)
    assert same_code.json()["revision"] == 2
    client.delete(f"/api/apps/{kapp.id}/kscripts/{gone['id']}/")
    create(client, kapp, title="Brand new")

    preview = client.get(f"/api/apps/{kapp.id}/deployments/preview/").json()
    assert preview["live"]["number"] == 1 and preview["live"]["created_by"] == "olivia"
    assert preview["added"] == [{"name": "brandNew", "kind": "kscript", "revision": 1}]
    assert preview["removed"] == [{"name": "goneSoon", "kind": "kscript", "revision": 1}]
    assert preview["changed"] == [
        {
            "name": "greetUser",
            "kind": "kscript",
            "revision": 2,
            "from_revision": 1,
            "from_kind": "kscript",
            "what": ["code"],
        },
        {"name": "keepMe", "kind": "kscript", "revision": 2, "from_revision": 1, "from_kind": "kscript", "what": []},
    ]
    assert preview["unchanged"] == []
    assert preview["problems"] == []


def test_the_preview_names_what_would_stop_the_deploy(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    save(client, kapp, method, BROKEN, base=1, allow_syntax_errors=True)
    preview = client.get(f"/api/apps/{kapp.id}/deployments/preview/").json()
    assert preview["problems"] == ["greetUser: Line 2, column 9: SyntaxError: Invalid or unexpected token"]
    assert [m["name"] for m in preview["added"]] == ["greetUser"]


def test_a_method_diff_gives_both_texts(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    deploy(client, kapp)
    save(client, kapp, method, "K.setResponse({hello: 2});", base=1)
    diff = client.get(f"/api/apps/{kapp.id}/deployments/diff/", {"name": "greetUser"}).json()
    assert diff == {
        "name": "greetUser",
        "kind": "kscript",
        "language": "javascript",
        "original": "K.setResponse({hello: 1});",
        "modified": "K.setResponse({hello: 2});",
        "original_label": "Live: deployment #1 · rev 1 · returns objects · (name: string)",
        "modified_label": "To deploy · rev 2 · returns objects · (name: string)",
    }
    added = create(client, kapp, title="Later")
    assert added["name"] == "later"
    one_side = client.get(f"/api/apps/{kapp.id}/deployments/diff/", {"name": "later"}).json()
    assert (one_side["original"], one_side["modified"]) == (None, "K.setResponse({hello: 1});")
    assert one_side["original_label"] == "Live: deployment #1 · not there"
    missing = client.get(f"/api/apps/{kapp.id}/deployments/diff/", {"name": "nope"})
    assert missing.status_code == 404
    bad = client.get(f"/api/apps/{kapp.id}/deployments/diff/", {"name": "greetUser", "before": "yesterday"})
    assert bad.status_code == 400 and bad.json() == {"ref": ['Give "live", "current" or a deployment number.']}


def test_a_deploy_reviewed_before_someone_elses_is_refused(
    kapp: App, owner: Any, member: Any, client_for: Callable
) -> None:
    create(client_for(owner), kapp)
    assert deploy(client_for(member), kapp, expected_live=None).status_code == 201
    stale = deploy(client_for(owner), kapp, expected_live=None)
    assert stale.status_code == 409
    assert stale.json() == {
        "detail": "Deployment #1 by devon went live after you reviewed the changes; review them again.",
        "live": 1,
    }
    assert Deployment.objects.count() == 1
    assert deploy(client_for(owner), kapp, expected_live=1).status_code == 201


# ── rollback ───────────────────────────────────────────────────────────────────────────


def test_rolling_back_makes_an_earlier_deployment_live_again_as_a_new_one(
    kapp: App, owner: Any, client_for: Callable, live_server: Any
) -> None:
    client = client_for(owner)
    method = create(client, kapp)
    deploy(client, kapp)
    save(client, kapp, method, "K.setResponse({hello: 2});", base=1)
    deploy(client, kapp)
    assert call(live_server.url, kapp, "greetUser")["payload"] == {"hello": 2}

    preview = client.get(f"/api/apps/{kapp.id}/deployments/preview/", {"restore": 1}).json()
    assert preview["target"]["kind"] == "rollback" and preview["target"]["number"] == 1
    assert [(m["name"], m["from_revision"], m["revision"]) for m in preview["changed"]] == [("greetUser", 2, 1)]

    answer = client.post(f"/api/apps/{kapp.id}/deployments/1/rollback/", {"expected_live": 2}, format="json")
    assert answer.status_code == 201
    assert (answer.json()["number"], answer.json()["restored_from"], answer.json()["live"]) == (3, 1, True)
    assert answer.json()["revisions"] == {"greetUser": 1}
    third = Deployment.objects.get(number=3)
    assert third.snapshot == Deployment.objects.get(number=1).snapshot
    assert LiveDeployment.objects.get().deployment_id == third.pk
    assert call(live_server.url, kapp, "greetUser")["payload"] == {"hello": 1}
    # The drafts are untouched: revision 2 is still what the IDE edits.
    assert KScriptMethod.objects.get().latest_revision == 2
    listed = client.get(f"/api/apps/{kapp.id}/deployments/").json()
    assert [(d["number"], d["restored_from"], d["live"]) for d in listed] == [
        (3, 1, True),
        (2, None, False),
        (1, None, False),
    ]


def test_a_rollback_to_the_live_or_a_missing_deployment_is_refused(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    create(client, kapp)
    deploy(client, kapp)
    live = client.post(f"/api/apps/{kapp.id}/deployments/1/rollback/", {}, format="json")
    assert live.status_code == 400
    assert live.json() == {"deployment": ["Deployment #1 is already live."]}
    missing = client.post(f"/api/apps/{kapp.id}/deployments/9/rollback/", {}, format="json")
    assert missing.status_code == 404 and missing.json() == {"detail": "This app has no deployment #9."}
    assert Deployment.objects.count() == 1


def test_a_rollback_holding_an_api_method_that_no_longer_fits_is_refused(
    kapp: App, owner: Any, client_for: Callable, make_table: Callable[..., Table]
) -> None:
    client = client_for(owner)
    rides = make_table(kapp, "rides", distance="float")
    api_method_services.create_api_method(
        kapp, owner, title="List rides", definition={"table": "rides", "params": [], "actions": [{"type": "select"}]}
    )
    deploy(client, kapp)
    table_services.rename_table(rides, "trips")
    method = api_method_services.latest_revisions(kapp)[0].method
    api_method_services.save_api_method(
        method,
        owner,
        base_revision=1,
        title="List rides",
        definition={"table": "trips", "params": [], "actions": [{"type": "select"}]},
    )
    assert deploy(client, kapp).status_code == 201

    refused = client.post(f"/api/apps/{kapp.id}/deployments/1/rollback/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["deployment"][0] == "Deployment #1 cannot go live again:"
    assert refused.json()["deployment"][1].startswith("listRides: ")
    assert LiveDeployment.objects.get().deployment.number == 2
    assert Deployment.objects.count() == 2


def test_outsiders_cannot_review_deploy_or_roll_back(
    kapp: App, owner: Any, outsider: Any, client_for: Callable
) -> None:
    create(client_for(owner), kapp)
    deploy(client_for(owner), kapp)
    other = client_for(outsider)
    assert other.get(f"/api/apps/{kapp.id}/deployments/preview/").status_code == 404
    assert other.get(f"/api/apps/{kapp.id}/deployments/diff/", {"name": "greetUser"}).status_code == 404
    assert other.post(f"/api/apps/{kapp.id}/deployments/1/rollback/", {}, format="json").status_code == 404
    assert Deployment.objects.count() == 1
