from __future__ import annotations

from typing import Any

import pytest

from apimethods.wire import ClientRequest, WireError, parse_body, split_fields


def test_split_fields_takes_params_and_every_identity_field() -> None:
    data = parse_body(
        "application/x-www-form-urlencoded",
        b"hashedKey=ab12&salt=4711&deviceType=7&bindingVersion=0.1&sessionToken=s"
        b"&installId=i&deviceID=d&params[userID]=12",
    )

    assert split_fields(data) == ClientRequest(
        params={"userID": "12"},
        session_token="s",
        install_id="i",
        device_id="d",
        device_type="7",
        hashed_key="ab12",
        salt="4711",
        binding_version="0.1",
    )


def test_split_fields_without_anything_gives_empty_params_and_no_identity() -> None:
    assert split_fields({}) == ClientRequest(
        params={},
        session_token=None,
        install_id=None,
        device_id=None,
        device_type=None,
        hashed_key=None,
        salt=None,
        binding_version=None,
    )


def test_json_params_keep_their_json_types() -> None:
    data = {"params": {"age": 41, "admin": False, "tags": ["a"]}, "sessionToken": "t"}

    assert split_fields(data).params == {"age": 41, "admin": False, "tags": ["a"]}


def test_bare_top_level_fields_are_params_when_params_is_absent() -> None:
    data = {"username": "alice", "age": "3", "sessionToken": "t", "deviceType": "8", "salt": "1"}

    request = split_fields(data)

    assert request.params == {"username": "alice", "age": "3"}
    assert (request.session_token, request.device_type, request.salt) == ("t", "8", "1")


def test_bare_fields_join_params_and_params_wins() -> None:
    # Cordova's encoder drops the params[ prefix of nested values: tags[0]=a at top level.
    data = parse_body("application/x-www-form-urlencoded", b"params[name]=Ann&tags[0]=a&tags[1]=b&name=bare")
    assert split_fields(data).params == {"name": "Ann", "tags": ["a", "b"]}


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_empty_params_in_any_spelling_means_no_params(empty: Any) -> None:
    assert split_fields({"params": empty}).params == {}
    assert split_fields({"params": empty, "stray": "x"}).params == {"stray": "x"}


@pytest.mark.parametrize("bad", ["a=1", 12, True, ["a"], [{"a": 1}]])
def test_params_that_is_not_an_object_is_an_invalid_request(bad: Any) -> None:
    with pytest.raises(WireError) as caught:
        split_fields({"params": bad})

    assert (caught.value.code, caught.value.message) == (
        32,
        "'params' must be an object of named parameters",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("", None),
        (None, None),
        (6, "6"),
        (7.0, "7"),
        (0.5, "0.5"),
        (True, None),
        ({"a": 1}, None),
        (["x"], None),
        (b"bytes", None),
    ],
)
def test_identity_fields_are_strings_or_none(value: Any, expected: str | None) -> None:
    request = split_fields({"deviceType": value, "sessionToken": value})

    assert (request.device_type, request.session_token) == (expected, expected)
