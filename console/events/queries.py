"""Reads of the event stream and users: the event stream's keyset pages as SQL (pure
functions, values always bound), and what the console lists."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from console.events.models import AppUser, Automation, AutomationRun, Event
from console.tables.dml import like_escaped

_COMPARE = {"$eq": "=", "$lt": "<", "$gt": ">", "$lte": "<=", "$gte": ">="}
# A filter's operand's JSON type (jsonb_typeof's words): the event stream's SQL and the
# automations' audiences (triggers.py) compare a value only with an operand of its type.
JSON_TYPE = {str: "string", bool: "boolean", int: "number", float: "number"}


class BadCursor(ValueError):
    """A cursor that no page handed out."""


def wildcard_regex(pattern: str) -> str:
    """An event type pattern as a regular expression (Python's, and PostgreSQL's `~`):
    `*` matches any run of characters, everything else itself."""
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def like_pattern(event_type: str) -> str:
    """An eventTypes entry as a LIKE pattern: `*` matches anything, `%` `_` `\\` are literal."""
    return like_escaped(event_type).replace("*", "%")


def parse_cursor(after: Sequence[Any] | None) -> tuple[datetime, int] | None:
    if after is None:
        return None
    if len(after) != 2 or not isinstance(after[0], str) or isinstance(after[1], bool) or not isinstance(after[1], int):
        raise BadCursor("invalid event stream cursor")
    try:
        moment = datetime.fromisoformat(after[0])
    except ValueError:
        raise BadCursor("invalid event stream cursor") from None
    if moment.tzinfo is None:
        raise BadCursor("invalid event stream cursor")
    return moment, after[1]


def event_page_sql(
    app_id: int, query: Mapping[str, Any], after: tuple[datetime, int] | None, limit: int
) -> tuple[str, list[Any]]:
    """One keyset page of the event stream, in (happened_at, id) order. `query` is the
    runtime's checked options (runtime/host.py, Analytics)."""
    include = set(query.get("include") or ())
    filters = list(query.get("filters") or ())
    with_user = "userAttributes" in include or any(f["source"] == "user" for f in filters)
    events, users = Event._meta.db_table, AppUser._meta.db_table
    columns = ['e."id"', 'e."uuid"', 'e."type"', 'e."happened_at"', 'e."install_id"', 'e."user_identifier"']
    columns.append('e."data"' if "data" in include else "NULL")
    columns.append('u."attributes"' if "userAttributes" in include else "NULL")
    text = f'SELECT {", ".join(columns)} FROM "{events}" e'
    if with_user:
        text += f' LEFT JOIN "{users}" u ON u."app_id" = e."app_id" AND u."identifier" = e."user_identifier"'
    where = ['e."app_id" = %s']
    params: list[Any] = [app_id]
    types = query.get("types")
    if types is not None:
        exact = [t for t in types if "*" not in t]
        patterns = [like_pattern(t) for t in types if "*" in t]
        alternatives = []
        if len(exact) == 1:
            # One type: the (app, type, time, id) index then gives the page in order.
            alternatives.append('e."type" = %s')
            params.append(exact[0])
        elif exact:
            alternatives.append('e."type" = ANY(%s)')
            params.append(exact)
        for pattern in patterns:
            alternatives.append('e."type" LIKE %s')
            params.append(pattern)
        where.append("(" + " OR ".join(alternatives) + ")")
    for bound, op in (("gte", ">="), ("lte", "<=")):
        if query.get(bound) is not None:
            where.append(f'e."happened_at" {op} %s')
            params.append(datetime.fromisoformat(query[bound]))
    if after is not None:
        where.append('(e."happened_at", e."id") > (%s, %s)')
        params.extend(after)
    for item in filters:
        column = 'e."data"' if item["source"] == "data" else 'u."attributes"'
        value = item["value"]
        if item["op"] == "$eq":
            where.append(f"{column} #> %s = %s::jsonb")
            params.extend([list(item["path"]), json.dumps(value)])
        else:
            # jsonb orders across types (a string sorts below every number): compare only
            # values of the operand's own type.
            where.append(f"jsonb_typeof({column} #> %s) = %s AND {column} #> %s {_COMPARE[item['op']]} %s::jsonb")
            params.extend([list(item["path"]), JSON_TYPE[type(value)], list(item["path"]), json.dumps(value)])
    text += " WHERE " + " AND ".join(where) + ' ORDER BY e."happened_at", e."id" LIMIT %s'
    params.append(limit)
    return text, params


def js_time(moment: datetime) -> str:
    """As JavaScript's toISOString writes it: UTC, milliseconds, Z."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def event_object(row: Sequence[Any], include: Sequence[str]) -> dict[str, Any]:
    """A row of event_page_sql as scripts see it."""
    _id, uuid, kind, happened_at, install_id, user, data, attributes = row
    event: dict[str, Any] = {
        "type": kind,
        "uuid": str(uuid),
        "happenedAt": js_time(happened_at),
        "timestamp": int(happened_at.timestamp() * 1000),
        "installId": install_id,
    }
    if "data" in include:
        event["data"] = data
    if "user" in include:
        event["user"] = user
    if "userAttributes" in include:
        event["userAttributes"] = attributes if isinstance(attributes, dict) else {}
    return event


def cursor_of(row: Sequence[Any]) -> list[Any]:
    return [row[3].astimezone(UTC).isoformat(), row[0]]


def user_attributes_sql(app_id: int, identifier: str) -> tuple[str, list[Any]]:
    return f'SELECT "attributes" FROM "{AppUser._meta.db_table}" WHERE "app_id" = %s AND "identifier" = %s', [
        app_id,
        identifier,
    ]


# The console -----------------------------------------------------------------------

RECENT_PAGE = 50


def recent_events(
    app_id: int,
    *,
    event_type: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = RECENT_PAGE,
) -> list[Event]:
    """The console's list: newest first; `event_type` may hold `*` wildcards; `before`
    is the (time, id) of the last event of the previous page."""
    events = Event.objects.filter(app_id=app_id)
    if event_type:
        if "*" in event_type:
            events = events.filter(type__regex=f"^{wildcard_regex(event_type)}$")
        else:
            events = events.filter(type=event_type)
    if since is not None:
        events = events.filter(happened_at__gte=since)
    if until is not None:
        events = events.filter(happened_at__lte=until)
    if before is not None:
        moment, event_id = before
        events = events.filter(Q(happened_at__lt=moment) | Q(happened_at=moment, id__lt=event_id))
    return list(events.order_by("-happened_at", "-id")[:limit])


def counts_per_day(app_id: int, since: datetime) -> list[dict[str, Any]]:
    """How many events of each type happened each UTC day from `since`: the chart."""
    rows = (
        Event.objects.filter(app_id=app_id, happened_at__gte=since)
        .annotate(day=TruncDate("happened_at", tzinfo=UTC))
        .values("day", "type")
        .annotate(count=Count("id"))
        .order_by("day", "type")
    )
    return [{"day": row["day"].isoformat(), "type": row["type"], "count": row["count"]} for row in rows]


def list_users(app_id: int, *, search: str = "", offset: int = 0, limit: int = RECENT_PAGE) -> list[AppUser]:
    users = AppUser.objects.filter(app_id=app_id)
    if search:
        users = users.filter(identifier__icontains=search)
    return list(users.order_by("-last_seen_at", "identifier")[offset : offset + limit])


def get_automation(app: Any, automation_id: int) -> Automation:
    return get_object_or_404(Automation.objects.select_related("app"), app=app, pk=automation_id)


def list_automations(app: Any) -> list[Automation]:
    return list(Automation.objects.filter(app=app).prefetch_related("rules").order_by("name", "id"))


def list_automation_runs(
    automation: Automation, *, before: int | None = None, limit: int = RECENT_PAGE
) -> list[AutomationRun]:
    runs = AutomationRun.objects.filter(automation=automation).defer("logs", "result")
    if before is not None:
        runs = runs.filter(id__lt=before)
    return list(runs.select_related("rule").order_by("-id")[:limit])


def get_automation_run(automation: Automation, run_id: int) -> AutomationRun:
    return get_object_or_404(AutomationRun.objects.select_related("rule"), automation=automation, pk=run_id)
