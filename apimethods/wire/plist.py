"""A small, fast writer of Apple XML property lists for response envelopes.

``plistlib`` cannot be used as is: it refuses ``None``, sorts keys by default, rejects
control characters instead of replacing them, and walks values twice. This writer emits
one compact document in a single pass. Two value modes exist:

* record mode (database rows): booleans become ``<integer>`` 0/1, ``Decimal`` becomes
  ``<real>``, lists are related records;
* free mode (script results): booleans become ``<true/>``/``<false/>``, integral
  ``Decimal`` becomes ``<integer>``.

In both, a ``None`` inside a dict omits the key and a ``None`` inside an array becomes an
empty string, because a plist has no null.

Apple's parser (``NSPropertyListSerialization``) rejects the whole document over one
character XML 1.0 cannot carry, so no string or key ever reaches the output with one: each
such character (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE, U+FFFF and lone
surrogates) becomes U+FFFD; a surrogate pair held as two code points is joined into its
character first. Two keys of one dict that become equal that way are written once (the
first), since a dict cannot hold a key twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from .values import base64_text, date_as_datetime, decimal_number

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
    '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    '<plist version="1.0">'
)
FOOTER = "</plist>\n"

# Characters XML 1.0 cannot carry at all, not even as &#n; references (its Char production
# leaves them out); they are replaced by U+FFFD.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_ESCAPE = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1

Writer = Callable[[list[str], Any], None]


def xml_chars(text: str) -> str:
    """`text` with every character XML 1.0 cannot carry replaced by U+FFFD (one each)."""
    if _SURROGATE.search(text) is not None:
        # TRICKY: a UTF-16 round trip joins a high + low surrogate pair into the character it
        # encodes ('surrogatepass' writes the code units as they are), and 'replace' turns each
        # lone surrogate into one U+FFFD on the way back.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _ILLEGAL_XML.sub("\ufffd", text)


def escape(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    text = xml_chars(text)
    # A raw CR would be normalised to LF by the XML parser; the reference keeps it.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def write_string(out: list[str], value: str) -> None:
    out.append(f"<string>{escape(value)}</string>" if value else "<string/>")


def write_integer(out: list[str], value: int) -> None:
    value = int(value)
    if _INT64_MIN <= value <= _UINT64_MAX:
        out.append(f"<integer>{value}</integer>")
    else:
        write_real(out, float(value))


def write_real(out: list[str], value: float) -> None:
    value = float(value)
    if math.isfinite(value):
        out.append(f"<real>{value!r}</real>")
    elif math.isnan(value):
        out.append("<real>nan</real>")
    else:
        out.append("<real>+infinity</real>" if value > 0 else "<real>-infinity</real>")


def write_date(out: list[str], value: date) -> None:
    moment = date_as_datetime(value)
    if moment.tzinfo is not None and moment.tzinfo is not UTC and moment.utcoffset():
        moment = moment.astimezone(UTC)
    out.append(
        "<date>%04d-%02d-%02dT%02d:%02d:%02dZ</date>"  # noqa: UP031
        % (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    )


def write_data(out: list[str], value: bytes | bytearray | memoryview) -> None:
    out.append(f"<data>{base64_text(value)}</data>")


def write_dict(out: list[str], mapping: dict[Any, Any], write_value: Writer) -> None:
    out.append("<dict>")
    written: set[str] | None = None  # the keys written so far, once a key has lost characters
    for key, value in mapping.items():
        if value is None:
            continue
        name = str(key)
        text = escape(name)
        # escape() hands back its argument when nothing needed escaping: the usual case.
        if written is None and text is not name and _ILLEGAL_XML.search(name) is not None:
            written = _written_keys(mapping, key)
        if written is not None:
            if text in written:
                continue
            written.add(text)
        out.append(f"<key>{text}</key>")
        write_value(out, value)
    out.append("</dict>")


def _written_keys(mapping: dict[Any, Any], upto: Any) -> set[str]:
    """The escaped keys `write_dict` has written before reaching `upto` (the slow path,
    taken only by a dict whose keys hold characters XML cannot carry)."""
    written: set[str] = set()
    for key, value in mapping.items():
        if key is upto or key == upto:
            break
        if value is not None:
            written.add(escape(str(key)))
    return written


def write_array(out: list[str], items: list[Any] | tuple[Any, ...], write_value: Writer) -> None:
    out.append("<array>")
    for item in items:
        if item is None:
            out.append("<string/>")
        else:
            write_value(out, item)
    out.append("</array>")


def write_record_value(out: list[str], value: Any) -> None:
    """One column value of a database record (or a list of related records)."""
    kind = type(value)
    if kind is str:
        write_string(out, value)
    elif kind is int:
        out.append(f"<integer>{value}</integer>")
    elif kind is bool:
        out.append("<integer>1</integer>" if value else "<integer>0</integer>")
    elif isinstance(value, float | Decimal):
        write_real(out, float(value))
    elif isinstance(value, int):
        write_integer(out, value)
    elif isinstance(value, date):
        write_date(out, value)
    elif isinstance(value, bytes | bytearray | memoryview):
        write_data(out, value)
    elif isinstance(value, dict):
        write_dict(out, value, write_record_value)
    elif isinstance(value, list | tuple):
        write_array(out, value, write_record_value)
    else:
        write_string(out, str(value))


def write_free_value(out: list[str], value: Any) -> None:
    """One value of a free-form (script) payload, mapped to the natural plist type."""
    if isinstance(value, str):
        write_string(out, value)
    elif isinstance(value, bool):
        out.append("<true/>" if value else "<false/>")
    elif isinstance(value, int):
        write_integer(out, value)
    elif isinstance(value, float):
        write_real(out, value)
    elif isinstance(value, Decimal):
        number = decimal_number(value)
        if isinstance(number, int):
            write_integer(out, number)
        else:
            write_real(out, number)
    elif isinstance(value, dict):
        write_dict(out, value, write_free_value)
    elif isinstance(value, list | tuple):
        write_array(out, value, write_free_value)
    elif isinstance(value, date):
        write_date(out, value)
    elif isinstance(value, bytes | bytearray | memoryview):
        write_data(out, value)
    else:
        write_string(out, str(value))
