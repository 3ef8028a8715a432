"""Values on their way into an API method's SQL: a parameter (already coerced to its declared
type by apimethods.wire.coerce_params) or a field of an enclosing row, converted to the type
of the column it is compared with or stored in. Pure.

A value that cannot become that type raises `Unconvertible` with a reason; the executor
names the parameter (code 32) or the field (code 64) it came from.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apimethods.wire.values import datetime_text

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
STRING_LIMIT = 255
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})


class Unconvertible(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise Unconvertible("is binary data, not text") from None
    if isinstance(value, Decimal):
        return str(value)
    raise Unconvertible("is not text")


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise Unconvertible("must be a whole number")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.lstrip("+-").isdigit():
            raise Unconvertible("must be a whole number")
        number = int(text)
    elif isinstance(value, datetime):
        number = math.floor((value - EPOCH).total_seconds())
    else:
        raise Unconvertible("must be a whole number")
    if not INT_MIN <= number <= INT_MAX:
        raise Unconvertible("is too large for an Integer field")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool | int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise Unconvertible("must be a number") from None
    elif isinstance(value, datetime):
        number = (value - EPOCH).total_seconds()
    else:
        raise Unconvertible("must be a number")
    if not math.isfinite(number):
        raise Unconvertible("must be a finite number")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise Unconvertible("must be true or false")


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return _datetime(float(text))
        except (Unconvertible, ValueError):
            pass
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Unconvertible("must be a date and time (seconds since 1970)") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise Unconvertible("must be a date and time (seconds since 1970)")
    try:
        # Decimal keeps fractional seconds exact; timedelta rounds to microseconds.
        return EPOCH + timedelta(microseconds=int(Decimal(repr(value) if isinstance(value, float) else value) * 10**6))
    except (OverflowError, ArithmeticError):
        raise Unconvertible("is outside the dates a DateTime field holds") from None


def _data(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise Unconvertible("must be base64-encoded data") from None
    raise Unconvertible("must be base64-encoded data")


def convert(value: Any, field_type: str) -> Any:
    """`value` as the Python value psycopg binds for a column of `field_type`; None stays None."""
    if value is None:
        return None
    if field_type == "string":
        text = _text(value)
        if len(text) > STRING_LIMIT:
            raise Unconvertible(f"is longer than {STRING_LIMIT} characters")
        return text
    if field_type == "text":
        return _text(value)
    if field_type in ("integer", "belongs_to"):
        return _integer(value)
    if field_type == "float":
        return _float(value)
    if field_type == "boolean":
        return _boolean(value)
    if field_type == "datetime":
        return _datetime(value)
    if field_type == "data":
        return _data(value)
    return value


def like_pattern(value: Any, op: str) -> str | None:
    """The ILIKE pattern of a contains / starts_with / ends_with filter; `%`, `_` and `\\` in
    the value match themselves."""
    if value is None:
        return None
    text = _text(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if op == "contains":
        return f"%{text}%"
    if op == "starts_with":
        return f"{text}%"
    return f"%{text}"


def row_count(value: Any) -> int | None:
    """A limit or offset: a whole number from 0 up, or None (no limit, no offset)."""
    if value is None:
        return None
    number = _integer(value)
    if number < 0:
        raise Unconvertible("must not be negative")
    return number
