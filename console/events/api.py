"""Console JSON API for an app's client events (recent, filtered, counts per type per day),
its users, and its automations (list with firing counts, editor, run history)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from console.api import AppScopedAPIView
from console.events import queries, services
from console.events.models import Automation, AutomationRun, Event, LateEvents
from console.schedules.api import record_data
from console.schedules.queries import deployed_methods

MAX_DAYS = 90


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["Give an ISO 8601 date and time."]}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_data(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "uuid": str(event.uuid),
        "type": event.type,
        "happened_at": _iso(event.happened_at),
        "received_at": _iso(event.received_at),
        "install_id": event.install_id,
        "user": event.user_identifier,
        "data": event.data,
    }


class EventListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        """Newest first, 50 a page: `?type=k.*&since=&until=`, `?before=<time>,<id>` continues."""
        before = None
        raw_before = request.query_params.get("before", "")
        if raw_before:
            moment, _, event_id = raw_before.rpartition(",")
            try:
                before = (datetime.fromisoformat(moment), int(event_id))
            except ValueError:
                raise ValidationError({"before": ["Give the <time>,<id> of the last event shown."]}) from None
        events = queries.recent_events(
            self.app.pk,
            event_type=request.query_params.get("type", "").strip(),
            since=_moment(request, "since"),
            until=_moment(request, "until"),
            before=before,
        )
        more = len(events) == queries.RECENT_PAGE
        return Response(
            {
                "events": [event_data(e) for e in events],
                "next": f"{events[-1].happened_at.isoformat()},{events[-1].pk}" if more else None,
            }
        )


class EventCountView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        """Events per type per UTC day over the last `?days=` (default 14, at most 90)."""
        raw = request.query_params.get("days", "14")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
            raise ValidationError({"days": [f"Give a number of days from 1 to {MAX_DAYS}."]})
        today = timezone.now().astimezone(UTC).date()
        since = datetime.combine(today - timedelta(days=int(raw) - 1), time.min, tzinfo=UTC)
        return Response({"since": since.date().isoformat(), "counts": queries.counts_per_day(self.app.pk, since)})


class UserListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        """Most recently seen first, 50 a page (`?offset=`); `?search=` matches identifiers."""
        raw = request.query_params.get("offset", "0")
        if not raw.isdigit():
            raise ValidationError({"offset": ["Give a whole number."]})
        users = queries.list_users(self.app.pk, search=request.query_params.get("search", "").strip(), offset=int(raw))
        return Response(
            {
                "users": [
                    {
                        "identifier": u.identifier,
                        "attributes": u.attributes,
                        "first_seen_at": _iso(u.first_seen_at),
                        "last_seen_at": _iso(u.last_seen_at),
                    }
                    for u in users
                ],
                "more": len(users) == queries.RECENT_PAGE,
            }
        )


# Automations -------------------------------------------------------------------------


class AutomationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True)
    enabled = serializers.BooleanField(default=True)
    available_from = serializers.DateTimeField(allow_null=True, default=None)
    available_until = serializers.DateTimeField(allow_null=True, default=None)
    weekdays = serializers.ListField(child=serializers.IntegerField(), default=list)
    timezone = serializers.CharField(max_length=64, default="UTC")
    late_events = serializers.ChoiceField(choices=LateEvents.choices, default=LateEvents.FIRE)
    late_after_minutes = serializers.IntegerField(allow_null=True, default=None)
    rules = serializers.ListField(child=serializers.DictField())


def run_data(run: AutomationRun, *, full: bool = False) -> dict[str, Any]:
    """A run as the schedules' history shows one, with what fired it."""
    return {
        "id": run.pk,
        **record_data(run, full=full),
        "rule": run.rule.position,
        "action": run.action,
        "method": run.method,
        "event_uuid": str(run.event_uuid),
        "event_id": run.event_id,
        "user": run.user_identifier,
        "install_id": run.install_id,
    }


def automation_data(automation: Automation, deployed: dict[str, int | None]) -> dict[str, Any]:
    return {
        "id": automation.pk,
        "name": automation.name,
        "enabled": automation.enabled,
        "available_from": _iso(automation.available_from),
        "available_until": _iso(automation.available_until),
        "weekdays": automation.weekdays,
        "timezone": automation.timezone,
        "late_events": automation.late_events,
        "late_after_minutes": automation.late_after_minutes,
        "fired_count": automation.fired_count,
        "rules": [
            {
                "event_type": rule.event_type,
                "audience": rule.audience,
                "methods": rule.methods,
                "methods_deployed": [name in deployed for name in rule.methods],
            }
            for rule in automation.rules.all()
        ],
        "created_at": _iso(automation.created_at),
        "updated_at": _iso(automation.updated_at),
    }


class AutomationListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        deployed = deployed_methods(self.app.pk)
        return Response([automation_data(a, deployed) for a in queries.list_automations(self.app)])

    @extend_schema(request=AutomationWriteSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        data = AutomationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        automation = services.create_automation(self.app, request.user, dict(data.validated_data))
        return Response(automation_data(automation, deployed_methods(self.app.pk)), status=status.HTTP_201_CREATED)


class AutomationDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, automation_id: int) -> Response:
        automation = queries.get_automation(self.app, automation_id)
        return Response(automation_data(automation, deployed_methods(self.app.pk)))

    @extend_schema(request=AutomationWriteSerializer)
    def put(self, request: Request, app_id: int, automation_id: int) -> Response:
        automation = queries.get_automation(self.app, automation_id)
        data = AutomationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        automation = services.update_automation(automation, dict(data.validated_data))
        return Response(automation_data(automation, deployed_methods(self.app.pk)))

    def delete(self, request: Request, app_id: int, automation_id: int) -> Response:
        services.delete_automation(queries.get_automation(self.app, automation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AutomationRunListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, automation_id: int) -> Response:
        """Newest first, 50 a page; `?before=<run id>` continues after that run."""
        automation = queries.get_automation(self.app, automation_id)
        raw = request.query_params.get("before", "")
        if raw and not raw.isdigit():
            raise ValidationError({"before": ["Give a run id."]})
        runs = queries.list_automation_runs(automation, before=int(raw) if raw else None)
        return Response({"runs": [run_data(r) for r in runs], "more": len(runs) == queries.RECENT_PAGE})


class AutomationRunDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, automation_id: int, run_id: int) -> Response:
        automation = queries.get_automation(self.app, automation_id)
        return Response(run_data(queries.get_automation_run(automation, run_id), full=True))
