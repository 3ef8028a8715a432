"""Decoding of client request bodies into one nested ``dict``.

Accepted encodings (whatever the SDK era): ``application/x-www-form-urlencoded`` with
PHP-style bracket keys (``params[name]=``, ``a[b][c]=``, ``a[]=``), ``multipart/form-data``
with the same field names, a multipart body mislabelled as form-urlencoded, and a JSON
object. Everything else that cannot be decoded raises ``WireError`` with code 32.

The parser is deliberately lenient about what old clients send (raw brackets, values that
were never percent-encoded, a ``%`` that starts no escape) and strict about size: nesting
depth and field count are bounded so a hostile body cannot make the server do unbounded work.
"""

from __future__ import annotations

import binascii
import codecs
import json
import re
from typing import Any
from urllib.parse import unquote

from .codes import ResponseCode
from .errors import WireError

#: Deepest nesting of objects/arrays accepted, counting the body itself as level 1.
MAX_DEPTH = 32
#: Most fields (form pairs or multipart parts) accepted in one body.
MAX_FIELDS = 10_000
_MAX_BOUNDARY = 200

_JSON_TYPES = frozenset({"application/json", "text/json", "application/x-json"})
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_HEADER_PARAM_RE = re.compile(rf'({_TOKEN})\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_SEGMENTS_RE = re.compile(r"(?:\[[^\[\]]*\])+")
_SEGMENT_RE = re.compile(r"\[([^\[\]]*)\]")
_ENCODED_BRACKET_RE = re.compile(r"%5[BbDd]")

Container = dict[str, Any] | list[Any]


def parse_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """Decode a request body into a dict of fields; nested bracket keys become dicts/lists.

    Form and multipart values are ``str``; multipart file parts are ``bytes``. JSON values
    keep their JSON types. Raises ``WireError(32)`` for anything undecodable or too large.
    """
    if not body or not body.strip():
        return {}
    mime, header_params = _parse_header_value(content_type or "")
    charset = _charset(header_params.get("charset"))

    if mime == "multipart/form-data":
        boundary = header_params.get("boundary") or _sniff_boundary(body)
        return _parse_multipart(body, boundary, charset or "utf-8")
    if mime in _JSON_TYPES or mime.endswith("+json"):
        return _parse_json(body, charset)
    # Form-urlencoded, a missing Content-Type or anything unexpected: look at the body.
    # The 2016 Cordova SDK posted FormData under a hand-set form-urlencoded header.
    if body.startswith(b"--"):
        return _parse_multipart(body, _sniff_boundary(body), charset or "utf-8")
    if body.lstrip()[:1] == b"{":
        return _parse_json(body, charset)
    return _parse_form(body, charset or "utf-8")


def _invalid(message: str) -> WireError:
    return WireError(ResponseCode.INVALID_REQUEST, message)


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a=1; b="x"`` into the lower-cased type and its parameters."""
    main, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _HEADER_PARAM_RE.finditer(rest):
        name = match.group(1).lower()
        quoted = match.group(2)
        raw = _QUOTED_PAIR_RE.sub(r"\1", quoted) if quoted is not None else match.group(3).strip()
        params.setdefault(name, raw)
    return main.strip().lower(), params


def _charset(name: str | None) -> str | None:
    """The codec named by a charset parameter; unknown names are ignored (UTF-8 is assumed).

    Python also names codecs that are not character sets at all (``zlib_codec``,
    ``base64``, ``rot13``): ``bytes.decode`` refuses them with a LookupError, so they are
    refused here, as an invalid request, before anything tries to decode with them."""
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # TRICKY: `_is_text_encoding` is how the codecs module itself marks bytes<->str codecs
    # (private, but what bytes.decode checks); codecs registered without it count as text.
    if not getattr(info, "_is_text_encoding", True):
        raise _invalid(f"Charset {name!r} is not a text encoding")
    return info.name


# --- JSON -------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes, charset: str | None) -> dict[str, Any]:
    try:
        # Without a charset json.loads detects UTF-8/16/32 from the bytes itself.
        document = json.loads(
            body.decode(charset) if charset else body, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError):
        raise _invalid("Request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise _invalid("Request body must be a JSON object")
    # TRICKY: a body with few brackets cannot nest deeply, and a short one cannot hold many
    # values; the walk below only runs when either bound could be exceeded.
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH or len(body) > 2 * MAX_FIELDS:
        _check_json_shape(document)
    return document


def _check_json_shape(document: dict[str, Any]) -> None:
    values = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _invalid(f"Request body is nested deeper than {MAX_DEPTH} levels")
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            values += 1
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
        if values > MAX_FIELDS:
            raise _invalid(f"Request body has more than {MAX_FIELDS} values")


# --- form-urlencoded --------------------------------------------------------------------


def _parse_form(body: bytes, charset: str) -> dict[str, Any]:
    try:
        text = body.decode(charset)
    except UnicodeDecodeError:
        raise _invalid(f"Request body is not valid {charset} form data") from None
    if text.count("&") >= MAX_FIELDS:
        raise _invalid(f"Request body has more than {MAX_FIELDS} fields")
    pairs: list[tuple[str, Any]] = []
    try:
        for part in text.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            pairs.append((_form_unquote(name, charset), _form_unquote(value, charset)))
    except UnicodeDecodeError:
        raise _invalid(f"Request body has percent-escapes that are not valid {charset}") from None
    return _build(pairs)


def _form_unquote(text: str, charset: str) -> str:
    # unquote leaves a "%" that starts no valid escape as it is, which is what clients that
    # never percent-encoded their values (Corona, GameMaker) need.
    if "+" in text:
        text = text.replace("+", " ")
    if "%" in text:
        text = unquote(text, encoding=charset, errors="strict")
    return text


# --- PHP-style bracket keys -------------------------------------------------------------


def _split_key(name: str) -> tuple[str, list[str]]:
    """``a[b][]`` → ``("a", ["b", ""])``; a key that is not well-formed stays one flat key."""
    if "%5" in name:
        # TRICKY: the ObjC SDK percent-encodes array keys twice, so after one decoding they
        # still read "params%5Btags%5D[]". Undo the brackets once more to make them usable.
        name = _ENCODED_BRACKET_RE.sub(lambda m: "[" if m.group(0)[2] in "Bb" else "]", name)
    base, bracket, rest = name.partition("[")
    if not bracket or not base:
        return name, []
    tail = name[len(base) :]
    if _SEGMENTS_RE.fullmatch(tail) is None:
        return name, []
    return base, _SEGMENT_RE.findall(tail)


def _build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Assemble decoded (key, value) pairs into nested dicts/lists, later pairs winning."""
    root: dict[str, Any] = {}
    # For dicts that received "[]" appends: (the dict, next integer key to try).
    append_hints: dict[int, tuple[dict[str, Any], int]] = {}
    for name, value in pairs:
        if not name:
            continue
        base, segments = _split_key(name)
        if len(segments) + 1 > MAX_DEPTH:
            raise _invalid(f"Field '{base}' is nested deeper than {MAX_DEPTH} levels")
        _assign(root, base, segments, value, append_hints)
    return _indexed_to_lists(root)


def _indexed_to_lists(value: Any) -> Any:
    """Objects whose keys are exactly 0..n-1 (``tags[0]=a&tags[1]=b``, as PHP, Alamofire and
    ObjC number array items) become lists, so scripts get arrays; other objects stay."""
    if isinstance(value, list):
        return [_indexed_to_lists(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {key: _indexed_to_lists(item) for key, item in value.items()}
    if converted and all(key.isdigit() and (key == "0" or key[0] != "0") for key in converted):
        indexes = sorted(int(key) for key in converted)
        if indexes == list(range(len(indexes))):
            return [converted[str(index)] for index in indexes]
    return converted


def _assign(
    root: dict[str, Any],
    base: str,
    segments: list[str],
    value: Any,
    append_hints: dict[int, tuple[dict[str, Any], int]],
) -> None:
    container: Container = root
    key: str | int = base
    for segment in segments:
        child = _get(container, key)
        next_key: str | int
        if segment == "":
            if isinstance(child, list):
                next_key = len(child)
            elif isinstance(child, dict):
                next_key = _free_index(child, append_hints)
            else:
                child = []
                _put(container, key, child)
                next_key = 0
        else:
            if isinstance(child, list):
                # A list that is then addressed by name becomes a dict, as in PHP.
                child = {str(index): item for index, item in enumerate(child)}
                _put(container, key, child)
            elif not isinstance(child, dict):
                child = {}
                _put(container, key, child)
            next_key = segment
        container, key = child, next_key
    _put(container, key, value)


def _get(container: Container, key: str | int) -> Any:
    if isinstance(container, dict):
        return container.get(key)  # type: ignore[call-overload]
    assert isinstance(key, int)
    return container[key] if key < len(container) else None


def _put(container: Container, key: str | int, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value  # type: ignore[index]
        return
    assert isinstance(key, int)
    if key == len(container):
        container.append(value)
    else:
        container[key] = value


def _free_index(target: dict[str, Any], hints: dict[int, tuple[dict[str, Any], int]]) -> str:
    """The first unused integer key of ``target`` (as a string), in amortised constant time."""
    hint = hints.get(id(target))
    index = hint[1] if hint is not None and hint[0] is target else 0
    while str(index) in target:
        index += 1
    hints[id(target)] = (target, index + 1)
    return str(index)


# --- multipart/form-data ----------------------------------------------------------------


def _sniff_boundary(body: bytes) -> str:
    first_line = body.split(b"\n", 1)[0].rstrip()
    if not first_line.startswith(b"--") or len(first_line) <= 2:
        raise _invalid("Multipart request body has no boundary")
    return first_line[2:].decode("latin-1")


def _parse_multipart(body: bytes, boundary: str, charset: str) -> dict[str, Any]:
    if not boundary or len(boundary) > _MAX_BOUNDARY:
        raise _invalid("Multipart request body has no usable boundary")
    delimiter = b"--" + boundary.encode("latin-1", errors="replace")
    start = body.find(delimiter)
    if start == -1:
        raise _invalid("Multipart request body does not contain its boundary")
    pairs: list[tuple[str, Any]] = []
    position = start + len(delimiter)
    while not body.startswith(b"--", position):
        line_end = body.find(b"\n", position)
        if line_end == -1:
            raise _invalid("Multipart request body is truncated")
        part_start = line_end + 1
        # Searching for "\n--boundary" finds both CRLF and bare-LF line ends.
        next_delimiter = body.find(b"\n" + delimiter, part_start - 1)
        if next_delimiter == -1:
            raise _invalid("Multipart request body is truncated")
        part_end = next_delimiter
        if part_end > part_start and body[part_end - 1] == 0x0D:
            part_end -= 1
        field = _parse_part(body[part_start:part_end], charset)
        if field is not None:
            pairs.append(field)
            if len(pairs) > MAX_FIELDS:
                raise _invalid(f"Request body has more than {MAX_FIELDS} fields")
        position = next_delimiter + 1 + len(delimiter)
    return _build(pairs)


def _parse_part(raw: bytes, charset: str) -> tuple[str, Any] | None:
    """One multipart part → (field name, value), or ``None`` for a part without a name."""
    head, content = _split_part(raw)
    try:
        head_text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid("Multipart part headers are not valid UTF-8") from None
    headers: dict[str, str] = {}
    last = ""
    for line in head_text.split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and last:
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon:
            last = name.strip().lower()
            headers[last] = value.strip()

    disposition, disposition_params = _parse_header_value(headers.get("content-disposition", ""))
    field_name = disposition_params.get("name")
    if disposition != "form-data" or not field_name:
        return None

    encoding = headers.get("content-transfer-encoding", "").lower()
    try:
        if encoding == "base64":
            content = binascii.a2b_base64(b"".join(content.split()), strict_mode=True)
        elif encoding == "quoted-printable":
            content = binascii.a2b_qp(content)
    except binascii.Error:
        raise _invalid(f"Multipart part '{field_name}' is not valid {encoding}") from None

    if "filename" in disposition_params:
        return field_name, content
    part_charset = _charset(_parse_header_value(headers.get("content-type", ""))[1].get("charset"))
    part_charset = part_charset or charset
    try:
        return field_name, content.decode(part_charset)
    except UnicodeDecodeError:
        raise _invalid(f"Multipart field '{field_name}' is not valid {part_charset}") from None


def _split_part(raw: bytes) -> tuple[bytes, bytes]:
    for blank in (b"\r\n", b"\n"):
        if raw.startswith(blank):
            return b"", raw[len(blank) :]
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        return raw[:crlf], raw[crlf + 4 :]
    if lf != -1:
        return raw[:lf], raw[lf + 2 :]
    return raw, b""
