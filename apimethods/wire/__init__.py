"""Kumulos client wire protocol: pure functions from HTTP request parts to Python values and
from a response envelope back to bytes. No Django and no I/O, so the hot path stays cheap
and every rule is unit-testable.

Typical use by the client endpoint::

    route = parse_client_path(request.path_info)          # None → 404
    # The full header: Django's request.content_type drops charset and boundary.
    fields = parse_body(request.headers.get("Content-Type"), request.body)
    call = split_fields(fields)
    credentials = parse_basic_auth(request.headers.get("Authorization"))
    values = coerce_params(call.params, [("userID", "integer"), ...])
    body, content_type = render(Envelope(...), route.format)
"""

from __future__ import annotations

from .auth import hashed_key_matches, parse_basic_auth
from .body import MAX_DEPTH, MAX_FIELDS, parse_body
from .codes import STANDARD_MESSAGES, ResponseCode
from .coerce import PARAM_TYPES, coerce_param, coerce_params
from .envelope import (
    FORMATS,
    JSON_CONTENT_TYPE,
    PLIST_CONTENT_TYPE,
    Envelope,
    RawJSON,
    RecordList,
    render,
)
from .errors import WireError
from .paths import ClientPath, parse_client_path
from .request import RESERVED_FIELDS, ClientRequest, split_fields

__all__ = [
    "FORMATS",
    "JSON_CONTENT_TYPE",
    "MAX_DEPTH",
    "MAX_FIELDS",
    "PARAM_TYPES",
    "PLIST_CONTENT_TYPE",
    "RESERVED_FIELDS",
    "STANDARD_MESSAGES",
    "ClientPath",
    "ClientRequest",
    "Envelope",
    "RawJSON",
    "RecordList",
    "ResponseCode",
    "WireError",
    "coerce_param",
    "coerce_params",
    "hashed_key_matches",
    "parse_basic_auth",
    "parse_body",
    "parse_client_path",
    "render",
    "split_fields",
]
