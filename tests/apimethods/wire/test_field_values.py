"""One converter per field type (apimethods.wire.coerce) serves three callers, each with
its own leniency and words: client parameters, values bound into an API method's SQL
(apimethods.actions.values) and the console's tables (console.tables.values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from apimethods.actions import values as stored
from apimethods.wire import WireError, coerce_param
from console.tables import values as tables


def client(value: Any, field_type: str) -> Any:
    return coerce_param(value, field_type, "p")


def client_refusal(value: Any, field_type: str) -> str:
    with pytest.raises(WireError) as caught:
        coerce_param(value, field_type, "p")
    return caught.value.message


def table_refusal(value: Any, field_type: str) -> str:
    with pytest.raises(tables.BadValue) as caught:
        tables.to_db(field_type, value)
    return str(caught.value)


def stored_refusal(value: Any, field_type: str) -> str:
    with pytest.raises(stored.Unconvertible) as caught:
        stored.convert(value, field_type)
    return str(caught.value)


def test_an_integer_written_with_a_zero_fraction_is_a_client_spelling_only() -> None:
    assert client("5.0", "integer") == 5
    assert table_refusal("5.0", "integer") == "Expected a whole number, not '5.0'."
    assert stored_refusal("5.0", "integer") == "must be a whole number"


def test_true_is_one_where_a_number_is_due_except_in_tables() -> None:
    assert client(True, "integer") == 1 and stored.convert(True, "float") == 1.0
    assert table_refusal(True, "integer") == "Expected a whole number, not true/false."
    assert table_refusal(True, "float") == "Expected a number, not true/false."
    assert table_refusal(True, "datetime") == "Expected a number, not true/false."


@pytest.mark.parametrize("text", ["+-5", "--5", "²"])
def test_text_that_only_looks_like_digits_is_refused_in_each_callers_words(text: str) -> None:
    assert table_refusal(text, "integer") == f"Expected a whole number, not {text!r}."
    assert stored_refusal(text, "belongs_to") == "must be a whole number"
    assert client_refusal(text, "integer") == "Parameter 'p' must be an integer"


def test_an_integer_too_large_for_a_float_is_refused_not_a_crash() -> None:
    assert stored_refusal(10**400, "float") == "must be a number"
    assert table_refusal(10**400, "float").startswith("Expected a number, not 1000")
    assert client_refusal(10**400, "datetime").startswith("Parameter 'p' must be a date and time")


def test_out_of_range_integers_name_the_number_in_tables() -> None:
    assert table_refusal(2.0**63, "integer") == "9223372036854775808 is too large for an Integer field."
    assert stored_refusal("9223372036854775808", "integer") == "is too large for an Integer field"


def test_a_boolean_is_spelled_as_text_by_caller() -> None:
    assert client(True, "string") == "true"
    assert stored.convert(True, "string") == "1"
    assert table_refusal(True, "string") == "Expected text, not True."
    assert stored.convert(2.0, "text") == "2" and tables.to_db("text", 2.0) == "2.0"


def test_nul_is_refused_in_text_from_clients_and_tables() -> None:
    assert client_refusal("a\x00b", "text") == "Parameter 'p' must be a string"
    assert table_refusal("a\x00b", "text") == "Text cannot contain a NUL character."


def test_a_string_field_keeps_its_limit_in_each_callers_words() -> None:
    assert tables.to_db("string", "x" * 255) == "x" * 255
    assert table_refusal("x" * 256, "string").startswith("Keep it to 255 characters or fewer (this is 256)")
    assert stored_refusal("x" * 256, "string") == "is longer than 255 characters"


def test_datetimes_as_text_are_not_for_tables() -> None:
    moment = datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert client("2024-01-02T03:04:05+02:00", "datetime") == moment
    assert stored.convert("2024-01-02T03:04:05+02:00", "datetime") == moment
    assert (
        table_refusal("2024-01-02T03:04:05+02:00", "datetime") == "Expected a number, not '2024-01-02T03:04:05+02:00'."
    )


def test_epoch_seconds_keep_the_microseconds_written() -> None:
    # Past 2242 a double cannot hold every microsecond; the written digits decide.
    assert tables.to_db("datetime", "27086422258.94336").microsecond == 943360
    assert stored.convert("0.0000015", "datetime") == datetime(1970, 1, 1, microsecond=2, tzinfo=UTC)
    assert client("1700000000.123456", "datetime").microsecond == 123456


def test_an_unreachable_moment_is_refused_by_caller() -> None:
    assert table_refusal(1e20, "datetime") == "1e+20 seconds is outside the dates a DateTime field holds."
    assert stored_refusal(float("nan"), "datetime") == "is outside the dates a DateTime field holds"
    assert stored_refusal("1e20", "datetime") == "must be a date and time (seconds since 1970)"


def test_stored_values_convert_from_what_postgresql_returns() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert stored.convert(moment, "integer") == 1704157445
    assert stored.convert(moment, "string") == "2024-01-02 01:04:05"
    assert table_refusal(moment, "integer").startswith("Expected a whole number, not datetime.datetime(")


def test_a_boolean_from_a_fraction_is_not_for_tables() -> None:
    assert client(1.0, "boolean") is True and stored.convert(0.0, "boolean") is False
    assert table_refusal(1.0, "boolean") == "Expected true or false, not 1.0."
    assert tables.to_db("boolean", " Yes ") is True


def test_base64_repairs_are_for_clients_only() -> None:
    # A "+" that form decoding turned into a space; the URL-safe alphabet; no padding.
    assert client("Pj4 ", "data") == b">>>" and client("aGVsbG8_", "data") == b"hello?"
    assert tables.to_db("data", "Pj4+") == b">>>"
    assert table_refusal("Pj4 ", "data") == "Expected base64 text."
    assert stored_refusal("aGVsbG8_", "data") == "must be base64-encoded data"
    assert stored_refusal(b"\xff", "text") == "is binary data, not text"
