"""Normalisation of parameter values to the Python type of their declared parameter type.

Values arrive as strings from form and multipart bodies, and as strings, numbers or
booleans from JSON bodies (Xamarin sends every value as a string, Swift and Flutter send
numbers). Every declared type accepts all of these spellings; what cannot be converted
raises ``WireError(32)`` naming the parameter.
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from .codes import ResponseCode
from .errors import WireError

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
    converter = _CONVERTERS.get(declared_type)
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
    result = converter(value)
    if result is _INVALID:
        raise WireError(
            ResponseCode.INVALID_REQUEST,
            f"Parameter '{name}' must be {_describe(declared_type)}",
        )
    return result


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


class _Invalid:
    pass


_INVALID: Any = _Invalid()


def _to_text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return _INVALID
    elif isinstance(value, bool):
        # Same spelling that form-encoding JavaScript clients (RN, Cordova) send for booleans.
        return "true" if value else "false"
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, float):
        return repr(value) if math.isfinite(value) else _INVALID
    if not isinstance(value, str) or "\x00" in value:
        # PostgreSQL text cannot hold NUL; refusing it here keeps it from becoming a 128.
        return _INVALID
    return value


def _to_integer(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            return _INVALID
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if _INTEGER_RE.fullmatch(text) is None:
            return _INVALID
        result = int(text.partition(".")[0])
    else:
        return _INVALID
    return result if INTEGER_MIN <= result <= INTEGER_MAX else _INVALID


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:
            return _INVALID
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 400 or _FLOAT_RE.fullmatch(text) is None:
            return _INVALID
        result = float(text)
    else:
        return _INVALID
    return result if math.isfinite(result) else _INVALID


def _to_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value) if value in (0, 1) else _INVALID
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return _INVALID


def _to_datetime(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return _INVALID
        return _from_epoch(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))
    if not isinstance(value, str):
        return _INVALID
    text = value.strip()
    if _EPOCH_RE.fullmatch(text):
        # Decimal keeps the six fractional digits the ObjC SDK sends exact.
        return _from_epoch(Decimal(text))
    if len(text) > 40:
        return _INVALID
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _INVALID
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: Decimal) -> Any:
    try:
        microseconds = int((seconds * 1_000_000).to_integral_value())
        return _EPOCH + timedelta(microseconds=microseconds)
    except (OverflowError, InvalidOperation):
        return _INVALID


def _to_data(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if not isinstance(value, str):
        return _INVALID
    # TRICKY: base64 has no spaces, so a space is a "+" that a client forgot to
    # percent-encode and the form decoder turned into a space. Line breaks are dropped.
    text = value.translate(_BASE64_WHITESPACE).translate(_URLSAFE_TO_STANDARD)
    text += "=" * (-len(text) % 4)
    try:
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        return _INVALID


_CONVERTERS = {
    "string": _to_text,
    "text": _to_text,
    "integer": _to_integer,
    "float": _to_float,
    "boolean": _to_boolean,
    "datetime": _to_datetime,
    "data": _to_data,
}
