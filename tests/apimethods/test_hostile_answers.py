"""Answers in the protocol's own shape for what issue 10 (9) found: Run It! on a suspended
app, a 5,000-deep response in Run It! and over the wire (.json and .plist), and a body in
a charset that is not a text encoding. Real V8, PostgreSQL, Redis and Kiln's WSGI app."""

from __future__ import annotations

import logging
import plistlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods.drafts import MAX_DEPTH
from apimethods.hosts import RedisSessionStore
from apimethods.wire.envelope import TOO_DEEP_MESSAGE
from console.apps import services as app_services
from console.apps.models import App

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = "var a = []; for (var i = 1; i < 5000; i++) a = [a];"  # 5,000 nested arrays


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


def create(client: Any, app: App, code: str, title: str = "answer", params: Any = ()) -> dict[str, Any]:
    body = {"title": title, "return_type": "objects", "params": list(params), "code": code}
    response = client.post(f"/api/apps/{app.id}/kscripts/", body, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def run_it(client: Any, app: App, method: dict[str, Any], **body: Any) -> Any:
    return client.post(f"/api/apps/{app.id}/kscripts/{method['id']}/run/", {"params": {}, **body}, format="json")


def post(server: str, app: App, path: str, **kwargs: Any) -> requests.Response:
    return requests.post(f"{server}/b2.2/{app.api_key}/{path}", auth=(app.api_key, app.secret_key), timeout=30, **kwargs)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# Run It! and suspension


def test_run_it_refuses_a_suspended_app_and_runs_nothing(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    method = create(client, kapp, "K.session.ran = true; K.setResponse('ran');")
    app_services.set_platform_flags(kapp, suspended=True)
    token = f"t-{uuid.uuid4()}"

    response = run_it(client, kapp, method, session_token=token)

    assert response.status_code == 403
    assert response.json() == {"detail": "This app is suspended; a platform admin can lift the suspension."}
    assert RedisSessionStore(kapp.id, token).load() == {}  # the script never started
    app_services.set_platform_flags(kapp, suspended=False)
    assert run_it(client, kapp, method, session_token=token).json()["result"] == "ran"
    assert RedisSessionStore(kapp.id, token).load() == {"ran": True}


# Deep nesting


def test_run_it_answers_a_5000_deep_response_with_a_clear_json_error(
    kapp: App, owner: Any, client_for: Callable, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(owner)
    method = create(client, kapp, DEEP + " K.log('built'); K.setResponse(a);")

    response = run_it(client, kapp, method)

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["error"] == {
        "type": "ResponseTooDeep",
        "message": f"The response is nested more than {MAX_DEPTH} levels deep.",
    }
    assert [log["args"] for log in body["logs"]] == [["built"]]
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("depth, ok", [(MAX_DEPTH, True), (MAX_DEPTH + 1, False), (700, False)])
def test_run_it_shows_responses_up_to_its_depth_limit(
    kapp: App, owner: Any, client_for: Callable, depth: int, ok: bool
) -> None:
    client = client_for(owner)
    method = create(client, kapp, f"var a = []; for (var i = 1; i < {depth}; i++) a = [a]; K.setResponse(a);")
    body = run_it(client, kapp, method).json()
    assert body["ok"] is ok
    if ok:
        result, levels = body["result"], 1
        while result:
            result, levels = result[0], levels + 1
        assert levels == depth
    else:
        assert body["error"]["type"] == "ResponseTooDeep"


def test_run_it_with_a_deep_value_in_the_log(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    shallow = create(client, kapp, DEEP.replace("5000", "400") + " K.log('x', a); K.setResponse(1);")
    body = run_it(client, kapp, shallow).json()
    assert (body["ok"], body["result"]) == (True, 1)
    # The runtime logs a note in place of a value nested deeper than it hands over (64).
    assert body["logs"][0]["args"] == ["x", "[a value nested deeper than 64 levels]"]

    deep = create(client, kapp, DEEP + " K.log(a); K.setResponse(1);", title="deeper")
    body = run_it(client, kapp, deep).json()
    assert (body["ok"], body["result"]) == (True, 1)
    assert body["logs"][0]["args"] == ["[a value nested deeper than 64 levels]"]


def test_a_5000_deep_response_to_a_plist_call_is_a_plist_envelope_with_code_64(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(owner)
    create(client, kapp, DEEP + " K.setResponse(a);")
    assert client.post(f"/api/apps/{kapp.id}/deployments/").status_code == 201

    response = post(wsgi_server, kapp, "answer.plist", data={"sessionToken": "tok-deep"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    body = plistlib.loads(response.content)
    assert (body["responseCode"], body["responseMessage"]) == (64, TOO_DEEP_MESSAGE)
    assert (body["sessionToken"], body["requestedFormat"]) == ("tok-deep", "plist")
    assert "payload" not in body
    assert tracebacks(caplog) == []

    # JSON passes the script's own JSON text through, however deep (json.loads could not read it).
    as_json = post(wsgi_server, kapp, "answer.json")
    assert as_json.headers["Content-Type"] == "application/json"
    assert as_json.text.startswith('{"responseCode":1,"responseMessage":"Success","payload":' + "[" * 5000 + "]" * 5000)


# Charsets


@pytest.mark.parametrize("charset", ["zlib_codec", "base64", "rot13", "bz2_codec"])
def test_a_body_in_a_charset_that_is_not_text_is_an_invalid_request(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str, caplog: pytest.LogCaptureFixture, charset: str
) -> None:
    client = client_for(owner)
    create(client, kapp, "K.setResponse(K.params);", params=[{"name": "name", "type": "string"}])
    client.post(f"/api/apps/{kapp.id}/deployments/")

    response = post(
        wsgi_server,
        kapp,
        "answer.json",
        data=b"params%5Bname%5D=Ann",
        headers={"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"},
    )

    assert response.json()["responseCode"] == 32
    assert response.json()["responseMessage"] == f"Invalid request: Charset '{charset}' is not a text encoding"
    assert tracebacks(caplog) == []
    # The same body in a real charset goes through.
    latin = post(
        wsgi_server,
        kapp,
        "answer.json",
        data=b"params%5Bname%5D=Ann",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
    )
    assert (latin.json()["responseCode"], latin.json()["payload"]) == (1, {"name": "Ann"})


def test_a_multipart_part_in_a_charset_that_is_not_text_is_an_invalid_request(
    kapp: App, owner: Any, client_for: Callable, wsgi_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(owner)
    create(client, kapp, "K.setResponse(K.params);", params=[{"name": "name", "type": "string"}])
    client.post(f"/api/apps/{kapp.id}/deployments/")
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name=\"params[name]\"\r\n"
        b"Content-Type: text/plain; charset=zlib_codec\r\n\r\nAnn\r\n--XyZ--\r\n"
    )
    response = post(
        wsgi_server, kapp, "answer.json", data=body, headers={"Content-Type": "multipart/form-data; boundary=XyZ"}
    )
    assert (response.json()["responseCode"], response.json()["responseMessage"]) == (
        32,
        "Invalid request: Charset 'zlib_codec' is not a text encoding",
    )
    assert tracebacks(caplog) == []
