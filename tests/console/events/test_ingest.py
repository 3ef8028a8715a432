"""The SDKs' events upload (`POST /v1/app-installs/{installId}/events` on their events host)
sent as they send it, to Kiln's real web process: stored once per event uuid, users and
installs recorded, bad uploads refused whole with nothing stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from console.apps import services as app_services
from console.apps.models import App
from console.events.models import AppUser, Event, Install
from tests.apimethods.test_client_compat import basic, send

pytestmark = pytest.mark.django_db(transaction=True)

INSTALL = "0b8f0c1e-5a8e-4c4c-9a57-2f4f3c1a9d10"
JSON = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
T0 = 1_764_000_000_000  # 2025-11-24T16:00:00Z in ms


def event(kind: str, ms: int, data: Any = None, user: str | None = None, uid: str | None = None) -> dict[str, Any]:
    return {"type": kind, "uuid": uid or str(uuid.uuid4()), "timestamp": ms, "data": data, "userId": user}


def upload(server: str, app: App, events: Any, *, install: str = INSTALL, path: str | None = None,
           secret: str | None = None, raw: bytes | None = None) -> requests.Response:  # fmt: skip
    body = raw if raw is not None else json.dumps(events).encode()
    return send(
        server, "POST", "events.kumulos.com", path or f"/v1/app-installs/{install}/events",
        auth=basic(app, secret), body=body, headers=JSON,
    )  # fmt: skip


def stored(app: App) -> list[tuple[str, str, datetime, str, str | None, Any]]:
    return [
        (str(e.uuid), e.type, e.happened_at, e.install_id, e.user_identifier, e.data)
        for e in Event.objects.filter(app=app).order_by("happened_at", "id")
    ]


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_android_upload_is_stored_and_answered_200(server: str, app: App) -> None:
    batch = [
        event("k.fg", T0, None),
        event("product.viewed", T0 + 1500, {"sku": "A-1", "price": 9.5}, user="ann"),
    ]
    response = upload(server, app, batch)
    assert (response.status_code, response.json()) == (200, {"accepted": 2, "duplicates": 0})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert stored(app) == [
        (batch[0]["uuid"], "k.fg", at(T0), INSTALL, None, None),
        (batch[1]["uuid"], "product.viewed", at(T0 + 1500), INSTALL, "ann", {"sku": "A-1", "price": 9.5}),
    ]
    install = Install.objects.get(app=app)
    assert (install.install_id, install.user_identifier, install.first_seen_at, install.last_seen_at) == (
        INSTALL, None, at(T0), at(T0 + 1500),
    )  # fmt: skip
    ann = AppUser.objects.get(app=app)
    assert (ann.identifier, ann.attributes, ann.first_seen_at, ann.last_seen_at) == (
        "ann",
        {},
        at(T0 + 1500),
        at(T0 + 1500),
    )


def test_a_retried_upload_stores_nothing_twice(server: str, app: App) -> None:
    batch = [event("k.fg", T0), event("k.bg", T0 + 10)]
    assert upload(server, app, batch).json() == {"accepted": 2, "duplicates": 0}
    # The device never saw the answer and sends the batch again, with one new event.
    again = upload(server, app, [*batch, event("k.fg", T0 + 20)])
    assert (again.status_code, again.json()) == (200, {"accepted": 1, "duplicates": 2})
    assert [row[1] for row in stored(app)] == ["k.fg", "k.bg", "k.fg"]


def test_the_same_uuid_in_another_app_is_another_event(server: str, app: App, owner: Any) -> None:
    other = app_services.create_app(owner, "Other")
    shared = str(uuid.uuid4())
    assert upload(server, app, [event("k.fg", T0, uid=shared)]).json() == {"accepted": 1, "duplicates": 0}
    assert upload(server, other, [event("k.fg", T0, uid=shared)]).json() == {"accepted": 1, "duplicates": 0}
    assert (Event.objects.filter(app=app).count(), Event.objects.filter(app=other).count()) == (1, 1)


def test_web_sdk_associates_a_user_with_attributes(server: str, app: App) -> None:
    associate = event("k.stats.userAssociated", T0, {"id": "ann@example.com", "attributes": {"name": "Ann", "age": 31}})
    response = upload(
        server, app, [associate, event("checkout.completed", T0 + 5, {"total": 20}, user="ann@example.com")]
    )
    assert response.json() == {"accepted": 2, "duplicates": 0}
    user = AppUser.objects.get(app=app, identifier="ann@example.com")
    assert (user.attributes, user.attributes_at, user.last_seen_at) == ({"name": "Ann", "age": 31}, at(T0), at(T0 + 5))
    install = Install.objects.get(app=app, install_id=INSTALL)
    assert (install.user_identifier, install.associated_at) == ("ann@example.com", at(T0))


def test_an_older_association_uploaded_late_never_overwrites_a_newer_one(server: str, app: App) -> None:
    newer = event("k.stats.userAssociated", T0 + 60_000, {"id": "ann", "attributes": {"plan": "gold"}}, user="ann")
    older = event("k.stats.userAssociated", T0, {"id": "ann", "attributes": {"plan": "free"}}, user="ann")
    upload(server, app, [newer])
    other_install = "11111111-2222-3333-4444-555555555555"
    upload(server, app, [older], install=other_install)
    user = AppUser.objects.get(app=app, identifier="ann")
    assert (user.attributes, user.first_seen_at, user.last_seen_at) == ({"plan": "gold"}, at(T0), at(T0 + 60_000))
    # Each install remembers the last user it was associated with.
    assert sorted(Install.objects.filter(app=app).values_list("install_id", "user_identifier")) == [
        (INSTALL, "ann"), (other_install, "ann"),
    ]  # fmt: skip


def test_batched_form_and_doubled_slash_path(server: str, app: App) -> None:
    batch = {"events": [event("k.fg", T0)]}
    response = upload(server, app, batch, path=f"/v1//app-installs/{INSTALL}/events/")
    assert (response.status_code, response.json()) == (200, {"accepted": 1, "duplicates": 0})


def test_web_sdk_preflight_then_upload(server: str, app: App) -> None:
    path = f"/v1/app-installs/{INSTALL}/events"
    preflight = send(
        server, "OPTIONS", "events.kumulos.com", path,
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )  # fmt: skip
    assert (preflight.status_code, preflight.content) == (204, b"")
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    response = send(
        server, "POST", "events.kumulos.com", path, auth=basic(app),
        body=json.dumps([event("k.pageViewed", T0, {"url": "/"})]).encode(),
        headers={**JSON, "Origin": "https://shop.example"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


GOOD = {"type": "k.fg", "uuid": "8b7c6d5e-4f3a-4b2c-9d1e-0f1a2b3c4d5e", "timestamp": T0, "data": None}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Invalid request: the body is not valid JSON"),
        (b'{"type": "k.fg"}', "Invalid request: the body must be a JSON array of events"),
        (
            json.dumps([GOOD, {**GOOD, "uuid": "nope"}]).encode(),
            'Invalid request: event 1: "uuid" must be a UUID string',
        ),
        (
            json.dumps([{**GOOD, "timestamp": "yesterday"}]).encode(),
            'Invalid request: event 0: "timestamp" must be milliseconds since 1970 (a number from 0)',
        ),
        (
            json.dumps([{**GOOD, "type": ""}]).encode(),
            'Invalid request: event 0: "type" must be a non-empty string of at most 200 characters',
        ),
        (
            json.dumps([GOOD, {**GOOD, "uuid": str(uuid.uuid4()), "data": {"note": "a\u0000b"}}]).encode(),
            'Invalid request: event 1: "data" contains a NUL character',
        ),
        (
            json.dumps([{**GOOD, "userId": {"id": 1}}]).encode(),
            'Invalid request: event 0: "userId" must be a string or null',
        ),
        (b"[1]", "Invalid request: event 0 is not an object"),
    ],
)
def test_a_bad_upload_is_a_422_and_nothing_is_stored(server: str, app: App, body: bytes, message: str) -> None:
    response = upload(server, app, None, raw=body)
    assert (response.status_code, response.json()) == (422, {"error": message})
    assert (Event.objects.count(), AppUser.objects.count(), Install.objects.count()) == (0, 0, 0)


def test_too_many_events_in_one_upload(server: str, app: App) -> None:
    batch = [event("k.fg", T0 + i) for i in range(1001)]
    response = upload(server, app, batch)
    assert (response.status_code, response.json()) == (
        422,
        {"error": "Invalid request: 1001 events in one upload; at most 1000"},
    )
    assert Event.objects.count() == 0


def test_wrong_secret_suspended_app_and_wrong_method(server: str, app: App) -> None:
    batch = [event("k.fg", T0)]
    wrong = upload(server, app, batch, secret="not-the-secret")
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Not authorised: wrong API key or secret key"})
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="Kiln"'
    App.objects.filter(pk=app.pk).update(suspended=True)
    suspended = upload(server, app, batch)
    assert (suspended.status_code, suspended.json()) == (403, {"error": "This app is suspended"})
    listing = send(server, "GET", "events.kumulos.com", f"/v1/app-installs/{INSTALL}/events", auth=basic(app))
    assert (listing.status_code, listing.headers["Allow"]) == (405, "POST, OPTIONS")
    assert Event.objects.count() == 0


def test_the_fast_path_and_djangos_handler_answer_an_upload_alike(server: str, app: App) -> None:
    # gunicorn serves uploads past Django's request handling (apimethods.client.ClientFastPath),
    # the test client through it: the same answers, the same security headers, no cookies
    from django.test import Client

    from console.events.ingest import endpoint
    from console.wsgi import application

    assert application._bare_view(f"/v1//app-installs/{INSTALL}/events/") == (endpoint, {"install_id": INSTALL})
    assert application._bare_view("/v1/app-installs/x/crashes") is None
    fast = upload(server, app, [event("k.engage.screen", T0)])
    via_django = Client().post(
        f"/v1/app-installs/{INSTALL}/events",
        data=json.dumps([event("k.engage.screen", T0 + 1)]),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(app),
    )
    assert (fast.status_code, fast.json()) == (via_django.status_code, json.loads(via_django.content))
    assert fast.json() == {"accepted": 1, "duplicates": 0}
    for response in (fast.headers, via_django):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"].startswith("application/json")
    assert "Set-Cookie" not in fast.headers
    assert Event.objects.filter(app=app).count() == 2
    refused = send(server, "POST", "evil.example", f"/v1/app-installs/{INSTALL}/events", auth=basic(app), body=b"[]")
    assert refused.status_code == 400
