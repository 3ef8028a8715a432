"""Reading an events upload as the Kumulos SDKs send it (pure, no Django): a JSON array of
`{type, uuid, timestamp, data, userId}`, or the same array under `"events"` in an object.

Every event is checked before anything is stored: one that cannot be stored makes the
whole upload a 422, so an upload is never half-written (the device keeps it and retries;
a malformed event is a bug in the sending code, which the 422's message names).
"""

from __future__ import annotations

import json
import uuid as uuidlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS = 1000
MAX_TYPE_CHARS = 200
MAX_ID_CHARS = 255
# 9999-12-31T23:59:59.999Z, the last moment PostgreSQL and Python both hold.
MAX_TIMESTAMP_MS = 253_402_300_799_999
# Deeper than this, a data object is refused (json.loads and PostgreSQL both recurse).
MAX_DATA_DEPTH = 64

USER_ASSOCIATED = "k.stats.userAssociated"


class BadUpload(Exception):
    """An upload that cannot be stored; the message says what and where."""


@dataclass(frozen=True)
class IncomingEvent:
    uuid: str
    type: str
    happened_at: datetime
    user_identifier: str | None
    data: Any


def parse_upload(body: bytes) -> list[IncomingEvent]:
    if len(body) > MAX_BODY_BYTES:
        raise BadUpload(f"body larger than {MAX_BODY_BYTES} bytes: upload the events in smaller batches")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise BadUpload("the body is not valid JSON") from None
    if isinstance(document, dict) and "events" in document:
        document = document["events"]
    if not isinstance(document, list):
        raise BadUpload("the body must be a JSON array of events")
    if len(document) > MAX_EVENTS:
        raise BadUpload(f"{len(document)} events in one upload; at most {MAX_EVENTS}")
    events = [_event(item, index) for index, item in enumerate(document)]
    seen: dict[str, IncomingEvent] = {}
    for event in events:
        seen.setdefault(event.uuid, event)  # the same uuid twice in one upload is one event
    return list(seen.values())


def check_text(value: str, what: str) -> str:
    """A string PostgreSQL can store: no NUL, no lone UTF-16 surrogate."""
    if "\x00" in value:
        raise BadUpload(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadUpload(f"{what} contains an unpaired surrogate (\\ud800-\\udfff)") from None
    return value


def _event(item: Any, index: int) -> IncomingEvent:
    where = f"event {index}"
    if not isinstance(item, dict):
        raise BadUpload(f"{where} is not an object")
    kind = item.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_CHARS:
        raise BadUpload(f'{where}: "type" must be a non-empty string of at most {MAX_TYPE_CHARS} characters')
    check_text(kind, f'{where}: "type"')
    raw_uuid = item.get("uuid")
    try:
        event_uuid = str(uuidlib.UUID(raw_uuid)) if isinstance(raw_uuid, str) else None
    except ValueError:
        event_uuid = None
    if event_uuid is None:
        raise BadUpload(f'{where}: "uuid" must be a UUID string')
    stamp = item.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not 0 <= stamp <= MAX_TIMESTAMP_MS:
        raise BadUpload(f'{where}: "timestamp" must be milliseconds since 1970 (a number from 0)')
    user = item.get("userId")
    if user is not None:
        if not isinstance(user, str | int) or isinstance(user, bool):
            raise BadUpload(f'{where}: "userId" must be a string or null')
        user = check_text(str(user), f'{where}: "userId"')
        if not user or len(user) > MAX_ID_CHARS:
            raise BadUpload(f'{where}: "userId" must have 1 to {MAX_ID_CHARS} characters')
    data = item.get("data")
    _check_data(data, f'{where}: "data"', 0)
    happened_at = datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)
    return IncomingEvent(event_uuid, kind, happened_at, user, data)


def _check_data(value: Any, what: str, depth: int) -> None:
    if depth > MAX_DATA_DEPTH:
        raise BadUpload(f"{what} is nested more than {MAX_DATA_DEPTH} levels deep")
    if isinstance(value, str):
        check_text(value, what)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, what)
            _check_data(item, what, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_data(item, what, depth + 1)
    elif isinstance(value, float) and value != value:  # json.loads reads NaN; jsonb has none
        raise BadUpload(f"{what} contains NaN")
    elif isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise BadUpload(f"{what} contains Infinity")


def association(event: IncomingEvent) -> tuple[str, dict[str, Any] | None] | None:
    """(user id, attributes or None) of a user association event, else None."""
    if event.type != USER_ASSOCIATED:
        return None
    data = event.data if isinstance(event.data, dict) else {}
    identifier = data.get("id")
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    if not isinstance(identifier, str) or not identifier or len(identifier) > MAX_ID_CHARS:
        identifier = event.user_identifier
    if identifier is None:
        return None
    attributes = data.get("attributes")
    return identifier, attributes if isinstance(attributes, dict) else None
