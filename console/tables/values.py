"""Field values between the wire (JSON, CSV) and PostgreSQL, per field type.

On the wire: numbers, booleans and null as JSON; DateTime as signed seconds from the
epoch; Data as base64; Belongs To as the parent's ID. `to_db` raises `BadValue` with a
message fit to show beside the field.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


class BadValue(ValueError):
    pass


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise BadValue("Expected a whole number, not true/false.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    else:
        raise BadValue(f"Expected a whole number, not {value!r}.")
    if not INT_MIN <= number <= INT_MAX:
        raise BadValue(f"{number} is too large for an Integer field.")
    return number


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise BadValue("Expected a number, not true/false.")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise BadValue(f"Expected a number, not {value!r}.") from None
    else:
        raise BadValue(f"Expected a number, not {value!r}.")
    if not math.isfinite(number):
        raise BadValue("Expected a finite number.")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.strip().lower() in {"true", "1", "yes"}
    raise BadValue(f"Expected true or false, not {value!r}.")


def _datetime(value: Any) -> datetime:
    seconds = _float(value) if not isinstance(value, int) or isinstance(value, bool) else value
    try:
        return EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise BadValue(f"{value!r} seconds is outside the dates a DateTime field holds.") from None


def _data(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadValue("Expected base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("Expected base64 text.") from None


def _text(value: Any, limit: int | None) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadValue(f"Expected text, not {value!r}.")
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise BadValue("Text cannot contain a NUL character.")
    if limit is not None and len(text) > limit:
        raise BadValue(f"Keep it to {limit} characters or fewer (this is {len(text)}); use a Text field for more.")
    return text


def to_db(field_type: str, value: Any) -> Any:
    """A wire value as the Python value psycopg binds for the column; None stays None."""
    if value is None:
        return None
    if field_type == "string":
        return _text(value, 255)
    if field_type == "text":
        return _text(value, None)
    if field_type in {"integer", "belongs_to"}:
        return _integer(value)
    if field_type == "float":
        return _float(value)
    if field_type == "boolean":
        return _boolean(value)
    if field_type == "datetime":
        return _datetime(value)
    if field_type == "data":
        return _data(value)
    raise BadValue(f"Unknown field type {field_type!r}.")


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
            return _datetime(cell), DATETIME_EPOCH
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
