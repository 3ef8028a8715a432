"""Kumulos response codes and the message text Kiln sends with each one.

The client SDKs only know these eight codes (Flutter throws on anything else), so
nothing outside this table may ever reach a response.
"""

from __future__ import annotations

from enum import IntEnum


class ResponseCode(IntEnum):
    SUCCESS = 1
    NOT_AUTHORISED = 2
    NO_SUCH_METHOD = 4
    NO_SUCH_FORMAT = 8
    ACCOUNT_SUSPENDED = 16
    INVALID_REQUEST = 32
    UNKNOWN_SERVER_ERROR = 64
    DATABASE_ERROR = 128


STANDARD_MESSAGES: dict[int, str] = {
    ResponseCode.SUCCESS: "Success",
    ResponseCode.NOT_AUTHORISED: "Not authorised",
    ResponseCode.NO_SUCH_METHOD: "No such method",
    ResponseCode.NO_SUCH_FORMAT: "No such format",
    ResponseCode.ACCOUNT_SUSPENDED: "Account suspended",
    ResponseCode.INVALID_REQUEST: "Invalid request",
    ResponseCode.UNKNOWN_SERVER_ERROR: "Unknown server error",
    ResponseCode.DATABASE_ERROR: "Database error",
}


def check_code(code: object) -> int:
    """Return ``code`` as a plain int, or raise ``ValueError`` if clients would not know it."""
    # bool is an int subclass; True would otherwise pass as code 1.
    if isinstance(code, bool) or not isinstance(code, int) or code not in STANDARD_MESSAGES:
        raise ValueError(f"{code!r} is not a Kumulos response code")
    return int(code)
