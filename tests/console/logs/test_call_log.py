"""Client calls of deployed methods land in the invocation log: called over real HTTP
(Kiln's WSGI application in a thread, and Kiln's real gunicorn web process), with their
response code, duration, K.log lines and, for failures, the error with its line and column."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods.actions import services as api_method_services
from console.apps.models import App
from console.logs.models import CallRecord
from console.logs.recorder import recorder
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

GREET = """K.log('greeting', K.params.name);
K.log({n: 2});
K.setResponse({hello: K.params.name});"""

FAILS = """K.log('before the fault');
var user = null;
var name = user.name;
K.setResponse(name);"""


def call(server: str, app: App, method: str, **params: str) -> dict[str, Any]:
    response = requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.json",
        auth=(app.api_key, app.secret_key),
        data={f"params[{k}]": v for k, v in params.items()},
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def deployed(kapp: App, make_kscript: Callable[..., Any], deploy_app: Callable[[App], Any]) -> App:
    make_kscript(kapp, "Greet", GREET, params=[{"name": "name", "type": "string"}])
    make_kscript(kapp, "Fails", FAILS)
    deploy_app(kapp)
    return kapp


def test_a_successful_call_is_logged_with_its_code_duration_and_logs(
    deployed: App, wsgi_server: str, owner: Any, client_for: Callable
) -> None:
    body = call(wsgi_server, deployed, "greet", name="Ann")
    assert body["responseCode"] == 1
    assert recorder.flush()

    body = client_for(owner).get(f"/api/apps/{deployed.pk}/logs/").json()
    assert body["methods"] == ["fails", "greet"]
    entries = body["entries"]
    assert [(e["kind"], e["method"], e["method_type"], e["code"], e["status"]) for e in entries] == [
        ("client", "greet", "kscript", 1, "ok")
    ]
    assert entries[0]["duration_ms"] > 0 and entries[0]["error"] is None
    detail = client_for(owner).get(f"/api/apps/{deployed.pk}/logs/client/{entries[0]['id']}/").json()
    assert [(e["args"], e["line"]) for e in detail["logs"]] == [(["greeting", "Ann"], 1), ([{"n": 2}], 2)]
    assert detail["logs_dropped"] == 0


def test_a_failing_call_is_logged_with_its_error_line_and_column(
    deployed: App, wsgi_server: str, owner: Any, client_for: Callable
) -> None:
    assert call(wsgi_server, deployed, "fails")["responseCode"] == 64
    assert recorder.flush()

    record = CallRecord.objects.get(app=deployed)
    assert (record.method, record.code) == ("fails", 64)
    assert record.error["type"] == "ScriptError"
    assert "null" in record.error["message"]
    assert (record.error["line"], record.error["column"]) == (3, 17)
    assert [entry["args"] for entry in record.logs] == [["before the fault"]]
    listed = client_for(owner).get(f"/api/apps/{deployed.pk}/logs/?status=failed").json()["entries"]
    assert [(e["id"], e["code_text"], e["error"]["line"]) for e in listed] == [(record.pk, "Server error", 3)]


def test_calls_refused_before_a_method_runs_are_logged_with_why(
    deployed: App, wsgi_server: str, make_kscript: Callable[..., Any], deploy_app: Callable[[App], Any]
) -> None:
    make_kscript(deployed, "Count", "K.setResponse(K.params.n);", params=[{"name": "n", "type": "integer"}])
    deploy_app(deployed)
    assert call(wsgi_server, deployed, "noSuchMethod")["responseCode"] == 4
    wrong = requests.post(f"{wsgi_server}/b2.2/{deployed.api_key}/greet.json", auth=("x", "y"), timeout=30)
    assert (wrong.json()["responseCode"], wrong.json()["responseMessage"]) == (2, "Not authorised")
    assert call(wsgi_server, deployed, "count", n="many")["responseCode"] == 32
    stranger = requests.post(f"{wsgi_server}/b2.2/nosuchkey/greet.json", auth=("nosuchkey", "y"), timeout=30)
    assert stranger.json()["responseCode"] == 2
    assert recorder.flush()

    # Wrong credentials are not logged (whoever knows an API key could fill the app's log);
    # what an authenticated client got wrong is
    records = CallRecord.objects.order_by("id")
    assert [(r.app_id, r.method, r.method_type, r.code, r.error["type"]) for r in records] == [
        (deployed.pk, "noSuchMethod", "refused", 4, "NoSuchMethod"),
        (deployed.pk, "count", "refused", 32, "InvalidRequest"),
    ]
    assert records[0].error["message"] == "No such method: noSuchMethod"
    assert "n" in records[1].error["message"] and records[1].logs is None


def test_a_drag_and_drop_api_method_is_logged_as_one(
    app: App, owner: Any, make_table: Callable[..., Table], deploy_app: Callable[[App], Any], wsgi_server: str
) -> None:
    make_table(app, "photos", title="string")
    definition = {"table": "photos", "params": [], "actions": [{"type": "select"}]}
    api_method_services.create_api_method(app, owner, title="All photos", definition=definition)
    deploy_app(app)
    assert call(wsgi_server, app, "allPhotos")["responseCode"] == 1
    assert recorder.flush()
    record = CallRecord.objects.get(app=app)
    assert (record.method, record.method_type, record.code, record.logs, record.error) == (
        "allPhotos",
        "apimethod",
        1,
        None,
        None,
    )


def test_a_real_gunicorn_web_process_writes_its_calls_in_the_background(
    deployed: App, kiln_server: Callable[..., str]
) -> None:
    server = kiln_server(workers=1)
    for name in ("Ann", "Bo", "Cy"):
        assert call(server, deployed, "greet", name=name)["responseCode"] == 1
    assert call(server, deployed, "fails")["responseCode"] == 64
    deadline = time.monotonic() + 15
    while CallRecord.objects.filter(app=deployed).count() < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # the web process's writer flushes every half second
    rows = list(CallRecord.objects.filter(app=deployed).order_by("at", "id").values_list("method", "code"))
    assert rows == [("greet", 1), ("greet", 1), ("greet", 1), ("fails", 64)]
