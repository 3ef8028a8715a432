"""CORS on the client API (preflights, allowed origins) and the host names clients use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods.client import cors_headers, preflight_headers
from console.apps.models import App
from tests.console.test_serving import ECHO, deploy

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_preflight_with_authorization_is_answered_204(app: App, owner: Any, kiln_server: Callable[..., str]) -> None:
    deploy(app, owner, ECHO)
    response = requests.options(
        f"{kiln_server()}/b2.2/{app.api_key}/echoName.json",
        headers={
            "Origin": "http://localhost:8100",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-requested-with",
        },
        timeout=10,
    )
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, x-requested-with"


def test_calls_carry_the_allow_origin_header(app: App, owner: Any, kiln_server: Callable[..., str]) -> None:
    deploy(app, owner, ECHO)
    response = requests.post(
        f"{kiln_server()}/b2.2/{app.api_key}/echoName.json",
        auth=(app.api_key, app.secret_key),
        data={"params[name]": "web"},
        headers={"Origin": "https://example.test"},
        timeout=10,
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.json()["payload"] == {"name": "web"}


def test_only_listed_origins_when_configured(settings: Any) -> None:
    settings.KILN_CORS_ORIGINS = ["https://app.example"]
    assert cors_headers("https://app.example") == [
        ("Access-Control-Allow-Origin", "https://app.example"),
        ("Vary", "Origin"),
    ]
    assert cors_headers("https://evil.example") == [("Vary", "Origin")]
    assert ("Access-Control-Allow-Origin", "https://evil.example") not in preflight_headers("https://evil.example", "")


def test_header_names_that_are_not_tokens_are_not_echoed() -> None:
    allowed = dict(preflight_headers(None, "x-ok, bad header\r\nx: y, ,"))["Access-Control-Allow-Headers"]
    assert allowed == "Authorization, Content-Type, x-ok"


def test_a_configured_client_host_is_served(app: App, owner: Any, kiln_server: Callable[..., str]) -> None:
    deploy(app, owner, ECHO)
    base = kiln_server(KILN_CLIENT_HOSTS="api.kumulos.com")
    answer = requests.post(
        f"{base}/b2.2/{app.api_key}/echoName.json",
        auth=(app.api_key, app.secret_key),
        data={"params[name]": "dns"},
        headers={"Host": "api.kumulos.com"},
        timeout=10,
    )
    assert answer.json()["payload"] == {"name": "dns"}
    other = requests.post(
        f"{base}/b2.2/{app.api_key}/echoName.json",
        auth=(app.api_key, app.secret_key),
        headers={"Host": "api.unknown.example"},
        timeout=10,
    )
    assert other.status_code == 400
