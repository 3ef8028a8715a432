from __future__ import annotations

import base64
import hashlib

import pytest

from apimethods.wire import hashed_key_matches, parse_basic_auth


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("APIKEY:SECRET"), ("APIKEY", "SECRET")),
        (basic("key:se:cr:et"), ("key", "se:cr:et")),
        (basic("6f1c0b9e-2d3a:a+b/c+d=="), ("6f1c0b9e-2d3a", "a+b/c+d==")),
        (basic("key:"), ("key", "")),
        ("basic " + base64.b64encode(b"k:s").decode(), ("k", "s")),
        ("  Basic   " + base64.b64encode(b"k:s").decode() + "  ", ("k", "s")),
        (basic("kéy:sécret"), ("kéy", "sécret")),
    ],
)
def test_parse_basic_auth_splits_on_the_first_colon(header: str, expected: tuple[str, str]) -> None:
    assert parse_basic_auth(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer abc.def",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"k:se").decode().rstrip("="),
        "Basic " + base64.b64encode(b"nocolon").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(b"k:s").decode() + "garbage",
        "Basic Zm9v\u00e9",
    ],
)
def test_parse_basic_auth_returns_none_for_garbage(header: str | None) -> None:
    assert parse_basic_auth(header) is None


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_hashed_key_matches_md5_of_secret_followed_by_salt() -> None:
    assert hashed_key_matches("SECRETKEY", "4711", md5_hex("SECRETKEY4711")) is True


def test_hashed_key_matches_case_insensitively() -> None:
    assert hashed_key_matches("SECRETKEY", "4711", md5_hex("SECRETKEY4711").upper()) is True


@pytest.mark.parametrize(
    ("secret", "salt", "hashed_key"),
    [
        ("SECRETKEY", "4712", md5_hex("SECRETKEY4711")),
        ("OTHER", "4711", md5_hex("SECRETKEY4711")),
        ("SECRETKEY", "4711", md5_hex("4711SECRETKEY")),
        ("SECRETKEY", "4711", ""),
        ("SECRETKEY", "", md5_hex("SECRETKEY")),
        ("", "4711", md5_hex("4711")),
        ("SECRETKEY", "4711", "not a hash"),
        ("SECRETKEY", "4711", "é" * 32),
    ],
)
def test_hashed_key_rejects_wrong_or_missing_parts(secret: str, salt: str, hashed_key: str) -> None:
    assert hashed_key_matches(secret, salt, hashed_key) is False
