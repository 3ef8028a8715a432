"""Lane classification by path, and how the SDKs' /v1/ calls are refused when their share of
the client threads is taken: HTTP 503 they retry, never a Kumulos envelope with HTTP 200
(which an events upload would take as delivered, and an ObjC channel listing would crash on)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import requests
from psycopg.conninfo import make_conninfo

from console.apps.models import App
from console.serving import lanes
from console.serving.lanes import CLIENT_LANE, CONSOLE_LANE, SDK_TENANT, SHARED_TENANT


@pytest.mark.parametrize(
    ("path", "lane", "tenant"),
    [
        (b"/b2.2/key-1/getUsers.json", CLIENT_LANE, b"k:key-1"),
        (b"//b2/key-1/getUsers.plist", CLIENT_LANE, b"k:key-1"),
        (b"/v1/app-installs/6F9619FF/events", CLIENT_LANE, SDK_TENANT),
        (b"/v1/users/ann%40example.com/channels/subscriptions", CLIENT_LANE, SDK_TENANT),
        (b"/v1//app-installs/6F9619FF/channels/subscriptions", CLIENT_LANE, SDK_TENANT),
        (b"//v1/track/key-1/kscrash/6F9619FF", CLIENT_LANE, SDK_TENANT),
        (b"/v1/v1/users/ann/channels", CLIENT_LANE, SDK_TENANT),
        (b"/api/apps/12/tables/", CONSOLE_LANE, b"a:12"),
        (b"/v1", CONSOLE_LANE, SHARED_TENANT),
        (b"/v10/x", CONSOLE_LANE, SHARED_TENANT),
        (b"/static/v1/app.js", CONSOLE_LANE, SHARED_TENANT),
        (b"/apps/12", CONSOLE_LANE, SHARED_TENANT),
    ],
)
def test_paths_are_classified_into_lanes_and_tenants(path: bytes, lane: str, tenant: bytes) -> None:
    assert lanes.classify(path) == (lane, tenant)


def test_sdk_calls_are_tenants_by_the_api_key_of_their_basic_credentials() -> None:
    basic = b"Basic " + base64.b64encode(b"key-1:secret")
    assert lanes.classify(b"/v1/app-installs/x/events", basic) == (CLIENT_LANE, b"s:key-1")
    assert lanes.classify(b"/v1/app-installs/x/events", b"Basic !!!") == (CLIENT_LANE, SDK_TENANT)
    assert lanes.classify(b"/v1/app-installs/x/events", b"Bearer abc") == (CLIENT_LANE, SDK_TENANT)
    # An RPC call's tenant is the key in its path, whatever its credentials say.
    assert lanes.classify(b"/b2.2/key-2/m.json", basic) == (CLIENT_LANE, b"k:key-2")
    assert lanes.answers_with_envelope(CLIENT_LANE, b"s:key-1") is False


def test_only_rpc_calls_are_refused_with_an_envelope() -> None:
    assert lanes.answers_with_envelope(*lanes.classify(b"/b2.2/key-1/getUsers.json")) is True
    assert lanes.answers_with_envelope(*lanes.classify(b"/v1/app-installs/x/events")) is False
    assert lanes.answers_with_envelope(*lanes.classify(b"/api/apps/1/")) is False
    assert lanes.answers_with_envelope(*lanes.classify(b"/login")) is False


@pytest.mark.django_db(transaction=True)
def test_a_busy_sdk_call_gets_a_503_it_retries_and_the_held_one_completes(
    app: App, kiln_server: Callable[..., str]
) -> None:
    from django.db import connection

    # One /v1/ call at a time and nobody waiting: a second is refused at once.
    base = kiln_server(KILN_APP_CONCURRENCY="1", KILN_APP_QUEUE="0")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{app.api_key}:{app.secret_key}".encode()).decode()}
    url = f"{base}/v1/app-installs/6F9619FF/channels"
    db = connection.settings_dict  # the test database the server uses too
    dsn = make_conninfo(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )  # fmt: skip

    with psycopg.connect(dsn, autocommit=False) as holder, ThreadPoolExecutor(1) as pool:
        # The first call's app lookup waits on this lock, so it holds the SDK tenant's slot.
        holder.execute(f'LOCK TABLE "{App._meta.db_table}" IN ACCESS EXCLUSIVE MODE')
        held = pool.submit(lambda: requests.get(url, headers=auth, timeout=30))
        with psycopg.connect(dsn, autocommit=True) as watcher:
            waited = 0.0
            while not watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                [db["NAME"]],
            ).fetchone()[0]:  # type: ignore[index]
                assert waited < 20, "the first call never reached the database"
                time.sleep(0.05)
                waited += 0.05
        refused = requests.get(url, headers=auth, timeout=10)
        holder.rollback()
        first: Any = held.result()

    assert refused.status_code == 503
    assert refused.headers["Content-Type"] == "application/json" and refused.headers["Retry-After"] == "1"
    assert "responseCode" not in refused.json() and "busy" in refused.json()["detail"]
    assert (first.status_code, first.json()) == (200, [])
    assert requests.get(url, headers=auth, timeout=10).json() == []
