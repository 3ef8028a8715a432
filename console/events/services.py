"""Writes of the event stream — storing an upload (deduplicated by event uuid), the users
and installs it names, handing the new events to the automations once committed — and of
automations (checked here once for every caller)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apimethods.models import KScriptMethod
from console.apps.models import App
from console.events.intake import IncomingEvent, association
from console.events.models import AppUser, Automation, AutomationRule, Event, Install, LateEvents
from console.schedules import cron


@dataclass(frozen=True)
class Stored:
    accepted: int  # new events stored
    duplicates: int  # events this app already had (by uuid)
    event_ids: list[int]


@cache
def _store_upload_sql(with_users: bool = True) -> str:
    """The whole upload as one statement (so one round trip and no BEGIN / COMMIT of its
    own): the events, then the users and the install the new ones name.

    TRICKY: arrays unnested server-side; ON CONFLICT DO NOTHING with RETURNING names
    exactly the events that were new, so a retried upload (or two devices racing with one
    uuid) stores and triggers each event once, and only the new events (`fresh`) count
    for users and the install. Ties in happened_at go by upload order (`n`): the later
    association wins, as it would on the device. Users are written in identifier order,
    so two uploads naming the same users lock them in the same order. Each new row also
    says whether the app has an automation switched on (most have none).

    Without users (no event names one, no association: most uploads), the statement
    leaves out the users' steps, which cost about a third of its database time even
    with nothing to write, and the install gets no association (as when they find none)."""
    events, users, installs = Event._meta.db_table, AppUser._meta.db_table, Install._meta.db_table
    automations = Automation._meta.db_table
    newer_attributes = 'EXCLUDED."attributes_at" IS NOT NULL AND (u."attributes_at" IS NULL OR EXCLUDED."attributes_at" >= u."attributes_at")'
    newer_association = 'EXCLUDED."associated_at" IS NOT NULL AND (i."associated_at" IS NULL OR EXCLUDED."associated_at" >= i."associated_at")'
    if with_users:
        rows = (
            "WITH x AS (SELECT * FROM unnest(%(uuids)b::text[], %(types)b::text[], %(times)b::timestamptz[],"
            " %(users)b::text[], %(data)b::text[], %(associates)b::text[], %(attributes)b::text[])"
            " WITH ORDINALITY AS x(u, t, h, us, d, a, at, n)),"
        )
        user_steps = (
            " seen AS (SELECT s.ident, min(s.h) AS first, max(s.h) AS last FROM"
            " (SELECT us AS ident, h FROM fresh WHERE us IS NOT NULL UNION ALL"
            " SELECT a, h FROM fresh WHERE a IS NOT NULL) s GROUP BY s.ident),"
            " latest AS (SELECT DISTINCT ON (a) a AS ident, at, h FROM fresh"
            " WHERE a IS NOT NULL AND at IS NOT NULL ORDER BY a, h DESC, n DESC),"
            f' user_rows AS (INSERT INTO "{users}" AS u ("app_id", "identifier", "attributes", "attributes_at",'
            ' "first_seen_at", "last_seen_at")'
            " SELECT %(app)s, seen.ident, COALESCE(latest.at::jsonb, '{}'::jsonb), latest.h, seen.first, seen.last"
            " FROM seen LEFT JOIN latest ON latest.ident = seen.ident ORDER BY seen.ident"
            ' ON CONFLICT ("app_id", "identifier") DO UPDATE SET'
            ' "first_seen_at" = LEAST(u."first_seen_at", EXCLUDED."first_seen_at"),'
            ' "last_seen_at" = GREATEST(u."last_seen_at", EXCLUDED."last_seen_at"),'
            f' "attributes" = CASE WHEN {newer_attributes} THEN EXCLUDED."attributes" ELSE u."attributes" END,'
            f' "attributes_at" = CASE WHEN {newer_attributes} THEN EXCLUDED."attributes_at" ELSE u."attributes_at" END),'
            " associated AS (SELECT a, h FROM fresh WHERE a IS NOT NULL ORDER BY h DESC, n DESC LIMIT 1),"
        )
        association = "(SELECT a FROM associated), (SELECT h FROM associated)"
    else:
        rows = (
            "WITH x AS (SELECT x.*, NULL::text AS us FROM unnest(%(uuids)b::text[], %(types)b::text[],"
            " %(times)b::timestamptz[], %(data)b::text[]) AS x(u, t, h, d)),"
        )
        user_steps = ""
        association = "NULL, NULL::timestamptz"
    return (
        rows + f' new AS (INSERT INTO "{events}" ("app_id", "uuid", "type", "happened_at", "received_at", "install_id",'
        ' "user_identifier", "data")'
        " SELECT %(app)s, x.u::uuid, x.t, x.h, %(now)s, %(install)s, x.us, x.d::jsonb FROM x"
        ' ON CONFLICT ("app_id", "uuid") DO NOTHING RETURNING "id", "uuid"),'
        ' fresh AS (SELECT x.* FROM x JOIN new ON new."uuid" = x.u::uuid),'
        + user_steps
        + f' install_row AS (INSERT INTO "{installs}" AS i ("app_id", "install_id", "user_identifier",'
        ' "associated_at", "first_seen_at", "last_seen_at")'
        f" SELECT %(app)s, %(install)s, {association}, min(h), max(h)"
        " FROM fresh HAVING count(*) > 0"
        ' ON CONFLICT ("app_id", "install_id") DO UPDATE SET'
        ' "first_seen_at" = LEAST(i."first_seen_at", EXCLUDED."first_seen_at"),'
        ' "last_seen_at" = GREATEST(i."last_seen_at", EXCLUDED."last_seen_at"),'
        f' "user_identifier" = CASE WHEN {newer_association} THEN EXCLUDED."user_identifier"'
        ' ELSE i."user_identifier" END,'
        f' "associated_at" = CASE WHEN {newer_association} THEN EXCLUDED."associated_at"'
        ' ELSE i."associated_at" END)'
        f' SELECT new."id", new."uuid", EXISTS (SELECT 1 FROM "{automations}" a'
        ' WHERE a."app_id" = %(app)s AND a."enabled") FROM new'
    )


def _compact(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def store_events(app_id: int, install_id: str, events: list[IncomingEvent], now: datetime | None = None) -> Stored:
    """Store an upload in one statement: the new events, then the users and the install
    they name (from the new events only, so a retried upload changes nothing)."""
    now = now or timezone.now()
    if not events:
        return Stored(0, 0, [])
    associations = [association(e) for e in events]
    with_users = any(a is not None or e.user_identifier is not None for e, a in zip(events, associations, strict=True))
    params: dict[str, Any] = {
        "app": app_id,
        "now": now,
        "install": install_id,
        "uuids": [e.uuid for e in events],
        "types": [e.type for e in events],
        "times": [e.happened_at for e in events],
        "data": [_compact(e.data) for e in events],
    }
    if with_users:
        params["users"] = [e.user_identifier for e in events]
        params["associates"] = [a[0] if a else None for a in associations]
        params["attributes"] = [_compact(a[1]) if a else None for a in associations]
    with connection.wrap_database_errors:
        # TRICKY: a prepared statement, straight on the psycopg connection (Django's cursors
        # bind client-side and never prepare): planning the upload's CTEs cost about a
        # quarter of its database time, now paid once per connection. The arrays go in
        # binary (`%()b`): text arrays are quoted and escaped element by element.
        connection.ensure_connection()
        cursor = psycopg.Cursor(connection.connection)
        cursor.execute(_store_upload_sql(with_users), params, prepare=True)
        inserted = cursor.fetchall()
    event_ids = sorted(row[0] for row in inserted)
    if event_ids and inserted[0][2]:
        # Automations match on a worker, never in the upload's request (after the commit,
        # when an outer transaction holds this one).
        from console.events import triggers

        transaction.on_commit(lambda: triggers.queue_matching(app_id, event_ids))
    return Stored(len(inserted), len(events) - len(inserted), event_ids)


def _prune_batch_sql() -> str:
    # TRICKY: the inner SELECT walks the (app, happened_at, id) index the event stream
    # uses, so pruning needs no index of its own on the upload path; each statement is
    # its own transaction and holds row locks on one batch only (inserts never wait).
    table = Event._meta.db_table
    return (
        f'DELETE FROM "{table}" WHERE "id" IN (SELECT "id" FROM "{table}"'  # noqa: S608 - our own name
        ' WHERE "app_id" = %s AND "happened_at" < %s LIMIT %s)'
    )


def prune_events(now: datetime | None = None, *, batch: int = 5_000) -> int:
    """Delete events that happened more than KILN_EVENT_RETENTION_DAYS ago, app by app,
    `batch` rows per statement; returns how many went. Users and installs stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.KILN_EVENT_RETENTION_DAYS)
    deleted = 0
    text = _prune_batch_sql()
    for app_id in App.objects.order_by("pk").values_list("pk", flat=True).iterator():
        while True:
            with connection.cursor() as cursor:
                cursor.execute(text, [app_id, cutoff, batch])
                count = cursor.rowcount
            deleted += count
            if count < batch:
                break
    return deleted


# Automations ---------------------------------------------------------------------------

AUDIENCE_OPS = ("$eq", "$lt", "$gt", "$lte", "$gte")
MAX_RULES = 20
MAX_ACTIONS = 10
MAX_AUDIENCE_FILTERS = 20


def _bad(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _moment(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise _bad(field, "Give an ISO 8601 date and time, e.g. 2026-12-24T09:00:00Z.") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _audience(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw in (None, "everyone"):
        return []
    if not isinstance(raw, list) or len(raw) > MAX_AUDIENCE_FILTERS:
        raise _bad("rules", f"{where}: the audience is 'everyone' or a list of at most {MAX_AUDIENCE_FILTERS} filters.")
    filters = []
    for item in raw:
        if not isinstance(item, dict):
            raise _bad("rules", f"{where}: each audience filter is {{attribute, op, value}}.")
        attribute, op, value = item.get("attribute"), item.get("op"), item.get("value")
        if not isinstance(attribute, str) or not attribute.strip() or len(attribute) > 200:
            raise _bad("rules", f"{where}: name the user attribute each audience filter tests.")
        if op not in AUDIENCE_OPS:
            raise _bad("rules", f"{where}: the operator of {attribute} must be one of {', '.join(AUDIENCE_OPS)}.")
        finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not (isinstance(value, str | bool) or finite):
            raise _bad("rules", f"{where}: {attribute} {op} needs a string, a number or a boolean.")
        filters.append({"attribute": attribute.strip(), "op": op, "value": value})
    return filters


def _rules(app: App, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_RULES:
        raise _bad("rules", f"Give the automation 1 to {MAX_RULES} rules.")
    methods = {m.name.lower(): m.name for m in KScriptMethod.objects.filter(app=app)}
    rules = []
    for index, item in enumerate(raw):
        where = f"Rule {index + 1}"
        if not isinstance(item, dict):
            raise _bad("rules", f"{where}: give an object with event_type, audience and methods.")
        event_type = item.get("event_type")
        if not isinstance(event_type, str) or not event_type.strip() or len(event_type) > 200:
            raise _bad("rules", f"{where}: name the event type that triggers it (wildcards: k.*).")
        names = item.get("methods")
        if not isinstance(names, list) or not names or len(names) > MAX_ACTIONS:
            raise _bad("rules", f"{where}: give 1 to {MAX_ACTIONS} KScript methods to run.")
        canonical = []
        for name in names:
            found = methods.get(str(name).lower()) if isinstance(name, str) else None
            if found is None:
                raise _bad("rules", f"{where}: this app has no KScript method called {name}.")
            canonical.append(found)
        rules.append(
            {"event_type": event_type.strip(), "audience": _audience(item.get("audience"), where), "methods": canonical}
        )
    return rules


def check_automation(app: App, values: dict[str, Any], *, exclude: int | None = None) -> dict[str, Any]:
    """The fields of an automation and its rules as they will be stored, or a
    ValidationError keyed by field."""
    name = " ".join(str(values.get("name") or "").split())
    if not name or len(name) > 100:
        raise _bad("name", "Give the automation a name of at most 100 characters.")
    if Automation.objects.filter(app=app, name__iexact=name).exclude(pk=exclude).exists():
        raise _bad("name", f"Another automation of this app is called {name}.")
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _bad("enabled", "Give true or false.")
    available_from = _moment(values.get("available_from"), "available_from")
    available_until = _moment(values.get("available_until"), "available_until")
    if available_from and available_until and available_until < available_from:
        raise _bad("available_until", "The end of the availability comes before its start.")
    weekdays = values.get("weekdays") or []
    if not isinstance(weekdays, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in weekdays
    ):
        raise _bad("weekdays", "Give ISO weekdays, 1 (Monday) to 7 (Sunday); none for every day.")
    zone = str(values.get("timezone") or "UTC")
    try:
        cron.time_zone(zone)
    except cron.CronError as exc:
        raise _bad("timezone", str(exc)) from None
    late = values.get("late_events", LateEvents.FIRE)
    if late not in LateEvents.values:
        raise _bad("late_events", f"Choose one of: {', '.join(LateEvents.values)}.")
    minutes = values.get("late_after_minutes")
    if late == LateEvents.DROP:
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
            raise _bad("late_after_minutes", "Give how many minutes old an event may be and still fire (1 or more).")
    else:
        minutes = None
    return {
        "fields": {
            "name": name,
            "enabled": enabled,
            "available_from": available_from,
            "available_until": available_until,
            "weekdays": sorted(set(weekdays)),
            "timezone": zone,
            "late_events": late,
            "late_after_minutes": minutes,
        },
        "rules": _rules(app, values.get("rules")),
    }


def _write_rules(automation: Automation, rules: list[dict[str, Any]]) -> None:
    # TRICKY: rules are replaced by position, not deleted and re-created, so an edit keeps
    # their ids and with them the (rule, event, action) keys of what already fired.
    existing = list(automation.rules.order_by("position", "id"))
    for position, rule in enumerate(rules):
        if position < len(existing):
            row = existing[position]
            row.event_type, row.audience, row.methods, row.position = (
                rule["event_type"], rule["audience"], rule["methods"], position,
            )  # fmt: skip
            row.save()
        else:
            AutomationRule.objects.create(automation=automation, position=position, **rule)
    for row in existing[len(rules) :]:
        row.delete()


@transaction.atomic
def create_automation(app: App, author: AbstractBaseUser | None, values: dict[str, Any]) -> Automation:
    checked = check_automation(app, values)
    automation = Automation.objects.create(app=app, created_by=author, **checked["fields"])
    _write_rules(automation, checked["rules"])
    return automation


@transaction.atomic
def update_automation(automation: Automation, values: dict[str, Any]) -> Automation:
    automation = Automation.objects.select_for_update().get(pk=automation.pk)
    checked = check_automation(automation.app, values, exclude=automation.pk)
    for field, value in checked["fields"].items():
        setattr(automation, field, value)
    automation.save()
    _write_rules(automation, checked["rules"])
    return automation


@transaction.atomic
def delete_automation(automation: Automation) -> None:
    automation.delete()  # its rules and runs go with it; a run in progress finds nothing to record
