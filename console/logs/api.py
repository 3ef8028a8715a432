"""Console JSON API of the Logs page: an app's client calls, scheduled runs and
automation runs as one filtered list (keyset pages), and one entry with its logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import AppScopedAPIView
from console.events.api import run_data as automation_run_data
from console.logs import queries
from console.logs.models import CallRecord
from console.schedules.api import run_data as schedule_run_data

# What a client got back, in the words of the README's list of response codes.
RESPONSE_CODES = {
    1: "Success",
    2: "Not authorised",
    4: "No such method",
    8: "No such format",
    16: "App suspended",
    32: "Invalid request",
    64: "Server error",
    128: "Database error",
}


class LogQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[*queries.KINDS, ""], default="")
    method = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    status = serializers.ChoiceField(choices=["ok", "failed", ""], default="")
    since = serializers.DateTimeField(required=False, allow_null=True, default=None)
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    q = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    before = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def parse_cursor(raw: str) -> queries.Cursor | None:
    """`<microseconds since the epoch>,<kind>,<id>` as `next` gave it (no characters a
    URL would change)."""
    if not raw:
        return None
    try:
        micros, kind, entry_id = raw.split(",")
        if kind not in queries.KINDS:
            raise ValueError(kind)
        return queries.Cursor(EPOCH + int(micros) * MICROSECOND, kind, int(entry_id))
    except (ValueError, OverflowError):
        raise ValidationError({"before": ["Give the `next` value of the previous page."]}) from None


def cursor_text(cursor: queries.Cursor) -> str:
    return f"{(cursor.at - EPOCH) // MICROSECOND},{cursor.kind},{cursor.id}"


def entry_data(entry: queries.Entry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "id": entry.id,
        "at": entry.at.isoformat(),
        "method": entry.method,
        "method_type": entry.method_type,
        "status": entry.status,
        "code": entry.code,
        "code_text": RESPONSE_CODES.get(entry.code) if entry.code is not None else None,
        "duration_ms": entry.duration_ms,
        "error": entry.error,
        "source": entry.source,
    }


def call_data(call: CallRecord) -> dict[str, Any]:
    """A client call with its logs, in the shape of a run's details (console.schedules)."""
    entry = queries.Entry(
        "client",
        call.pk,
        call.at,
        call.method,
        "ok" if call.code == 1 else "failed",
        call.duration_ms,
        call.error,
        call.code,
        call.method_type,
    )
    return {
        **entry_data(entry),
        "started_at": call.at.isoformat(),
        "logs": call.logs or [],
        "logs_dropped": call.logs_dropped,
    }


class LogListView(AppScopedAPIView):
    @extend_schema(parameters=[LogQuerySerializer])
    def get(self, request: Request, app_id: int) -> Response:
        """Newest first, 50 a page. Filters: `kind` (client, scheduled, automation),
        `method`, `status` (ok, failed), `since` / `until` (ISO 8601), `q` (in the error's
        type or message); `before=<next>` continues after the previous page."""
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        flt = queries.LogFilter(
            kind=values["kind"],
            method=values["method"].strip(),
            status=values["status"],
            since=values["since"],
            until=values["until"],
            text=values["q"].strip(),
        )
        entries, after = queries.list_entries(self.app, flt, after=parse_cursor(values["before"]))
        return Response(
            {
                "entries": [entry_data(e) for e in entries],
                "next": cursor_text(after) if after else None,
                "retention_days": settings.KILN_LOG_RETENTION_DAYS,
                # For the method filter's suggestions: what clients can call now.
                "methods": queries.deployed_names(self.app),
            }
        )


class LogEntryView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, kind: str, entry_id: int) -> Response:
        """One entry with its logs and error; runs as their own histories show them."""
        if kind == "client":
            return Response(call_data(queries.get_call(self.app, entry_id)))
        if kind == "scheduled":
            run = queries.get_scheduled_run(self.app, entry_id)
            data = schedule_run_data(run, full=True)
            return Response({**data, "kind": kind, "method": run.schedule.method, "source": run.schedule.name})
        if kind != "automation":
            raise Http404
        automation_run = queries.get_automation_run(self.app, entry_id)
        data = automation_run_data(automation_run, full=True)
        return Response({**data, "kind": kind, "source": automation_run.automation.name})
