"""The Kumulos SDKs' calls besides the RPC API (/v1/… on their push, crm, crash, links and
stats hosts), sent as each SDK sends them — method, path, headers, body bytes, Host of the
Kumulos host pointed here by DNS — to Kiln's real web process (gunicorn + console.serving)."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from console.apps.models import App
from tests.console.test_serving import address, read_response
from tests.fixtures.servers import ROOT, free_port, stop, wait_for_port

pytestmark = pytest.mark.django_db(transaction=True)

INSTALL = "6F9619FF-8B86-D011-B42D-00CF4FC964FF"
USER = "ann@example.com/42"  # encoded by the SDKs; the "/" comes back as %2F


@pytest.fixture(scope="module")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One Kiln web process for the module (as tests/fixtures/servers.py's kiln_server starts
    it), serving every Kumulos host: a leading dot takes the domain and the hosts under it."""
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings
    from django.db import connection

    from console.launcher.web import gunicorn_command

    with django_db_blocker.unblock():
        test_db = connection.settings_dict["NAME"]
    port = free_port()
    proc = subprocess.Popen(
        [*gunicorn_command(f"127.0.0.1:{port}", workers=1), "--log-level", "warning"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "DATABASE_URL": urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path="/" + test_db)),
            "KILN_CLIENT_HOSTS": ".kumulos.com",
        },
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def basic(app: App, secret: str | None = None) -> str:
    creds = f"{app.api_key}:{app.secret_key if secret is None else secret}"
    return "Basic " + base64.b64encode(creds.encode()).decode()


def send(
    server: str,
    method: str,
    host: str,
    path: str,
    *,
    auth: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {"Host": host, **(headers or {})}
    if auth is not None:
        sent["Authorization"] = auth
    return requests.request(method, server + path, data=body, headers=sent, timeout=15)


JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}


def assert_no_content(response: requests.Response) -> None:
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def assert_json(response: requests.Response, status: int, value: Any) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == value


# ── push channels ────────────────────────────────────────────────────────────


@pytest.mark.parametrize("method", ["POST", "DELETE", "PUT"])
def test_android_and_objc_change_subscriptions_on_the_push_host(server: str, app: App, method: str) -> None:
    body = json.dumps({"uuids": ["news", "offers"]}).encode()
    response = send(
        server, method, "push.kumulos.com", f"/v1/app-installs/{INSTALL}/channels/subscriptions",
        auth=basic(app), body=body, headers=JSON_HEADERS,
    )  # fmt: skip
    assert_no_content(response)


def test_clearing_subscriptions_sends_an_empty_list(server: str, app: App) -> None:
    response = send(
        server, "PUT", "push-eu.kumulos.com", f"/v1/app-installs/{INSTALL}/channels/subscriptions",
        auth=basic(app), body=b'{"uuids":[]}', headers=JSON_HEADERS,
    )  # fmt: skip
    assert_no_content(response)


def test_channel_listing_is_an_empty_array_never_an_object(server: str, app: App) -> None:
    # ObjC enumerates the answer as an array and Flutter wants exactly 200.
    for host, path in [
        ("push.kumulos.com", f"/v1/app-installs/{INSTALL}/channels"),
        ("crm.kumulos.com", f"/v1/users/{quote(USER, safe='')}/channels"),
    ]:
        assert_json(send(server, "GET", host, path, auth=basic(app), headers=JSON_HEADERS), 200, [])


def test_android_creates_a_channel_and_gets_it_back_unsubscribed(server: str, app: App) -> None:
    # JSONObject.put drops null values, so Android sends no name and no meta.
    body = json.dumps({"uuid": "news", "showInPortal": False, "installId": INSTALL}).encode()
    response = send(server, "POST", "push.kumulos.com", "/v1/channels", auth=basic(app), body=body, headers=JSON_HEADERS)
    assert_json(response, 201, {"uuid": "news", "name": None, "subscribed": False, "meta": None})
    # Nothing was kept: the listing is still empty.
    listing = send(server, "GET", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/channels", auth=basic(app))
    assert listing.json() == []


def test_cordova_on_the_crm_host_with_a_preflight_first(server: str, app: App) -> None:
    path = f"/v1/users/{quote(USER, safe='')}/channels/subscriptions"
    preflight = send(
        server, "OPTIONS", "crm.kumulos.com", path,
        headers={
            "Origin": "http://localhost",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type,accept",
        },
    )  # fmt: skip
    assert (preflight.status_code, preflight.content) == (204, b"")
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, accept"
    response = send(
        server, "PUT", "crm.kumulos.com", path, auth=basic(app), body=b'{"uuids":["news"]}',
        headers={**JSON_HEADERS, "Origin": "http://localhost"},
    )  # fmt: skip
    assert_no_content(response)
    created = send(
        server, "POST", "crm.kumulos.com", "/v1/channels", auth=basic(app),
        body=json.dumps({"uuid": "club", "name": "Club", "showInPortal": True, "meta": {"tier": 2},
                         "userIdentifier": USER}).encode(),
        headers={**JSON_HEADERS, "Origin": "http://localhost"},
    )  # fmt: skip
    assert_json(created, 201, {"uuid": "club", "name": "Club", "subscribed": False, "meta": {"tier": 2}})


def test_alamofire_swift_posts_a_form_to_a_doubled_slash_path(server: str, app: App) -> None:
    # basePushUrl ends in "/v1/" and the path starts with "/": "/v1//app-installs/…".
    response = send(
        server, "POST", "push.kumulos.com", f"/v1//app-installs/{INSTALL}/channels/subscriptions",
        auth=basic(app), body=b"uuids%5B%5D=news&uuids%5B%5D=offers",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )  # fmt: skip
    assert_no_content(response)


def test_xamarin_2018_bare_array_and_empty_clear(server: str, app: App) -> None:
    path = f"/v1/app-installs/{INSTALL}/channels/subscriptions"
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    assert_no_content(send(server, "POST", "push.kumulos.com", path, auth=basic(app), body=b'["news"]', headers=headers))
    assert_no_content(send(server, "DELETE", "push.kumulos.com", path, auth=basic(app), body=b"", headers=headers))


def test_xamarin_6_doubled_version_segment_on_the_stats_host(server: str, app: App) -> None:
    # Its base URI already ends in /v1 and the path starts with /v1 again.
    listing = send(server, "GET", "stats.kumulos.com", f"/v1/v1/users/{USER}/channels", auth=basic(app))
    assert_json(listing, 200, [])
    change = send(
        server, "POST", "stats.kumulos.com", f"/v1/v1/users/{USER}/channels/subscriptions",
        auth=basic(app), body=b'{"uuids":["news"]}', headers=JSON_HEADERS,
    )  # fmt: skip
    assert_no_content(change)


def test_flutter_sends_its_subscription_change_chunked(server: str, app: App) -> None:
    host, port = address(server)
    payload = json.dumps({"uuids": ["news"]}).encode()
    chunks = b"%x\r\n%b\r\n0\r\n\r\n" % (len(payload), payload)
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"POST /v1/users/{quote(USER, safe='')}/channels/subscriptions HTTP/1.1\r\n"
            f"Host: crm.kumulos.com\r\nAuthorization: {basic(app)}\r\nAccept: application/json\r\n"
            "Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + chunks
        )
        status, headers, body = read_response(sock)
    assert (status, body) == ("HTTP/1.1 204 No Content", b"")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"uuids": "news"}', '"uuids" must be a list of channel uuids'),
        (b'{"channels": ["news"]}', 'the body needs "uuids": a list of channel uuids'),
        (b'{"uuids": ["news", 7]}', "each channel uuid must be a non-empty string of at most 255 characters"),
        (b'{"uuids": [', "the body is not valid JSON"),
        (b"channel=news", "the form may only carry uuids[] fields"),
    ],
)
def test_a_subscription_body_that_makes_no_sense_is_a_422(server: str, app: App, body: bytes, message: str) -> None:
    response = send(
        server, "POST", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/channels/subscriptions",
        auth=basic(app), body=body, headers=JSON_HEADERS,
    )  # fmt: skip
    assert_json(response, 422, {"error": f"Invalid request: {message}"})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "No uuid"}, '"uuid" must be a non-empty string of at most 255 characters'),
        ({"uuid": "x", "showInPortal": True}, '"name" is required when "showInPortal" is true'),
        ({"uuid": "x", "meta": "tier 2"}, '"meta" must be an object or null'),
        (["x"], "the body must be a JSON object describing the channel"),
    ],
)
def test_a_channel_the_sdks_would_refuse_is_a_422(server: str, app: App, spec: Any, message: str) -> None:
    response = send(
        server, "POST", "push.kumulos.com", "/v1/channels", auth=basic(app), body=json.dumps(spec).encode(),
        headers=JSON_HEADERS,
    )  # fmt: skip
    assert_json(response, 422, {"error": f"Invalid request: {message}"})


def test_a_body_over_64_kib_is_refused_as_json(server: str, app: App) -> None:
    body = json.dumps({"uuids": ["x" * 200] * 400}).encode()
    response = send(
        server, "PUT", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/channels/subscriptions",
        auth=basic(app), body=body, headers=JSON_HEADERS,
    )  # fmt: skip
    assert_json(response, 422, {"error": "Invalid request: body larger than 65536 bytes"})


# ── credentials ──────────────────────────────────────────────────────────────


def test_wrong_missing_or_unknown_keys_get_a_json_401(server: str, app: App, other_app: App) -> None:
    path = f"/v1/app-installs/{INSTALL}/channels"
    unknown = "Basic " + base64.b64encode(f"{uuid.uuid4()}:{app.secret_key}".encode()).decode()
    for auth, message in [
        (basic(app, secret="not-the-secret"), "Not authorised: wrong API key or secret key"),
        (unknown, "Not authorised: wrong API key or secret key"),
        (basic(other_app, secret=app.secret_key), "Not authorised: wrong API key or secret key"),
        ("Bearer abc", "Authentication required: HTTP Basic with the app's API key and secret key"),
        (None, "Authentication required: HTTP Basic with the app's API key and secret key"),
    ]:
        response = send(server, "GET", "push.kumulos.com", path, auth=auth)
        assert_json(response, 401, {"error": message})
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Kiln"'


def test_a_suspended_app_is_refused_with_403(server: str, app: App) -> None:
    App.objects.filter(pk=app.pk).update(suspended=True)
    response = send(server, "GET", "crm.kumulos.com", f"/v1/users/{USER}/messages", auth=basic(app))
    assert_json(response, 403, {"error": "This app is suspended"})


def test_a_host_that_is_not_configured_is_refused(server: str, app: App) -> None:
    response = send(server, "GET", "push.example.org", f"/v1/app-installs/{INSTALL}/channels", auth=basic(app))
    assert response.status_code == 400


# ── in-app messages, check-ins, deep links, web ──────────────────────────────


def test_in_app_sync_finds_no_messages(server: str, app: App) -> None:
    response = send(
        server, "GET", "push.kumulos.com", f"/v1/users/{quote(USER, safe='')}/messages?after=2026-12-01T09%3A00%3A00Z",
        auth=basic(app), headers={"Accept": "application/json"},
    )  # fmt: skip
    assert_json(response, 200, [])


def test_android_check_ins_are_not_kept(server: str, app: App) -> None:
    base = f"/v1/users/{quote(USER, safe='')}"
    opened = send(
        server, "POST", "crm.kumulos.com", f"{base}/checkins", auth=basic(app),
        body=json.dumps({"location": "Cafe", "contacts": [{"name": "Ann"}], "tz": "Europe/London",
                         "deviceKey": "k"}).encode(),
        headers=JSON_HEADERS,
    )  # fmt: skip
    assert_json(opened, 501, {"error": "Kiln does not keep check-ins"})
    assert_json(send(server, "GET", "crm.kumulos.com", f"{base}/open-checkins?deviceKey=k", auth=basic(app)), 200, [])
    for path in (f"{base}/checkins/12?deviceKey=k", f"{base}/checkins/12/contacts/3?deviceKey=k"):
        closed = send(server, "DELETE", "crm.kumulos.com", path, auth=basic(app))
        assert_json(closed, 404, {"error": "No such check-in: Kiln does not keep check-ins"})


def test_deep_links_are_not_found_which_the_sdks_report_as_such(server: str, app: App) -> None:
    for path in ("/v1/deeplinks/summer-sale?wasDeferred=0&utm=x", "/v1/deeplinks/_taps?fingerprint=eyJ4IjoxfQ=="):
        response = send(
            server, "GET", "links.kumulos.com", path, auth=basic(app),
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )  # fmt: skip
        assert_json(response, 404, {"error": "No such deep link: Kiln has no deep links"})


def test_web_sdk_configuration_and_banners_are_empty(server: str, app: App) -> None:
    headers = {"Origin": "https://shop.example"}
    config = send(server, "GET", "push.kumulos.com", "/v1/web/config", auth=basic(app), headers=headers)
    assert_json(config, 200, {})
    banners = send(server, "GET", "links.kumulos.com", f"/v1/banners?webInstallId={INSTALL}", auth=basic(app))
    assert_json(banners, 200, [])
    assert config.headers["Access-Control-Allow-Origin"] == "*"


# ── crash reports ────────────────────────────────────────────────────────────


def test_acra_reports_from_android_are_accepted_and_dropped(server: str, app: App) -> None:
    report = json.dumps({"REPORT_ID": str(uuid.uuid4()), "STACK_TRACE": "java.lang.NullPointerException\n\tat x"})
    response = send(
        server, "POST", "crash.kumulos.com", f"/v1/track/{app.api_key}/acra/{INSTALL}",
        auth=basic(app), body=report.encode(), headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert_no_content(response)


def test_kscrash_reports_from_ios_carry_the_key_only_in_the_path(server: str, app: App) -> None:
    boundary = "ksboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="reports"; filename="reports.json"\r\n'
        f'Content-Type: application/json\r\n\r\n[{{"crash": {{}}}}]\r\n--{boundary}--\r\n'
    ).encode()
    path = f"/v1/track/{app.api_key}/kscrash/{INSTALL}"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert_no_content(send(server, "POST", "crash.kumulos.com", path, body=body, headers=headers))
    unknown = send(server, "POST", "crash.kumulos.com", f"/v1/track/{uuid.uuid4()}/kscrash/{INSTALL}", body=body,
                   headers=headers)  # fmt: skip
    assert_json(unknown, 401, {"error": "Not authorised: wrong API key or secret key"})
    wrong = send(server, "POST", "crash.kumulos.com", path, auth=basic(app, secret="nope"), body=body, headers=headers)
    assert_json(wrong, 401, {"error": "Not authorised: wrong API key or secret key"})


# ── the 2016–2018 SDKs: stats, location, push token, opens ───────────────────


def test_old_sdks_install_stats_location_push_token_and_opens_are_accepted(server: str, app: App) -> None:
    stats = {
        "app": {"bundle": "com.example", "version": "1.2", "target": 2},
        "sdk": {"id": 9, "version": "2.0.0"},
        "runtime": {"id": 7, "version": "0.55.4"},
        "os": {"id": 3, "version": "8.1"},
        "device": {"name": "Pixel", "tz": "Europe/London", "isSimulator": False, "locale": "en-GB"},
    }
    calls = [
        # React Native and Xamarin 2017: JSON install stats.
        ("PUT", "stats.kumulos.com", f"/v1/app-installs/{INSTALL}", json.dumps(stats).encode(), JSON_HEADERS),
        # Alamofire-era Swift: the same as a form, and its location update.
        ("PUT", "stats.kumulos.com", f"/v1/app-installs/{INSTALL}", b"app%5Bbundle%5D=com.example&app%5Btarget%5D=2",
         {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
        ("PUT", "stats.kumulos.com", f"/v1/app-installs/{INSTALL}/location", b"lat=51.5&lng=-0.12",
         {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
        # Xamarin 2017: push token and push opens.
        ("PUT", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/push-token",
         b'{"token":"abc123","type":1,"iosTokenType":1}', JSON_HEADERS),
        ("POST", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/opens", b'{"id":"481"}', JSON_HEADERS),
        ("DELETE", "push.kumulos.com", f"/v1/app-installs/{INSTALL}/push-token", None, {}),
    ]  # fmt: skip
    for method, host, path, body, headers in calls:
        assert_no_content(send(server, method, host, path, auth=basic(app), body=body, headers=headers))


# ── everything else under /v1/ ───────────────────────────────────────────────


def test_unknown_paths_and_methods_get_json_not_html(server: str, app: App) -> None:
    unknown = send(server, "GET", "push.kumulos.com", "/v1/app-installs/x/something-new", auth=basic(app))
    assert_json(unknown, 404, {"error": "No such endpoint: GET /v1/app-installs/x/something-new"})
    unknown_post = send(server, "POST", "push.kumulos.com", "/v1/nothing.json", auth=basic(app), body=b"a=1")
    assert_json(unknown_post, 404, {"error": "No such endpoint: POST /v1/nothing.json"})
    wrong_method = send(server, "GET", "push.kumulos.com", "/v1/channels", auth=basic(app))
    assert_json(wrong_method, 405, {"error": "GET is not allowed here; use POST"})
    assert wrong_method.headers["Allow"] == "POST"
