"""Client credentials: HTTP Basic (every SDK since 2016) and the legacy salted MD5 hash.

Neither function ever raises on what a client sent; garbage simply does not authenticate.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """``Basic base64(user:secret)`` → ``(user, secret)``, split on the first ``:``.

    Returns ``None`` for a missing header, another scheme, invalid base64 (padding is
    required), credentials that are not UTF-8, no ``:`` or an empty user name.
    """
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = binascii.a2b_base64(encoded.strip().encode("ascii"), strict_mode=True)
        credentials = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, secret = credentials.partition(":")
    if not colon or not user:
        return None
    return user, secret


def hashed_key_matches(secret: str, salt: str, hashed_key: str) -> bool:
    """Whether ``hashed_key`` is the hex MD5 of ``secret + salt`` (any letter case).

    The comparison takes the same time wherever the strings differ.
    """
    if not secret or not salt or not hashed_key:
        return False
    expected = hashlib.md5((secret + salt).encode("utf-8"), usedforsecurity=False).hexdigest()
    try:
        given = hashed_key.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given)
