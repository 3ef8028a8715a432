"""The response envelope every client call gets back, rendered as JSON or as an XML plist.

Every Kumulos-level outcome, errors included, is an envelope sent with HTTP 200; the
format is chosen by the URL suffix only. Keys go out in the order of the spec (§4.2).

Payload kinds and how they are typed:

* ``RecordList`` (database records): in JSON every column value is a string in MySQL
  style (``"12"``, ``"3.5"``, ``"1"``/``"0"``, ``"2016-05-01 00:00:00"`` UTC, base64 for
  binary) and NULL is ``null``; in a plist the values are native (``<integer>``,
  ``<real>``, ``<date>``, ``<data>``, booleans as ``<integer>`` 0/1) and NULL keys are
  left out. A list inside a record holds related records and is typed the same way.
* a scalar number (create, update, delete, aggregate, a KScript number): a JSON number /
  ``<integer>`` or ``<real>``; an integral ``Decimal`` counts as an integer.
* anything else (a KScript's free-form result): JSON types are kept as they are; in a
  plist, booleans are ``<true/>``/``<false/>`` (a free-form value has no column type to
  imitate), NULL keys are left out and NULL array items become empty strings.

On an error (response code other than 1) the payload is never sent: JSON ``null``,
omitted in a plist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from . import plist
from .codes import STANDARD_MESSAGES, ResponseCode, check_code
from .values import base64_text, datetime_text, decimal_number, decimal_text, float_text

JSON_CONTENT_TYPE = "application/json"
# The AFNetworking-era ObjC SDK rejected plists served under any other type.
PLIST_CONTENT_TYPE = "application/xml"

Format = Literal["json", "plist"]
FORMATS: frozenset[str] = frozenset({"json", "plist"})


class RecordList(list[dict[str, Any]]):
    """A payload of database records; the renderer gives their values record typing."""

    __slots__ = ()


class RawJSON(str):
    """A payload that is already JSON text (a script's response): the JSON renderer puts
    it in as it is, the plist renderer parses it first."""

    __slots__ = ()


@dataclass(slots=True, kw_only=True)
class Envelope:
    response_code: int
    session_token: str
    #: Server time of the response, whole Unix seconds.
    timestamp: int
    #: When the request arrived, Unix seconds with a fraction.
    request_received_time: float
    #: The time limit of one call, in seconds; sent under both names clients have used.
    max_allowed_request_time: float
    max_processing_time: float
    #: Seconds spent on the request.
    request_processing_time: float
    payload: Any = None
    #: ``None`` sends the standard text of ``response_code``.
    response_message: str | None = None
    requested_method: str | None = None
    requested_format: str | None = None

    def __post_init__(self) -> None:
        self.response_code = check_code(self.response_code)

    @property
    def message(self) -> str:
        if self.response_message is not None:
            return self.response_message
        return STANDARD_MESSAGES[self.response_code]


#: The message of the code-64 envelope sent instead of a payload too deep to render.
TOO_DEEP_MESSAGE = "Unknown server error: the response is nested too deeply to send"


def render(envelope: Envelope, fmt: Format | str) -> tuple[bytes, str]:
    """Serialise ``envelope`` as ``json`` or ``plist``; returns ``(body, content_type)``.

    An unknown format is a ``ValueError``: the caller answers code 8 in JSON itself.
    A payload nested deeper than Python can walk (a script may answer 5,000 nested
    arrays) becomes a code-64 envelope in the requested format, never an exception.
    """
    try:
        return _render(envelope, fmt)
    except RecursionError:
        # TRICKY: parsing and writing recurse once per level; instead of a depth count in
        # the hot path, the interpreter's own recursion limit is the bound. The stack is
        # unwound by now, and the error envelope carries no payload to recurse into.
        envelope.response_code = ResponseCode.UNKNOWN_SERVER_ERROR
        envelope.response_message = TOO_DEEP_MESSAGE
        envelope.payload = None
        return _render(envelope, fmt)


def _render(envelope: Envelope, fmt: Format | str) -> tuple[bytes, str]:
    if fmt == "json":
        return _render_json(envelope), JSON_CONTENT_TYPE
    if isinstance(envelope.payload, RawJSON):
        envelope.payload = json.loads(envelope.payload)
    if fmt == "plist":
        return _render_plist(envelope), PLIST_CONTENT_TYPE
    raise ValueError(f"Unknown response format {fmt!r}")


def _fields(envelope: Envelope) -> list[tuple[str, Any]]:
    code = check_code(envelope.response_code)
    return [
        ("responseCode", code),
        ("responseMessage", envelope.message),
        ("payload", envelope.payload if code == ResponseCode.SUCCESS else None),
        ("sessionToken", envelope.session_token),
        ("requestedMethod", envelope.requested_method),
        ("requestedFormat", envelope.requested_format),
        ("timestamp", int(envelope.timestamp)),
        ("requestReceivedTime", float(envelope.request_received_time)),
        ("maxAllowedRequestTime", envelope.max_allowed_request_time),
        ("maxProcessingTime", envelope.max_processing_time),
        ("requestProcessingTime", float(envelope.request_processing_time)),
    ]


# --- JSON -------------------------------------------------------------------------------


def _render_json(envelope: Envelope) -> bytes:
    fields = _fields(envelope)
    payload = fields[_PAYLOAD][1]
    if isinstance(payload, RawJSON):
        try:
            return _json_around(fields, payload).encode("utf-8")
        except (ValueError, UnicodeEncodeError):
            envelope.payload = json.loads(payload)
            return _render_json(envelope)
    document = dict(fields)
    if isinstance(payload, RecordList):
        document["payload"] = [_json_record(record) for record in payload]
    elif isinstance(payload, Decimal):
        document["payload"] = decimal_number(payload)
    try:
        text = json.dumps(
            document,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=_json_default,
        )
    except ValueError:
        # NaN or infinity somewhere in a free-form payload: JSON has no spelling for them.
        document["payload"] = _without_non_finite(document["payload"])
        text = json.dumps(
            document, ensure_ascii=False, separators=(",", ":"), default=_json_default
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (possible in JSON input echoed back) cannot be UTF-8; escape it.
        return json.dumps(document, separators=(",", ":"), default=_json_default).encode("ascii")


_PAYLOAD = 2  # the index of ("payload", ...) in _fields()
_AROUND = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json_around(fields: list[tuple[str, Any]], payload: str) -> str:
    """The envelope as JSON text with `payload` (JSON text already) spliced in unparsed."""
    before = _AROUND.encode(dict(fields[:_PAYLOAD]))
    after = _AROUND.encode(dict(fields[_PAYLOAD + 1 :]))
    return f'{before[:-1]},"payload":{payload},{after[1:]}'


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in record.items():
        if value is None or type(value) is str:
            converted[key] = value
        else:
            # Exact-type lookup first: this loop is the hot path of every select.
            convert = _JSON_CELL_BY_TYPE.get(type(value), _json_cell)
            converted[key] = convert(value)
    return converted


def _json_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return datetime_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64_text(value)
    if isinstance(value, dict):
        return _json_record(value)
    if isinstance(value, list | tuple):
        return [_json_cell(item) if item is not None else None for item in value]
    return str(value)


_JSON_CELL_BY_TYPE: dict[type, Any] = {
    int: str,
    bool: lambda value: "1" if value else "0",
    float: float_text,
    Decimal: decimal_text,
    datetime: datetime_text,
    date: datetime_text,
    bytes: base64_text,
    memoryview: base64_text,
}


def _json_default(value: Any) -> Any:
    """Types a free-form payload may still contain that ``json`` cannot write by itself."""
    if isinstance(value, Decimal):
        return decimal_number(value)
    if isinstance(value, date):
        return datetime_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64_text(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def _without_non_finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value - value == 0 else None
    if isinstance(value, dict):
        return {key: _without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_non_finite(item) for item in value]
    return value


# --- plist ------------------------------------------------------------------------------


def _render_plist(envelope: Envelope) -> bytes:
    out = [plist.HEADER, "<dict>"]
    for key, value in _fields(envelope):
        if value is None:
            continue
        out.append(f"<key>{key}</key>")
        if key != "payload":
            plist.write_free_value(out, value)
        elif isinstance(value, RecordList):
            plist.write_array(out, value, plist.write_record_value)
        else:
            plist.write_free_value(out, value)
    out.append("</dict>")
    out.append(plist.FOOTER)
    return "".join(out).encode("utf-8")
