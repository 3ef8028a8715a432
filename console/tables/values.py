"""Field values between the wire (JSON, CSV) and PostgreSQL, per field type.

On the wire: numbers, booleans and null as JSON; DateTime as signed seconds from the
epoch; Data as base64; Belongs To as the parent's ID. `to_db` raises `BadValue` with a
message fit to show beside the field.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from apimethods.wire.coerce import CONVERTERS, TABLE, Unconvertible

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STRING_LIMIT = 255


class BadValue(ValueError):
    pass


def _refusal(exc: Unconvertible, field_type: str, value: Any) -> str:
    """Kiln's words for a value that does not convert, fit to show beside the field."""
    reason = exc.reason
    if field_type in ("string", "text"):
        return "Text cannot contain a NUL character." if reason == "nul" else f"Expected text, not {value!r}."
    if field_type == "integer":
        if reason == "too_large":
            return f"{exc.number} is too large for an Integer field."
        return (
            "Expected a whole number, not true/false."
            if reason == "boolean"
            else f"Expected a whole number, not {value!r}."
        )
    if field_type == "boolean":
        return f"Expected true or false, not {value!r}."
    if field_type == "data":
        return "Expected base64 text."
    # float, and datetime (epoch seconds: a number)
    if reason == "range":
        return f"{value!r} seconds is outside the dates a DateTime field holds."
    if reason == "finite":
        return "Expected a finite number."
    return "Expected a number, not true/false." if reason == "boolean" else f"Expected a number, not {value!r}."


def _converted(field_type: str, value: Any) -> Any:
    try:
        return CONVERTERS[field_type](value, TABLE)
    except Unconvertible as exc:
        raise BadValue(_refusal(exc, field_type, value)) from None


def to_db(field_type: str, value: Any) -> Any:
    """A wire value as the Python value psycopg binds for the column; None stays None."""
    if value is None:
        return None
    if field_type == "belongs_to":
        field_type = "integer"
    if field_type not in CONVERTERS:
        raise BadValue(f"Unknown field type {field_type!r}.")
    converted = _converted(field_type, value)
    if field_type == "string" and len(converted) > STRING_LIMIT:
        raise BadValue(
            f"Keep it to {STRING_LIMIT} characters or fewer (this is {len(converted)}); use a Text field for more."
        )
    return converted


def epoch_seconds(moment: datetime) -> int:
    return math.floor((moment - EPOCH).total_seconds())


def to_wire(value: Any) -> Any:
    """A value read from PostgreSQL as JSON: datetimes as epoch seconds, bytes as base64,
    numerics (SUM, AVG... in K.query) as numbers."""
    if isinstance(value, datetime):
        return epoch_seconds(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None  # JSON has no NaN or infinity
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# What a CSV DateTime cell may be, and the name the import preview gives each form.
DATETIME_EPOCH = "epoch seconds"
DATETIME_PLAIN = "YYYY-MM-DD HH:MM:SS (UTC)"
DATETIME_ISO = "ISO 8601"
_PLAIN_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.I)


def datetime_from_text(text: str) -> tuple[datetime, str]:
    """A DateTime cell as (moment, the form it was read in): epoch seconds, `YYYY-MM-DD
    HH:MM:SS` (a date alone is midnight) or ISO 8601; a time without an offset is UTC."""
    cell = text.strip()
    if _PLAIN_DATETIME.fullmatch(cell):
        form = DATETIME_PLAIN
    elif _ISO_DATETIME.fullmatch(cell):
        form = DATETIME_ISO
    else:
        try:
            return _converted("datetime", cell), DATETIME_EPOCH
        except BadValue:
            raise BadValue(
                f"Expected a date and time (epoch seconds, YYYY-MM-DD HH:MM:SS or ISO 8601), not {text!r}."
            ) from None
    try:
        moment = datetime.fromisoformat(cell.upper() if form == DATETIME_ISO else cell)
    except ValueError:
        raise BadValue(f"{text!r} is not a real date and time.") from None
    # TRICKY: no offset means UTC, the zone Kiln shows every DateTime in, never the server's.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), form


def from_csv(field_type: str, text: str) -> Any:
    """A CSV cell (always text) as a wire value: an empty cell is null except for text fields."""
    if text == "" and field_type not in {"string", "text"}:
        return None
    return text
