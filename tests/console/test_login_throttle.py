"""The sign-in throttle counts per real client address: a new X-Forwarded-For per attempt
is no new budget (issue 10), and the header is believed only from KILN_TRUSTED_PROXIES."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from console.accounts.throttling import client_address
from tests.fixtures.accounts import PASSWORD

LOGIN = "/api/auth/login/"


def networks(*items: str) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(item) for item in items)


@pytest.fixture
def fresh_addresses() -> Iterator[list[str]]:
    """Addresses no earlier run counted (the throttle's counts live in the shared Redis)."""
    base = ipaddress.ip_address("2001:db8::") + (uuid.uuid4().int >> 40 << 8)  # a random /120 of 2001:db8::/32
    made = [str(base + i) for i in range(4)]
    yield made
    for address in made:
        cache.delete(f"throttle_anon_{address}")


def attempt(client: APIClient, password: str = "wrong", **meta: str) -> int:
    return client.post(LOGIN, {"username": "olivia", "password": password}, format="json", **meta).status_code


def test_25_attempts_with_different_forwarded_headers_get_429(owner: Any, fresh_addresses: list[str]) -> None:
    client = APIClient()
    peer = fresh_addresses[0]
    statuses = [
        attempt(client, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.{i}") for i in range(25)
    ]
    assert statuses == [400] * 20 + [429] * 5
    # The right password inside the lock-out does not sign in either.
    assert attempt(client, PASSWORD, REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="192.0.2.77") == 429
    assert client.get("/api/auth/me/").status_code == 403
    # Another address still has its own budget.
    assert attempt(client, PASSWORD, REMOTE_ADDR=fresh_addresses[1]) == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(owner: Any, fresh_addresses: list[str]) -> None:
    proxy, alice, bob = "10.1.2.3", fresh_addresses[2], fresh_addresses[3]
    client = APIClient()
    with override_settings(KILN_TRUSTED_PROXIES=networks("10.0.0.0/8")):
        # Alice makes up the left part of the header each time; the proxy appended her address.
        for i in range(20):
            assert attempt(client, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {alice}") == 400
        assert attempt(client, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.99, {alice}") == 429
        assert attempt(client, PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=bob) == 200


@pytest.mark.parametrize(
    "peer, forwarded, trusted, expected",
    [
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),  # no proxies trusted: the peer
        ("203.0.113.5", "198.51.100.1", ("10.0.0.0/8",), "203.0.113.5"),  # an untrusted peer's header
        ("10.0.0.1", "198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),
        ("10.0.0.1", "1.1.1.1, 198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),  # the client's own entry
        ("10.0.0.1", "198.51.100.1, 10.0.0.9", ("10.0.0.0/8",), "198.51.100.1"),  # two trusted proxies
        ("10.0.0.1", "198.51.100.1, 10.0.0.9", ("10.0.0.1/32",), "10.0.0.9"),  # only the first is trusted
        ("10.0.0.1", "", ("10.0.0.0/8",), "10.0.0.1"),  # no header: the proxy itself
        ("10.0.0.1", "10.0.0.7", ("10.0.0.0/8",), "10.0.0.7"),  # every hop trusted
        ("10.0.0.1", "nonsense, 10.0.0.9", ("10.0.0.0/8",), "10.0.0.9"),  # stop at what no proxy wrote
        ("::1", "[2001:db8::5]:443", ("::1",), "2001:db8::5"),
        ("::1", " 2001:db8::5 ,, ", ("::1",), "2001:db8::5"),
    ],
)
def test_client_address(peer: str, forwarded: str, trusted: tuple[str, ...], expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(KILN_TRUSTED_PROXIES=networks(*trusted)):
        assert client_address(request) == expected


def test_a_bad_trusted_proxy_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from console.settings.env import env_networks

    monkeypatch.setenv("KILN_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="'proxy.internal' is not an IP address or network"):
        env_networks("KILN_TRUSTED_PROXIES")
    monkeypatch.setenv("KILN_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    assert env_networks("KILN_TRUSTED_PROXIES") == networks("10.0.0.0/8", "::1/128")
