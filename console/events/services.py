"""Writes of the event stream: storing an upload (deduplicated by event uuid), the users
and installs it names, and handing the new events to the automations once committed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from console.events.intake import IncomingEvent, association
from console.events.models import AppUser, Event, Install


@dataclass(frozen=True)
class Stored:
    accepted: int  # new events stored
    duplicates: int  # events this app already had (by uuid)
    event_ids: list[int]


# Called with (app id, ids of the events just stored) after the upload commits; the
# automations module registers itself here (events never import automations).
after_commit_hooks: list[Callable[[int, list[int]], None]] = []


def _insert_events_sql() -> str:
    # TRICKY: one statement for the whole upload, arrays unnested server-side; ON CONFLICT
    # DO NOTHING with RETURNING names exactly the events that were new, so a retried
    # upload (or two devices racing with one uuid) stores and triggers each event once.
    table = Event._meta.db_table
    return (
        f'INSERT INTO "{table}" ("app_id", "uuid", "type", "happened_at", "received_at", "install_id",'
        ' "user_identifier", "data")'
        " SELECT %s, x.u::uuid, x.t, x.h, %s, %s, x.us, x.d::jsonb"
        " FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[]) AS x(u, t, h, us, d)"
        ' ON CONFLICT ("app_id", "uuid") DO NOTHING RETURNING "id", "uuid"'
    )


def _upsert_user_sql() -> str:
    table = AppUser._meta.db_table
    newer = 'EXCLUDED."attributes_at" IS NOT NULL AND (u."attributes_at" IS NULL OR EXCLUDED."attributes_at" >= u."attributes_at")'
    return (
        f'INSERT INTO "{table}" AS u ("app_id", "identifier", "attributes", "attributes_at", "first_seen_at",'
        ' "last_seen_at") VALUES (%s, %s, %s::jsonb, %s, %s, %s)'
        ' ON CONFLICT ("app_id", "identifier") DO UPDATE SET'
        ' "first_seen_at" = LEAST(u."first_seen_at", EXCLUDED."first_seen_at"),'
        ' "last_seen_at" = GREATEST(u."last_seen_at", EXCLUDED."last_seen_at"),'
        f' "attributes" = CASE WHEN {newer} THEN EXCLUDED."attributes" ELSE u."attributes" END,'
        f' "attributes_at" = CASE WHEN {newer} THEN EXCLUDED."attributes_at" ELSE u."attributes_at" END'
    )


def _upsert_install_sql() -> str:
    table = Install._meta.db_table
    newer = 'EXCLUDED."associated_at" IS NOT NULL AND (i."associated_at" IS NULL OR EXCLUDED."associated_at" >= i."associated_at")'
    return (
        f'INSERT INTO "{table}" AS i ("app_id", "install_id", "user_identifier", "associated_at", "first_seen_at",'
        ' "last_seen_at") VALUES (%s, %s, %s, %s, %s, %s)'
        ' ON CONFLICT ("app_id", "install_id") DO UPDATE SET'
        ' "first_seen_at" = LEAST(i."first_seen_at", EXCLUDED."first_seen_at"),'
        ' "last_seen_at" = GREATEST(i."last_seen_at", EXCLUDED."last_seen_at"),'
        f' "user_identifier" = CASE WHEN {newer} THEN EXCLUDED."user_identifier" ELSE i."user_identifier" END,'
        f' "associated_at" = CASE WHEN {newer} THEN EXCLUDED."associated_at" ELSE i."associated_at" END'
    )


@dataclass
class _UserSeen:
    first: datetime
    last: datetime
    attributes: dict[str, Any] | None = None
    attributes_at: datetime | None = None


def store_events(app_id: int, install_id: str, events: list[IncomingEvent], now: datetime | None = None) -> Stored:
    """Store an upload in one transaction: the new events, then the users and the install
    they name (from the new events only, so a retried upload changes nothing)."""
    now = now or timezone.now()
    if not events:
        return Stored(0, 0, [])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                _insert_events_sql(),
                [
                    app_id,
                    now,
                    install_id,
                    [e.uuid for e in events],
                    [e.type for e in events],
                    [e.happened_at for e in events],
                    [e.user_identifier for e in events],
                    [None if e.data is None else json.dumps(e.data, separators=(",", ":")) for e in events],
                ],
            )
            inserted = cursor.fetchall()
        new_uuids = {str(row[1]) for row in inserted}
        new = sorted((e for e in events if e.uuid in new_uuids), key=lambda e: e.happened_at)
        if new:
            _record_users_and_install(app_id, install_id, new)
        event_ids = sorted(row[0] for row in inserted)
        if event_ids:
            for hook in after_commit_hooks:
                transaction.on_commit(lambda hook=hook: hook(app_id, event_ids))  # type: ignore[misc]
    return Stored(len(inserted), len(events) - len(inserted), event_ids)


def _record_users_and_install(app_id: int, install_id: str, new: list[IncomingEvent]) -> None:
    users: dict[str, _UserSeen] = {}
    associated: tuple[str, datetime] | None = None
    for event in new:  # in the order they happened
        named = association(event)
        identifiers = [i for i in (event.user_identifier, named[0] if named else None) if i]
        for identifier in identifiers:
            seen = users.setdefault(identifier, _UserSeen(event.happened_at, event.happened_at))
            seen.first = min(seen.first, event.happened_at)
            seen.last = max(seen.last, event.happened_at)
        if named is not None:
            identifier, attributes = named
            if attributes is not None:
                users[identifier].attributes = attributes
                users[identifier].attributes_at = event.happened_at
            associated = (identifier, event.happened_at)
    first = new[0].happened_at
    last = new[-1].happened_at
    with connection.cursor() as cursor:
        # Sorted, so two uploads naming the same users lock them in the same order.
        for identifier in sorted(users):
            seen = users[identifier]
            attributes = None if seen.attributes is None else json.dumps(seen.attributes, separators=(",", ":"))
            cursor.execute(
                _upsert_user_sql(),
                [app_id, identifier, attributes or "{}", seen.attributes_at, seen.first, seen.last],
            )
        cursor.execute(
            _upsert_install_sql(),
            [
                app_id,
                install_id,
                associated[0] if associated else None,
                associated[1] if associated else None,
                first,
                last,
            ],
        )
