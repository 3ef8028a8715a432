from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from apimethods.wire import WireError, coerce_param, coerce_params


@pytest.mark.parametrize(
    "declared", ["string", "text", "integer", "float", "boolean", "datetime", "data"]
)
@pytest.mark.parametrize("empty", [None, "", "<null>"])
def test_empty_values_become_none_for_every_type(declared: str, empty: Any) -> None:
    assert coerce_param(empty, declared) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice", "alice"),
        ("  padded  ", "  padded  "),
        ("Jürgen", "Jürgen"),
        (12, "12"),
        (3.5, "3.5"),
        (True, "true"),
        (False, "false"),
        (b"from a file", "from a file"),
    ],
)
@pytest.mark.parametrize("declared", ["string", "text"])
def test_text_values(declared: str, value: Any, expected: str) -> None:
    assert coerce_param(value, declared) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 12 ", 12),
        ("-7", -7),
        ("+7", 7),
        ("007", 7),
        ("12.0", 12),
        ("12.", 12),
        (12, 12),
        (12.0, 12),
        (True, 1),
        (False, 0),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_integer_values(value: Any, expected: int) -> None:
    result = coerce_param(value, "integer")

    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3.5", 3.5),
        (" -0.25 ", -0.25),
        (".5", 0.5),
        ("5.", 5.0),
        ("12", 12.0),
        ("1e3", 1000.0),
        ("1.5E-2", 0.015),
        (3.5, 3.5),
        (12, 12.0),
        (True, 1.0),
    ],
)
def test_float_values(value: Any, expected: float) -> None:
    result = coerce_param(value, "float")

    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("0", False),
        ("true", True),
        ("FALSE", False),
        ("True", True),
        ("yes", True),
        ("No", False),
        (" YES ", True),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (1.0, True),
    ],
)
def test_boolean_values(value: Any, expected: bool) -> None:
    assert coerce_param(value, "boolean") is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1462060800", datetime(2016, 5, 1, tzinfo=UTC)),
        (1462060800, datetime(2016, 5, 1, tzinfo=UTC)),
        ("1462060800.123456", datetime(2016, 5, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        (1462060800.5, datetime(2016, 5, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        ("-86400", datetime(1969, 12, 31, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2016-05-02 09:30:12", datetime(2016, 5, 2, 9, 30, 12, tzinfo=UTC)),
        (" 2016-05-02 09:30:12 ", datetime(2016, 5, 2, 9, 30, 12, tzinfo=UTC)),
        ("2016-05-02T09:30:12Z", datetime(2016, 5, 2, 9, 30, 12, tzinfo=UTC)),
        ("2016-05-02T11:30:12+02:00", datetime(2016, 5, 2, 9, 30, 12, tzinfo=UTC)),
        ("2016-05-02", datetime(2016, 5, 2, tzinfo=UTC)),
    ],
)
def test_datetime_values_are_aware_utc(value: Any, expected: datetime) -> None:
    result = coerce_param(value, "datetime")

    assert result == expected
    assert result.tzinfo is UTC


def test_datetime_with_offset_is_converted_to_utc() -> None:
    result = coerce_param("2016-05-02 11:30:12+02:00", "datetime")

    assert result == datetime(2016, 5, 2, 11, 30, 12, tzinfo=timezone(timedelta(hours=2)))
    assert (result.hour, result.tzinfo) == (9, UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aGVsbG8=", b"hello"),
        ("aGVsbG8", b"hello"),
        ("aGVs\r\nbG8=", b"hello"),
        ("+/+/", b"\xfb\xff\xbf"),
        ("-_-_", b"\xfb\xff\xbf"),
        # A "+" that an unencoded form body turned into a space.
        (" / /", b"\xfb\xff\xbf"),
        (b"\x00raw", b"\x00raw"),
        (bytearray(b"ab"), b"ab"),
    ],
)
def test_data_values(value: Any, expected: bytes) -> None:
    assert coerce_param(value, "data") == expected


@pytest.mark.parametrize(
    ("declared", "value", "message"),
    [
        ("integer", "abc", "Parameter 'x' must be an integer"),
        ("integer", "1.5", "Parameter 'x' must be an integer"),
        ("integer", "1e3", "Parameter 'x' must be an integer"),
        ("integer", "0x10", "Parameter 'x' must be an integer"),
        ("integer", "١٢", "Parameter 'x' must be an integer"),
        ("integer", 1.5, "Parameter 'x' must be an integer"),
        ("integer", "9223372036854775808", "Parameter 'x' must be an integer"),
        ("integer", "9" * 5000, "Parameter 'x' must be an integer"),
        ("integer", [1], "Parameter 'x' must be an integer, not a list"),
        ("string", ["a", "b"], "Parameter 'x' must be a string, not a list"),
        ("boolean", {"0": "a"}, "Parameter 'x' must be a boolean, not an object"),
        ("float", "abc", "Parameter 'x' must be a number"),
        ("float", "nan", "Parameter 'x' must be a number"),
        ("float", "inf", "Parameter 'x' must be a number"),
        ("float", "1e999", "Parameter 'x' must be a number"),
        ("float", "3,5", "Parameter 'x' must be a number"),
        ("float", 10**400, "Parameter 'x' must be a number"),
        ("float", {"a": 1}, "Parameter 'x' must be a number, not an object"),
        ("boolean", "maybe", "Parameter 'x' must be a boolean"),
        ("boolean", 2, "Parameter 'x' must be a boolean"),
        ("boolean", "on", "Parameter 'x' must be a boolean"),
        (
            "datetime",
            "yesterday",
            "Parameter 'x' must be a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "datetime",
            "2016-13-01 00:00:00",
            "Parameter 'x' must be a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "datetime",
            "999999999999999",
            "Parameter 'x' must be a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "datetime",
            float("inf"),
            "Parameter 'x' must be a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)",
        ),
        (
            "datetime",
            True,
            "Parameter 'x' must be a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)",
        ),
        ("data", "not base64!", "Parameter 'x' must be base64-encoded data"),
        ("data", "abcde", "Parameter 'x' must be base64-encoded data"),
        ("data", "<hex 0102>", "Parameter 'x' must be base64-encoded data"),
        ("data", 12, "Parameter 'x' must be base64-encoded data"),
        ("text", "nul\x00byte", "Parameter 'x' must be a string"),
        ("text", {"a": 1}, "Parameter 'x' must be a string, not an object"),
        ("string", b"\xff", "Parameter 'x' must be a string"),
        ("string", float("nan"), "Parameter 'x' must be a string"),
    ],
)
def test_values_that_do_not_convert_are_invalid_requests(
    declared: str, value: Any, message: str
) -> None:
    with pytest.raises(WireError) as caught:
        coerce_param(value, declared, "x")

    assert (caught.value.code, caught.value.message) == (32, message)


def test_unknown_declared_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown parameter type 'money'"):
        coerce_param("1", "money")


def test_coerce_params_converts_declared_params_in_order_and_drops_the_rest() -> None:
    raw = {"since": "1462060800", "userID": "12", "admin": "yes", "undeclared": "x"}

    result = coerce_params(
        raw, [("userID", "integer"), ("since", "datetime"), ("admin", "boolean"), ("note", "text")]
    )

    assert result == {
        "userID": 12,
        "since": datetime(2016, 5, 1, tzinfo=UTC),
        "admin": True,
        "note": None,
    }
    assert list(result) == ["userID", "since", "admin", "note"]


def test_coerce_params_names_the_failing_parameter() -> None:
    with pytest.raises(WireError) as caught:
        coerce_params({"age": "old"}, [("age", "integer")])

    assert caught.value.message == "Parameter 'age' must be an integer"


def test_coerce_params_can_keep_undeclared_params_as_sent() -> None:
    raw = {"userID": "12", "tags": ["a", "b"], "filter": {"city": "Leeds"}, "note": "hi"}

    result = coerce_params(raw, [("userID", "integer")], keep_undeclared=True)

    assert result == {"userID": 12, "tags": ["a", "b"], "filter": {"city": "Leeds"}, "note": "hi"}
    assert list(result)[0] == "userID"


@pytest.mark.parametrize("spelling", ["null", "undefined", " null "])
@pytest.mark.parametrize("declared", ["integer", "float", "boolean", "datetime", "data"])
def test_javascript_null_spellings_are_empty_for_non_text_types(spelling: str, declared: str) -> None:
    assert coerce_param(spelling, declared) is None


@pytest.mark.parametrize("declared", ["string", "text"])
def test_javascript_null_spellings_stay_text_for_text_types(declared: str) -> None:
    assert (coerce_param("null", declared), coerce_param("undefined", declared)) == ("null", "undefined")
