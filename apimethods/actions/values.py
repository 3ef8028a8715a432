"""Values on their way into an API method's SQL: a parameter (already coerced to its declared
type by apimethods.wire.coerce_params) or a field of an enclosing row, converted to the type
of the column it is compared with or stored in. Pure.

A value that cannot become that type raises `Unconvertible` with a reason; the executor
names the parameter (code 32) or the field (code 64) it came from.
"""

from __future__ import annotations

from typing import Any

from apimethods.wire.coerce import CONVERTERS, STORED
from apimethods.wire.coerce import Unconvertible as _Refused
from console.tables.dml import like_escaped

STRING_LIMIT = 255

# The executor's words for each refusal, after the parameter or field it names.
_TYPE_MESSAGES = {
    "string": "is not text",
    "text": "is not text",
    "integer": "must be a whole number",
    "float": "must be a number",
    "boolean": "must be true or false",
    "datetime": "must be a date and time (seconds since 1970)",
    "data": "must be base64-encoded data",
}
_MESSAGES = {
    "too_large": "is too large for an Integer field",
    "finite": "must be a finite number",
    "binary": "is binary data, not text",
}
_DATETIME_RANGE = "is outside the dates a DateTime field holds"


class Unconvertible(ValueError):
    pass


def _message(exc: _Refused, field_type: str) -> str:
    if field_type == "datetime" and exc.reason in ("range", "finite"):
        return _DATETIME_RANGE
    return _MESSAGES.get(exc.reason) or _TYPE_MESSAGES[field_type]


def convert(value: Any, field_type: str) -> Any:
    """`value` as the Python value psycopg binds for a column of `field_type`; None stays None."""
    if value is None:
        return None
    kind = "integer" if field_type == "belongs_to" else field_type
    converter = CONVERTERS.get(kind)
    if converter is None:
        return value
    try:
        converted = converter(value, STORED)
    except _Refused as exc:
        raise Unconvertible(_message(exc, kind)) from None
    if kind == "string" and len(converted) > STRING_LIMIT:
        raise Unconvertible(f"is longer than {STRING_LIMIT} characters")
    return converted


def like_pattern(value: Any, op: str) -> str | None:
    """The ILIKE pattern of a contains / starts_with / ends_with filter; `%`, `_` and `\\` in
    the value match themselves."""
    if value is None:
        return None
    text = like_escaped(convert(value, "text"))
    if op == "contains":
        return f"%{text}%"
    if op == "starts_with":
        return f"{text}%"
    return f"%{text}"


def row_count(value: Any) -> int | None:
    """A limit or offset: a whole number from 0 up, or None (no limit, no offset)."""
    if value is None:
        return None
    number = convert(value, "integer")
    if number < 0:
        raise Unconvertible("must not be negative")
    return number
