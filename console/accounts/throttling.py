"""Who is asking: the client's address for throttles, and the sign-in throttle.

A client can write any X-Forwarded-For it likes, so the header is believed only when the
TCP peer is one of KILN_TRUSTED_PROXIES, and then only as far as the chain of trusted
proxies goes: the right-most address a trusted proxy did not add is the client.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]" or "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address) -> bool:
    return any(address in network for network in settings.KILN_TRUSTED_PROXIES)


def client_address(request: HttpRequest | Any) -> str:
    """The client's IP address as text: the TCP peer, or behind trusted proxies the
    address the outermost trusted proxy saw."""
    peer = request.META.get("REMOTE_ADDR", "")
    current = _address(peer)
    if current is None or not _trusted(current):
        return peer
    # Django joins repeated X-Forwarded-For headers with commas, in the order received.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([hop for hop in forwarded.split(",") if hop.strip()]):
        address = _address(hop)
        if address is None:
            # Not an address, so no trusted proxy wrote it: stop at the last hop we believe.
            break
        current = address
        if not _trusted(address):
            break
    return str(current)


class LoginThrottle(AnonRateThrottle):
    """Sign-in attempts per client address (20 a minute), counted in the cache."""

    rate = "20/min"

    def get_ident(self, request: Any) -> str:
        # DRF's own get_ident believes any X-Forwarded-For: a new header per attempt was a
        # new budget per attempt.
        return client_address(request)


class PasswordThrottle(SimpleRateThrottle):
    """Password changes per signed-in user (10 a minute): each try checks the current
    password, so a stolen session must not become an unlimited guessing oracle."""

    rate = "10/min"
    scope = "password"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
