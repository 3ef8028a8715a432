"""Converting a value to a field type: the one place that knows how each type may be
spelled, for the three callers that convert values (each wording refusals its own way):

- client parameters (``coerce_param``, CLIENT): values arrive as strings from form and
  multipart bodies, and as strings, numbers or booleans from JSON bodies (Xamarin sends
  every value as a string, Swift and Flutter send numbers). Every declared type accepts
  all of these spellings; what cannot be converted raises ``WireError(32)`` naming the
  parameter;
- values bound into an API method's SQL (apimethods.actions.values, STORED): parameters
  already coerced and fields of rows read back, converted to the column's type;
- the console's tables, CSV and K.* writes (console.tables.values, TABLE).

The converters are pure and raise ``Unconvertible`` with a reason word.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .codes import ResponseCode
from .errors import WireError
from .values import datetime_text

#: The declared parameter types this module understands.
PARAM_TYPES = frozenset({"string", "text", "integer", "float", "boolean", "datetime", "data"})

#: Integers are stored as PostgreSQL bigint; larger values are refused here, not by the database.
INTEGER_MIN = -(2**63)
INTEGER_MAX = 2**63 - 1

_NULL_SPELLINGS = frozenset({"", "<null>"})
# JavaScript SDKs turn null and undefined into these strings (React Native's String(v),
# Cordova's encoder). They mean "no value" for every type but text, where they may be
# what the user typed and are kept as sent (docs/decisions.md).
_JS_NULL_SPELLINGS = frozenset({"null", "undefined"})
_TEXT_TYPES = frozenset({"string", "text"})
_INTEGER_RE = re.compile(r"[+-]?\d{1,19}(?:\.0*)?", re.ASCII)
_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_EPOCH_RE = re.compile(r"[+-]?(?:\d{1,15}(?:\.\d*)?|\.\d+)", re.ASCII)
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BASE64_WHITESPACE = str.maketrans({"\r": None, "\n": None, "\t": None, " ": "+"})
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")

_ARTICLES = {"integer": "an integer", "float": "a number", "boolean": "a boolean"}


def coerce_param(value: Any, declared_type: str, name: str = "value") -> Any:
    """Convert one raw parameter value to its declared type; ``None`` for empty/absent values.

    Results: ``string``/``text`` → ``str``; ``integer`` → ``int``; ``float`` → ``float``;
    ``boolean`` → ``bool``; ``datetime`` → aware UTC ``datetime``; ``data`` → ``bytes``.
    ``None``, ``""`` and the ObjC SDK's ``"<null>"`` all become ``None``.
    Raises ``ValueError`` for an unknown declared type (a server bug, not a client one).
    """
    converter = CONVERTERS.get(declared_type)
    if converter is None:
        raise ValueError(f"Unknown parameter type {declared_type!r}")
    if value is None or (isinstance(value, str) and value in _NULL_SPELLINGS):
        return None
    if isinstance(value, str) and declared_type not in _TEXT_TYPES and value.strip() in _JS_NULL_SPELLINGS:
        return None
    if isinstance(value, list | dict):
        shape = "a list" if isinstance(value, list) else "an object"
        raise WireError(
            ResponseCode.INVALID_REQUEST,
            f"Parameter '{name}' must be {_describe(declared_type)}, not {shape}",
        )
    try:
        return converter(value, CLIENT)
    except Unconvertible:
        raise WireError(
            ResponseCode.INVALID_REQUEST,
            f"Parameter '{name}' must be {_describe(declared_type)}",
        ) from None


def coerce_params(
    raw: dict[str, Any], declared: Iterable[tuple[str, str]], *, keep_undeclared: bool = False
) -> dict[str, Any]:
    """Coerce every declared parameter, in declaration order. A declared parameter the
    client did not send comes back as ``None``.

    keep_undeclared: parameters the method does not declare follow, as sent (strings, and
    lists/dicts from nested keys or JSON) — what KScript's K.params shows; otherwise they
    are dropped.
    """
    declared = list(declared)
    coerced = {name: coerce_param(raw.get(name), kind, name) for name, kind in declared}
    if keep_undeclared:
        for name, value in raw.items():
            if name not in coerced:
                coerced[name] = value
    return coerced


def _describe(declared_type: str) -> str:
    if declared_type == "datetime":
        return "a date and time (seconds since 1970 or YYYY-MM-DD HH:MM:SS)"
    if declared_type == "data":
        return "base64-encoded data"
    if declared_type in ("string", "text"):
        return "a string"
    return _ARTICLES[declared_type]


class Unconvertible(ValueError):
    """Why a value cannot become a field type, as a word each caller puts in its own
    protocol's message: "type" (not a spelling of that type), "boolean" (true/false where
    a number is due), "too_large" (`number` is the value), "finite", "range" (a moment no
    DateTime holds), "binary" (bytes that are not UTF-8 text), "nul" (a NUL character)."""

    def __init__(self, reason: str, number: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.number = number


@dataclass(frozen=True)
class Accepts:
    """What a caller takes beyond JSON's own spelling of each type. Three callers, three
    settings: the client protocol (CLIENT), values bound into an API method's SQL (STORED)
    and the console's tables and K.* writes (TABLE, the strictest)."""

    # true/false where a number is due (as 1/0); a number where a boolean is due may be 0.0/1.0.
    booleans: bool = True
    # bytes: raw Data, or UTF-8 text.
    binary: bool = True
    # What a row read back from PostgreSQL holds: datetimes (as epoch seconds or text) and numerics.
    stored: bool = False
    # The SDKs' spellings in text: integers up to 19 digits (ASCII) with an optional ".0",
    # numbers without "inf" or "_", epoch seconds exact to the microsecond, dates of at most
    # 40 characters, and base64 that form encoding or URL-safe alphabets mangled.
    client_text: bool = False
    # A DateTime also as ISO 8601 or `YYYY-MM-DD HH:MM:SS` text, not only epoch seconds.
    dates_as_text: bool = True


CLIENT = Accepts(client_text=True)
STORED = Accepts(stored=True)
TABLE = Accepts(booleans=False, binary=False, dates_as_text=False)


def to_text(value: Any, accepts: Accepts) -> str:
    """A value as text. A boolean is "true"/"false" from clients (as form-encoding JavaScript
    SDKs send it), "1"/"0" for a stored value (MySQL's spelling) and refused by tables."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        if not accepts.booleans:
            raise Unconvertible("type")
        if accepts.stored:
            return "1" if value else "0"
        return "true" if value else "false"
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, float):
        if accepts.client_text and not math.isfinite(value):
            raise Unconvertible("type")
        return str(int(value)) if accepts.stored and value.is_integer() else repr(value)
    elif accepts.binary and isinstance(value, bytes | bytearray | memoryview):
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise Unconvertible("binary") from None
    elif accepts.stored and isinstance(value, datetime):
        return datetime_text(value)
    elif accepts.stored and isinstance(value, Decimal):
        return str(value)
    else:
        raise Unconvertible("type")
    # PostgreSQL text cannot hold NUL; refusing it here keeps it from becoming a 128. A
    # stored value cannot hold one either.
    if not accepts.stored and "\x00" in text:
        raise Unconvertible("nul")
    return text


def to_integer(value: Any, accepts: Accepts) -> int:
    """A whole number within PostgreSQL's bigint."""
    if isinstance(value, bool):
        if not accepts.booleans:
            raise Unconvertible("boolean")
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise Unconvertible("type")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if accepts.client_text:
            if _INTEGER_RE.fullmatch(text) is None:
                raise Unconvertible("type")
            text = text.partition(".")[0]
        # Any Unicode decimal digits (what isdecimal() and int() both read), one sign at most.
        elif not (text[1:] if text[:1] in "+-" else text).isdecimal():
            raise Unconvertible("type")
        number = int(text)
    elif accepts.stored and isinstance(value, datetime):
        number = math.floor((value - _EPOCH).total_seconds())
    else:
        raise Unconvertible("type")
    if not INTEGER_MIN <= number <= INTEGER_MAX:
        raise Unconvertible("too_large", number)
    return number


def to_float(value: Any, accepts: Accepts) -> float:
    """A finite double."""
    if isinstance(value, bool):
        if not accepts.booleans:
            raise Unconvertible("boolean")
        return float(value)
    if isinstance(value, int | float) or (accepts.stored and isinstance(value, Decimal)):
        try:
            number = float(value)
        except OverflowError:
            raise Unconvertible("type") from None
    elif isinstance(value, str):
        text = value.strip()
        if accepts.client_text:
            if len(text) > 400 or _FLOAT_RE.fullmatch(text) is None:
                raise Unconvertible("type")
            number = float(text)
        else:
            try:
                number = float(text)
            except ValueError:
                raise Unconvertible("type") from None
    elif accepts.stored and isinstance(value, datetime):
        number = (value - _EPOCH).total_seconds()
    else:
        raise Unconvertible("type")
    if not math.isfinite(number):
        raise Unconvertible("finite")
    return number


def to_boolean(value: Any, accepts: Accepts) -> bool:
    """true/false, 1/0 (0.0/1.0 unless from tables) or the words 1/true/yes, 0/false/no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or (accepts.booleans and isinstance(value, float)):
        if value in (0, 1):
            return bool(value)
        raise Unconvertible("type")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise Unconvertible("type")


def to_datetime(value: Any, accepts: Accepts) -> datetime:
    """An aware UTC moment from signed epoch seconds (a number or its text) or an ISO 8601 /
    ``YYYY-MM-DD HH:MM:SS`` text (no offset: UTC)."""
    if isinstance(value, str):
        text = value.strip()
        if accepts.client_text:
            if _EPOCH_RE.fullmatch(text):
                # Decimal keeps the six fractional digits the ObjC SDK sends exact.
                return from_epoch(Decimal(text))
            if len(text) > 40:
                raise Unconvertible("type")
        else:
            try:
                return from_epoch(Decimal(repr(to_float(text, accepts))))
            except Unconvertible:
                if not accepts.dates_as_text:
                    raise
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Unconvertible("type") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, bool):
        raise Unconvertible("boolean")
    if isinstance(value, int) or (accepts.stored and isinstance(value, Decimal)):
        return from_epoch(Decimal(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unconvertible("finite")
        return from_epoch(Decimal(repr(value)))
    if accepts.stored and isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    raise Unconvertible("type")


def from_epoch(seconds: Decimal) -> datetime:
    """Epoch seconds as an aware UTC datetime, rounded to the microsecond."""
    try:
        return _EPOCH + timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))
    except (OverflowError, ArithmeticError, ValueError):
        raise Unconvertible("range") from None


def to_data(value: Any, accepts: Accepts) -> bytes:
    """Bytes from base64 text (standard alphabet, padded; from clients also URL-safe,
    unpadded, with line breaks, or with "+" turned into a space by form decoding)."""
    if accepts.binary and isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, str):
        raise Unconvertible("type")
    if not accepts.client_text:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise Unconvertible("type") from None
    # TRICKY: base64 has no spaces, so a space is a "+" that a client forgot to
    # percent-encode and the form decoder turned into a space. Line breaks are dropped.
    text = value.translate(_BASE64_WHITESPACE).translate(_URLSAFE_TO_STANDARD)
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise Unconvertible("type") from None


CONVERTERS: dict[str, Callable[[Any, Accepts], Any]] = {
    "string": to_text,
    "text": to_text,
    "integer": to_integer,
    "float": to_float,
    "boolean": to_boolean,
    "datetime": to_datetime,
    "data": to_data,
}
