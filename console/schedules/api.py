"""Console JSON API for schedules: the list, the editor (with a reading of the cron and
the next run times), the run history with logs, "Run now", and the platform admins'
view of every app's schedules with the per-app switch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from console.api import AppScopedAPIView
from console.apps.models import App
from console.schedules import cron, queries, services
from console.schedules.models import AppScheduling, Kind, RunRecord, Schedule, ScheduleRun

UPCOMING = 5


class ScheduleWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, allow_blank=True)
    method = serializers.CharField(max_length=100, allow_blank=True)
    kind = serializers.ChoiceField(choices=Kind.choices)
    cron = serializers.CharField(max_length=200, allow_blank=True, default="", trim_whitespace=True)
    timezone = serializers.CharField(max_length=64, default="UTC")
    params = serializers.DictField(default=dict)
    enabled = serializers.BooleanField(default=True)


class TimingSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    cron = serializers.CharField(max_length=200, allow_blank=True, default="")
    timezone = serializers.CharField(max_length=64, allow_blank=True, default="UTC")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def record_data(run: RunRecord, *, full: bool = False) -> dict[str, Any]:
    """The history fields of a run, by the same names for schedules and automations
    (console.events.api); `full` adds its logs and result."""
    data: dict[str, Any] = {
        "status": run.status,
        "queued_at": _iso(run.queued_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_ms": run.duration_ms,
        "revision": run.revision,
        "worker": run.worker,
        "error": run.error,
    }
    if full:
        data.update(
            {"logs": run.logs, "logs_dropped": run.logs_dropped, "result": run.result, "result_bytes": run.result_bytes}
        )
    return data


def run_data(run: ScheduleRun, *, full: bool = False) -> dict[str, Any]:
    return {
        "id": run.pk,
        "due_at": _iso(run.due_at),
        "trigger": run.trigger,
        **record_data(run, full=full),
        # From due time to start: how late the scheduler and the workers were.
        "start_delay_ms": round((run.started_at - run.due_at).total_seconds() * 1000, 1) if run.started_at else None,
        "missed_count": run.missed_count,
        "missed_until": _iso(run.missed_until),
    }


def _reading(schedule: Schedule) -> tuple[str, list[str]]:
    try:
        rule, zone = services.timing_of(schedule)
    except cron.CronError as exc:  # stored before a rule changed: say so rather than fail
        return f"(cannot be read: {exc})", []
    upcoming = cron.upcoming(rule, zone, timezone.now(), UPCOMING)
    return cron.describe(rule, schedule.timezone), [moment.isoformat() for moment in upcoming]


def schedule_data(
    schedule: Schedule,
    *,
    recent: list[ScheduleRun],
    deployed: dict[str, int | None],
    upcoming: bool = False,
) -> dict[str, Any]:
    description, next_runs = _reading(schedule)
    data: dict[str, Any] = {
        "id": schedule.pk,
        "name": schedule.name,
        "method": schedule.method,
        "kind": schedule.kind,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "params": schedule.params,
        "enabled": schedule.enabled,
        "description": description,
        "next_due_at": _iso(schedule.next_due_at),
        # The revision the live deployment runs under this name (None: not deployed).
        "deployed_revision": deployed.get(schedule.method),
        "method_deployed": schedule.method in deployed,
        "last_run": run_data(recent[-1]) if recent else None,
        "recent": [
            {"id": r.pk, "status": r.status, "due_at": _iso(r.due_at), "duration_ms": r.duration_ms} for r in recent
        ],
        "created_at": _iso(schedule.created_at),
        "updated_at": _iso(schedule.updated_at),
    }
    if upcoming:
        data["next_runs"] = next_runs
    return data


def _one(schedule: Schedule) -> dict[str, Any]:
    recent = queries.recent_runs([schedule]).get(schedule.pk, [])
    return schedule_data(schedule, recent=recent, deployed=queries.deployed_methods(schedule.app_id), upcoming=True)


def _app_state(app: App) -> dict[str, Any]:
    return {
        "scheduling_enabled": services.scheduling_enabled(app),
        "suspended": app.suspended,
        "kscript_enabled": app.kscript_enabled,
    }


class ScheduleListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        schedules = queries.list_schedules(self.app)
        recent = queries.recent_runs(schedules)
        deployed = queries.deployed_methods(self.app.pk)
        return Response(
            {
                **_app_state(self.app),
                "schedules": [schedule_data(s, recent=recent.get(s.pk, []), deployed=deployed) for s in schedules],
            }
        )

    @extend_schema(request=ScheduleWriteSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        data = ScheduleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = services.create_schedule(self.app, request.user, dict(data.validated_data))
        return Response(_one(schedule), status=status.HTTP_201_CREATED)


class ScheduleDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, schedule_id: int) -> Response:
        return Response(_one(queries.get_schedule(self.app, schedule_id)))

    @extend_schema(request=ScheduleWriteSerializer)
    def put(self, request: Request, app_id: int, schedule_id: int) -> Response:
        schedule = queries.get_schedule(self.app, schedule_id)
        data = ScheduleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_one(services.update_schedule(schedule, dict(data.validated_data))))

    @extend_schema(request=ScheduleWriteSerializer)
    def patch(self, request: Request, app_id: int, schedule_id: int) -> Response:
        """Change some fields (e.g. `{"enabled": false}`); the rest stay."""
        schedule = queries.get_schedule(self.app, schedule_id)
        current = {field: getattr(schedule, field) for field in ScheduleWriteSerializer().fields}
        if not isinstance(request.data, dict):
            return Response({"detail": "Give an object of fields to change."}, status=status.HTTP_400_BAD_REQUEST)
        data = ScheduleWriteSerializer(data={**current, **request.data})
        data.is_valid(raise_exception=True)
        return Response(_one(services.update_schedule(schedule, dict(data.validated_data))))

    def delete(self, request: Request, app_id: int, schedule_id: int) -> Response:
        services.delete_schedule(queries.get_schedule(self.app, schedule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScheduleRunListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, schedule_id: int) -> Response:
        """Newest first, 50 a page; `?before=<run id>` continues after that run."""
        schedule = queries.get_schedule(self.app, schedule_id)
        before_id = request.query_params.get("before", "")
        before = None
        if before_id:
            if not before_id.isdigit():
                return Response({"before": ["Give a run id."]}, status=status.HTTP_400_BAD_REQUEST)
            anchor = queries.get_run(schedule, int(before_id))
            before = (anchor.due_at, anchor.pk)
        runs = queries.list_runs(schedule, before=before)
        return Response({"runs": [run_data(r) for r in runs], "more": len(runs) == 50})


class ScheduleRunDetailView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, schedule_id: int, run_id: int) -> Response:
        schedule = queries.get_schedule(self.app, schedule_id)
        return Response(run_data(queries.get_run(schedule, run_id), full=True))


class ScheduleRunNowView(AppScopedAPIView):
    @extend_schema(request=None)
    def post(self, request: Request, app_id: int, schedule_id: int) -> Response:
        """Queue a run for now: 202 with the run, 409 while another is queued or running."""
        run = services.run_now(queries.get_schedule(self.app, schedule_id))
        return Response(run_data(run, full=True), status=status.HTTP_202_ACCEPTED)


class SchedulePreviewView(AppScopedAPIView):
    @extend_schema(request=TimingSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        """The editor's reading of a timing: `{"description", "next_runs"}` or field errors."""
        data = TimingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        _, rule, zone = services.check_timing(values["kind"], values["cron"], values["timezone"])
        upcoming = cron.upcoming(rule, zone, timezone.now(), UPCOMING)
        return Response(
            {
                "description": cron.describe(rule, values["timezone"]),
                "next_runs": [moment.isoformat() for moment in upcoming],
            }
        )


class TimeZoneListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        return Response(sorted(cron.time_zone_names()))


# Platform admins ---------------------------------------------------------------------


class SchedulingSwitchSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


def _platform_app(app: App, schedules: list[Schedule], switched_off: set[int]) -> dict[str, Any]:
    recent = queries.recent_runs(schedules)
    return {
        "id": app.pk,
        "name": app.name,
        "suspended": app.suspended,
        "scheduling_enabled": app.pk not in switched_off,
        "schedules": [schedule_data(s, recent=recent.get(s.pk, []), deployed={}) for s in schedules],
    }


class PlatformScheduleListView(APIView):
    """Every app with its scheduling switch and its schedules."""

    permission_classes = [IsAdminUser]

    def get(self, request: Request) -> Response:
        switched_off = set(AppScheduling.objects.filter(enabled=False).values_list("app_id", flat=True))
        by_app: dict[int, list[Schedule]] = {}
        for schedule in queries.list_every_schedule():
            by_app.setdefault(schedule.app_id, []).append(schedule)
        apps = App.objects.order_by("name", "id")
        return Response([_platform_app(app, by_app.get(app.pk, []), switched_off) for app in apps])


class PlatformSchedulingView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=SchedulingSwitchSerializer)
    def patch(self, request: Request, app_id: int) -> Response:
        app = get_object_or_404(App, pk=app_id)
        data = SchedulingSwitchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.set_scheduling(app, data.validated_data["enabled"])
        schedules = list(Schedule.objects.filter(app=app).order_by("name", "id"))
        switched_off = set() if services.scheduling_enabled(app) else {app.pk}
        return Response(_platform_app(app, schedules, switched_off))
