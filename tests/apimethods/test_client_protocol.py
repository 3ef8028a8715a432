"""The client endpoint over real HTTP (Django's live server + requests), per the
Kumulos wire protocol: every encoding, every response code, JSON and plist.

Methods are deployed through the real Deployment / LiveDeployment tables; the method
kinds used here are registered only for these tests, so the dispatcher is exercised
without depending on the action compiler or the KScript runtime.
"""

from __future__ import annotations

import base64
import hashlib
import json
import plistlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from django.db import connection

from apimethods import registry
from apimethods.models import Deployment, LiveDeployment
from apimethods.registry import CallContext, LiveMethod
from apimethods.wire import RecordList
from console.apps import services as app_services
from console.apps.models import App

ECHO_PARAMS = (("name", "string"), ("count", "integer"), ("flag", "boolean"), ("ratio", "float"))


def _echo(ctx: CallContext) -> dict[str, Any]:
    return {key: ctx.params.get(key) for key, _ in ECHO_PARAMS} | {"session": ctx.session_token}


def _raise(ctx: CallContext) -> None:
    raise RuntimeError("boom")


def _db_error(ctx: CallContext) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM table_that_does_not_exist")


def _records(ctx: CallContext) -> RecordList:
    return RecordList(
        [
            {
                "userID": 12,
                "username": "alice",
                "score": 3.5,
                "active": True,
                "avatar": b"\x89PNG",
                "nickname": None,
                "timeCreated": datetime(2016, 5, 1, tzinfo=UTC),
            }
        ]
    )


KINDS: dict[str, tuple[tuple[tuple[str, str], ...], Callable[[CallContext], Any]]] = {
    "test-echo": (ECHO_PARAMS, _echo),
    "test-raise": ((), _raise),
    "test-db-error": ((), _db_error),
    "test-records": ((), _records),
    "test-number": ((), lambda ctx: 57),
}


@pytest.fixture
def deployed(transactional_db: Any, owner: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    for kind, (params, invoke) in KINDS.items():
        monkeypatch.setitem(
            registry.METHOD_BUILDERS,
            kind,
            lambda app_id, alias, spec, params=params, invoke=invoke, **_: LiveMethod(alias, params, invoke),
        )
    app = app_services.create_app(owner, "Protocol")
    methods = {
        "echo": {"kind": "test-echo"},
        "boom": {"kind": "test-raise"},
        "dbFail": {"kind": "test-db-error"},
        "getUsers": {"kind": "test-records"},
        "createUser": {"kind": "test-number"},
    }
    deployment = Deployment.objects.create(app=app, number=1, snapshot={"methods": methods})
    LiveDeployment.objects.create(app=app, deployment=deployment)
    yield app


@pytest.fixture
def call(wsgi_server: str) -> Callable[..., requests.Response]:
    """POST over real HTTP to Kiln's WSGI application, as gunicorn serves it."""

    def post(app: App, path: str, *, auth: bool | tuple[str, str] = True, **kwargs: Any) -> requests.Response:
        credentials = (app.api_key, app.secret_key) if auth is True else (auth or None)
        return requests.post(wsgi_server + path.format(key=app.api_key), auth=credentials, timeout=30, **kwargs)

    return post


def envelope(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200
    if response.headers["Content-Type"].startswith("application/xml"):
        return plistlib.loads(response.content)
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


# ── a new app answers 4 to anything ─────────────────────────────────────────────


@pytest.mark.parametrize("suffix", ["json", "plist"])
def test_a_fresh_app_answers_no_such_method(owner: Any, transactional_db: Any, call: Callable, suffix: str) -> None:
    app = app_services.create_app(owner, "Fresh")
    body = envelope(call(app, f"/b2.2/{{key}}/anything.{suffix}"))
    assert body["responseCode"] == 4
    assert body["responseMessage"] == "No such method: anything"
    assert body["requestedMethod"] == "anything" and body["requestedFormat"] == suffix
    assert isinstance(body["sessionToken"], str) and body["sessionToken"]


def test_the_json_envelope_has_every_field_in_order(deployed: App, call: Callable) -> None:
    response = call(deployed, "/b2.2/{key}/createUser.json", data={"sessionToken": "tok-1"})
    body = envelope(response)
    assert list(body)[:4] == ["responseCode", "responseMessage", "payload", "sessionToken"]
    assert {k: body[k] for k in ("responseCode", "responseMessage", "payload", "sessionToken")} == {
        "responseCode": 1,
        "responseMessage": "Success",
        "payload": 57,
        "sessionToken": "tok-1",
    }
    for key in (
        "timestamp",
        "requestReceivedTime",
        "maxAllowedRequestTime",
        "maxProcessingTime",
        "requestProcessingTime",
    ):
        assert isinstance(body[key], int | float), key
    assert 0 <= body["requestProcessingTime"] < 5


def test_plist_envelope_carries_native_types(deployed: App, call: Callable) -> None:
    response = call(deployed, "/b2.2/{key}/getUsers.plist", headers={"Accept": "application/json"})
    assert response.headers["Content-Type"].startswith("application/xml")
    body = envelope(response)
    assert body["responseCode"] == 1
    (record,) = body["payload"]
    assert record == {
        "userID": 12,
        "username": "alice",
        "score": 3.5,
        "active": 1,
        "avatar": b"\x89PNG",
        "timeCreated": datetime(2016, 5, 1),
    }
    assert "nickname" not in record


def test_json_records_use_mysql_style_strings(deployed: App, call: Callable) -> None:
    (record,) = envelope(call(deployed, "/b2.2/{key}/getUsers.json"))["payload"]
    assert record == {
        "userID": "12",
        "username": "alice",
        "score": "3.5",
        "active": "1",
        "avatar": base64.b64encode(b"\x89PNG").decode(),
        "nickname": None,
        "timeCreated": "2016-05-01 00:00:00",
    }


# ── every body encoding reaches the method as the same typed params ────────────

EXPECTED_ECHO = {"name": "Ann Lee", "count": 12, "flag": True, "ratio": 3.5}


@pytest.mark.parametrize(
    "body, headers",
    [
        ("params%5Bname%5D=Ann+Lee&params%5Bcount%5D=12&params%5Bflag%5D=1&params%5Bratio%5D=3.5", "form"),
        ("params[name]=Ann%20Lee&params[count]=12&params[flag]=true&params[ratio]=3.5", "form"),
        (json.dumps({"params": {"name": "Ann Lee", "count": 12, "flag": True, "ratio": 3.5}}), "json"),
        (json.dumps({"params": {"name": "Ann Lee", "count": "12", "flag": "true", "ratio": "3.5"}}), "json"),
    ],
    ids=["form-encoded-brackets", "form-raw-brackets", "json-native", "json-strings"],
)
def test_body_encodings(deployed: App, call: Callable, body: str, headers: str) -> None:
    content_type = {"form": "application/x-www-form-urlencoded; charset=utf-8", "json": "application/json"}[headers]
    payload = envelope(call(deployed, "/b2.2/{key}/echo.json", data=body, headers={"Content-Type": content_type}))[
        "payload"
    ]
    assert {k: payload[k] for k in EXPECTED_ECHO} == EXPECTED_ECHO


def test_multipart_body(deployed: App, call: Callable) -> None:
    files = {
        "params[name]": (None, "Ann Lee"),
        "params[count]": (None, "12"),
        "params[flag]": (None, "yes"),
        "params[ratio]": (None, "3.5"),
    }
    payload = envelope(call(deployed, "/b2.2/{key}/echo.json", files=files))["payload"]
    assert {k: payload[k] for k in EXPECTED_ECHO} == EXPECTED_ECHO


def test_multipart_mislabelled_as_form_encoded(deployed: App, call: Callable) -> None:
    boundary = "----kilnboundary"
    parts = [("params[name]", "Ann Lee"), ("params[count]", "12"), ("params[flag]", "0"), ("params[ratio]", "3.5")]
    body = (
        "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in parts)
        + f"--{boundary}--\r\n"
    )
    response = call(
        deployed,
        "/b2.2/{key}/echo.json",
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    payload = envelope(response)["payload"]
    assert {k: payload[k] for k in EXPECTED_ECHO} == EXPECTED_ECHO | {"flag": False}


def test_missing_params_is_fine(deployed: App, call: Callable) -> None:
    payload = envelope(call(deployed, "/b2.2/{key}/echo.json"))["payload"]
    assert {k: payload[k] for k in EXPECTED_ECHO} == dict.fromkeys(EXPECTED_ECHO)


def test_a_session_token_is_echoed_or_minted(deployed: App, call: Callable) -> None:
    sent = envelope(call(deployed, "/b2.2/{key}/echo.json", data={"sessionToken": "abc-123"}))
    minted = envelope(call(deployed, "/b2.2/{key}/echo.json"))
    assert sent["sessionToken"] == "abc-123" and sent["payload"]["session"] == "abc-123"
    assert len(minted["sessionToken"]) == 36 and minted["payload"]["session"] == minted["sessionToken"]


# ── authentication ──────────────────────────────────────────────────────────────


def test_legacy_hashed_key_and_salt(deployed: App, call: Callable) -> None:
    salt = "4711"
    hashed = hashlib.md5((deployed.secret_key + salt).encode()).hexdigest().upper()
    body = envelope(call(deployed, "/b2.2/{key}/createUser.json", auth=False, data={"hashedKey": hashed, "salt": salt}))
    assert body["responseCode"] == 1


@pytest.mark.parametrize(
    "auth, data",
    [
        (False, {}),
        (("{key}", "wrong-secret"), {}),
        (("someone-else", "{secret}"), {}),
        (False, {"hashedKey": "0" * 32, "salt": "1"}),
        (False, {"hashedKey": "{hashed}"}),
    ],
    ids=["no-credentials", "wrong-secret", "user-not-path-key", "wrong-hashed-key", "hashed-key-without-salt"],
)
def test_bad_credentials_answer_2(deployed: App, call: Callable, auth: Any, data: dict[str, str]) -> None:
    def fill(value: str) -> str:
        hashed = hashlib.md5((deployed.secret_key + "1").encode()).hexdigest()
        return value.format(key=deployed.api_key, secret=deployed.secret_key, hashed=hashed)

    credentials = (fill(auth[0]), fill(auth[1])) if auth else False
    body = envelope(
        call(deployed, "/b2.2/{key}/createUser.json", auth=credentials, data={k: fill(v) for k, v in data.items()})
    )
    assert (body["responseCode"], body["responseMessage"], body["payload"]) == (2, "Not authorised", None)


def test_unknown_api_key_answers_2(deployed: App, call: Callable, wsgi_server: str) -> None:
    response = requests.post(f"{wsgi_server}/b2.2/not-a-key/echo.json", auth=("not-a-key", "x"), timeout=30)
    assert envelope(response)["responseCode"] == 2


def test_rotating_the_secret_locks_out_the_old_one_at_once(deployed: App, call: Callable) -> None:
    old = deployed.secret_key
    assert envelope(call(deployed, "/b2.2/{key}/createUser.json"))["responseCode"] == 1
    app_services.rotate_secret(deployed)
    assert envelope(call(deployed, "/b2.2/{key}/createUser.json", auth=(deployed.api_key, old)))["responseCode"] == 2
    assert envelope(call(deployed, "/b2.2/{key}/createUser.json"))["responseCode"] == 1


# ── the other codes ─────────────────────────────────────────────────────────────


@pytest.mark.parametrize("suffix", ["json", "plist"])
def test_suspended_app_answers_16(deployed: App, call: Callable, suffix: str) -> None:
    app_services.set_platform_flags(deployed, suspended=True)
    assert envelope(call(deployed, f"/b2.2/{{key}}/createUser.{suffix}"))["responseCode"] == 16


@pytest.mark.parametrize("suffix", ["xml", "txt", ""])
def test_other_suffixes_answer_8_in_json(deployed: App, call: Callable, suffix: str) -> None:
    response = call(deployed, f"/b2.2/{{key}}/createUser.{suffix}")
    assert response.headers["Content-Type"].startswith("application/json")
    assert envelope(response)["responseCode"] == 8


@pytest.mark.parametrize("verb", ["GET", "PUT", "DELETE"])
def test_verbs_other_than_post_answer_32(deployed: App, wsgi_server: str, verb: str) -> None:
    response = requests.request(
        verb,
        f"{wsgi_server}/b2.2/{deployed.api_key}/createUser.json",
        auth=(deployed.api_key, deployed.secret_key),
        timeout=30,
    )
    body = envelope(response)
    assert body["responseCode"] == 32 and body["payload"] is None


@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b'{"params": "not-an-object"}', "application/json"),
    ],
    ids=["broken-json", "json-array", "binary", "params-not-object"],
)
def test_undecodable_bodies_answer_32(deployed: App, call: Callable, data: bytes, content_type: str) -> None:
    body = envelope(call(deployed, "/b2.2/{key}/createUser.json", data=data, headers={"Content-Type": content_type}))
    assert body["responseCode"] == 32
    assert body["responseMessage"].startswith("Invalid request")


def test_bodies_over_the_limit_are_refused_unread(deployed: App, call: Callable, settings: Any) -> None:
    settings.KILN_MAX_BODY_BYTES = 1024
    body = envelope(call(deployed, "/b2.2/{key}/createUser.json", data=b"x=" + b"a" * 4096))
    assert body["responseCode"] == 32
    assert "larger than 1024 bytes" in body["responseMessage"]


def test_a_parameter_of_the_wrong_type_answers_32_naming_it(deployed: App, call: Callable) -> None:
    body = envelope(call(deployed, "/b2.2/{key}/echo.json", data={"params[count]": "twelve"}))
    assert body["responseCode"] == 32
    assert "count" in body["responseMessage"]


@pytest.mark.parametrize("suffix", ["json", "plist"])
def test_an_unexpected_error_answers_64_with_a_request_id(
    deployed: App, call: Callable, suffix: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = envelope(call(deployed, f"/b2.2/{{key}}/boom.{suffix}"))
    assert body["responseCode"] == 64
    request_id = body["responseMessage"].split("request id ")[1].rstrip(")")
    assert any(request_id in record.getMessage() for record in caplog.records)
    assert "payload" not in body if suffix == "plist" else body["payload"] is None


def test_a_database_error_answers_128(deployed: App, call: Callable) -> None:
    body = envelope(call(deployed, "/b2.2/{key}/dbFail.json"))
    assert body["responseCode"] == 128
    # The server keeps working afterwards (the failed transaction did not poison the connection).
    assert envelope(call(deployed, "/b2.2/{key}/createUser.json"))["responseCode"] == 1


# ── lenient URLs ────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "path",
    [
        "/b2.2//{key}/createUser.json",
        "/b2.2/{key}//createUser.json/",
        "/b2.2/{key}/createUser.json/",
        "/b2/{key}/createUser.json",
        "/b2.1/{key}/createUser.json",
        "/{key}/createUser.json",
    ],
)
def test_lenient_paths(deployed: App, call: Callable, path: str) -> None:
    assert envelope(call(deployed, path))["responseCode"] == 1


def test_only_the_live_deployment_is_served(deployed: App, call: Callable) -> None:
    newer = Deployment.objects.create(app=deployed, number=2, snapshot={"methods": {"other": {"kind": "test-number"}}})
    assert envelope(call(deployed, "/b2.2/{key}/other.json"))["responseCode"] == 4
    LiveDeployment.objects.filter(app=deployed).update(deployment=newer)
    assert envelope(call(deployed, "/b2.2/{key}/other.json"))["responseCode"] == 1
    assert envelope(call(deployed, "/b2.2/{key}/createUser.json"))["responseCode"] == 4


# ── the fast path past the browser middleware ───────────────────────────────────


def test_the_fast_path_matches_the_first_route_of_the_url_map() -> None:
    from apimethods.client import VERSIONED_PATH, client_endpoint
    from console.urls import urlpatterns

    first = urlpatterns[0]
    assert first.callback is client_endpoint and first.pattern.regex.pattern == VERSIONED_PATH.pattern


def test_the_fast_path_sets_no_cookies_and_still_checks_the_host(deployed: App, call: Callable) -> None:
    response = call(deployed, "/b2.2/{key}/createUser.json")
    assert envelope(response)["payload"] == 57 and "Set-Cookie" not in response.headers
    # SecurityMiddleware's headers, as on every other response
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    refused = call(deployed, "/b2.2/{key}/createUser.json", headers={"Host": "evil.example"})
    assert refused.status_code == 400


def test_through_django_the_middleware_routes_client_calls_the_same(deployed: App, call: Callable) -> None:
    # Django's handler (the test client, ASGI) reaches the endpoint through the middleware.
    from django.test import Client

    credentials = base64.b64encode(f"{deployed.api_key}:{deployed.secret_key}".encode()).decode()
    via_django = Client().post(
        f"/b2.2/{deployed.api_key}/createUser.json", HTTP_AUTHORIZATION=f"Basic {credentials}"
    )
    assert via_django.status_code == 200 and via_django["X-Content-Type-Options"] == "nosniff"
    assert json.loads(via_django.content)["payload"] == envelope(call(deployed, "/b2.2/{key}/createUser.json"))["payload"]
    refused = Client(HTTP_HOST="evil.example").post(f"/b2.2/{deployed.api_key}/createUser.json")
    assert refused.status_code == 400
