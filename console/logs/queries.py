"""Reads of an app's invocation log: its client calls (this app's table) beside its
scheduled and automation runs (read from their own histories, never copied), as one
list, newest first, filtered, a keyset page at a time."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apimethods.services import live_deployment
from console.apps.models import App
from console.events.models import AutomationRun
from console.logs.models import CallRecord
from console.schedules.models import RunStatus, ScheduleRun

PAGE = 50

# Where an entry comes from; the order breaks ties between entries of the same time.
KINDS = ("client", "scheduled", "automation")
FAILED_RUNS = (RunStatus.FAILED, RunStatus.TIMED_OUT, RunStatus.LOST)


@dataclass(frozen=True)
class LogFilter:
    kind: str = ""  # one of KINDS, or "" for all
    method: str = ""
    status: str = ""  # "ok", "failed" or ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""  # in the error's type or message, any case


@dataclass(frozen=True)
class Cursor:
    """The last entry of a page: the next page starts after it."""

    at: datetime
    kind: str
    id: int

    def key(self) -> tuple[datetime, int, int]:
        return (self.at, KINDS.index(self.kind), self.id)


@dataclass(frozen=True)
class Entry:
    kind: str
    id: int
    at: datetime
    method: str
    status: str
    duration_ms: float | None
    error: dict[str, Any] | None
    code: int | None = None  # client calls: the response code
    method_type: str = "kscript"
    source: str = ""  # the schedule's or automation's name

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.id)


def _after(time_field: str, kind: str, cursor: Cursor | None) -> Q:
    """Entries of `kind` that sort after `cursor` (newest first: time, kind, id descending)."""
    if cursor is None:
        return Q()
    mine, theirs = KINDS.index(kind), KINDS.index(cursor.kind)
    if mine < theirs:
        return Q(**{f"{time_field}__lte": cursor.at})
    if mine > theirs:
        return Q(**{f"{time_field}__lt": cursor.at})
    return Q(**{f"{time_field}__lt": cursor.at}) | Q(**{time_field: cursor.at, "id__lt": cursor.id})


def _common(time_field: str, kind: str, flt: LogFilter, cursor: Cursor | None) -> Q:
    where = _after(time_field, kind, cursor)
    if flt.since is not None:
        where &= Q(**{f"{time_field}__gte": flt.since})
    if flt.until is not None:
        where &= Q(**{f"{time_field}__lt": flt.until})
    if flt.text:
        where &= Q(error__type__icontains=flt.text) | Q(error__message__icontains=flt.text)
    return where


def _client_calls(app: App, flt: LogFilter, cursor: Cursor | None, limit: int) -> list[Entry]:
    calls = CallRecord.objects.filter(_common("at", "client", flt, cursor), app=app)
    if flt.method:
        calls = calls.filter(method=flt.method)
    if flt.status:
        calls = calls.filter(code=1) if flt.status == "ok" else calls.exclude(code=1)
    rows = calls.defer("logs").order_by("-at", "-id")[:limit]
    return [
        Entry(
            "client",
            r.pk,
            r.at,
            r.method,
            "ok" if r.code == 1 else "failed",
            r.duration_ms,
            r.error,
            r.code,
            r.method_type,
        )
        for r in rows
    ]


def _run_status(runs: QuerySet[Any], status: str) -> QuerySet[Any]:
    if status == "ok":
        return runs.filter(status=RunStatus.OK)
    if status == "failed":
        return runs.filter(status__in=FAILED_RUNS)
    return runs


def _scheduled_runs(app: App, flt: LogFilter, cursor: Cursor | None, limit: int) -> list[Entry]:
    runs = ScheduleRun.objects.filter(_common("due_at", "scheduled", flt, cursor), schedule__app=app)
    if flt.method:
        runs = runs.filter(schedule__method=flt.method)
    runs = _run_status(runs, flt.status).select_related("schedule").defer("logs", "result")
    return [
        Entry("scheduled", r.pk, r.due_at, r.schedule.method, r.status, r.duration_ms, r.error, source=r.schedule.name)
        for r in runs.order_by("-due_at", "-id")[:limit]
    ]


def _automation_runs(app: App, flt: LogFilter, cursor: Cursor | None, limit: int) -> list[Entry]:
    runs = AutomationRun.objects.filter(_common("queued_at", "automation", flt, cursor), automation__app=app)
    if flt.method:
        runs = runs.filter(method=flt.method)
    runs = _run_status(runs, flt.status).select_related("automation").defer("logs", "result")
    return [
        Entry("automation", r.pk, r.queued_at, r.method, r.status, r.duration_ms, r.error, source=r.automation.name)
        for r in runs.order_by("-queued_at", "-id")[:limit]
    ]


READERS: dict[str, Callable[[App, LogFilter, Cursor | None, int], list[Entry]]] = {
    "client": _client_calls,
    "scheduled": _scheduled_runs,
    "automation": _automation_runs,
}


def list_entries(
    app: App, flt: LogFilter, *, after: Cursor | None = None, limit: int = PAGE
) -> tuple[list[Entry], Cursor | None]:
    """A page of the app's log, newest first, and the cursor of the next page (None: the
    last). Each source gives at most limit + 1 entries, merged by (time, kind, id)."""
    kinds = [flt.kind] if flt.kind else list(KINDS)
    lists = [READERS[kind](app, flt, after, limit + 1) for kind in kinds]
    merged: Iterator[Entry] = heapq.merge(*lists, key=lambda e: e.cursor.key(), reverse=True)
    page = [entry for _, entry in zip(range(limit + 1), merged, strict=False)]
    if len(page) > limit:
        return page[:limit], page[limit - 1].cursor
    return page, None


def deployed_names(app: App) -> list[str]:
    """The names of the live deployment's methods (KScripts and API methods)."""
    live = live_deployment(app)
    return sorted(live.snapshot.get("methods", {}), key=str.lower) if live else []


def get_call(app: App, call_id: int) -> CallRecord:
    return get_object_or_404(CallRecord, app=app, pk=call_id)


def get_scheduled_run(app: App, run_id: int) -> ScheduleRun:
    return get_object_or_404(ScheduleRun.objects.select_related("schedule"), schedule__app=app, pk=run_id)


def get_automation_run(app: App, run_id: int) -> AutomationRun:
    return get_object_or_404(AutomationRun.objects.select_related("automation", "rule"), automation__app=app, pk=run_id)
