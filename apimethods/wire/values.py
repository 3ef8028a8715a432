"""How single values are spelled in responses; shared by the JSON and plist renderers.

JSON record columns use MySQL-style strings (what the Android-era clients parse); plist
uses native types. The helpers here are the pieces both need.
"""

from __future__ import annotations

import binascii
import math
from datetime import UTC, date, datetime
from decimal import Decimal


def date_as_datetime(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def datetime_text(value: date) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as MySQL prints a DATETIME; fractions are dropped."""
    if type(value) is not datetime:
        value = date_as_datetime(value)
    assert isinstance(value, datetime)
    zone = value.tzinfo
    if zone is None:
        # isoformat pads the year to four digits, so the first 19 characters are the
        # seconds-precision text whether or not a fraction follows.
        return value.isoformat(" ")[:19]
    if zone is not UTC and value.utcoffset():
        value = value.astimezone(UTC)
    # For aware values this is faster than isoformat, which would also format the offset.
    return "%04d-%02d-%02d %02d:%02d:%02d" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def base64_text(value: bytes | bytearray | memoryview) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def float_text(value: float) -> str:
    """The number as JavaScript's ``String(x)`` spells it: shortest digits, no ``.0``, and an
    exponent only below 1e-7 or from 1e21 up. JSON clients are mostly JavaScript or parse
    with ``Double.parseDouble``, and both read this spelling.
    """
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    magnitude = abs(value)
    if value.is_integer() and magnitude < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    if 1e-7 <= magnitude < 1e21:
        return format(Decimal(text), "f")
    mantissa, _, exponent = text.partition("e")
    power = int(exponent)
    return f"{mantissa}e{'+' if power >= 0 else '-'}{abs(power)}"


def decimal_text(value: Decimal) -> str:
    """Positional digits with the column's scale (``12.50``); NaN and infinities as JavaScript
    spells them, which ``str`` already does."""
    text = str(value)
    if "E" in text and value.is_finite():
        return format(value, "f")
    return text


def decimal_number(value: Decimal) -> int | float:
    """A Decimal scalar (PostgreSQL returns SUM and AVG as numeric) as a plain number."""
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return float(value)
