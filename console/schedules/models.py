"""Scheduled KScripts: a schedule runs one of an app's deployed KScript methods on a
cron, and every due time leaves one ScheduleRun in the history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from console.apps.models import App


class AppScheduling(models.Model):
    """The platform admins' switch for an app's schedules; an app without a row is on."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, primary_key=True, related_name="scheduling")
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scheduling {'on' if self.enabled else 'off'} for app {self.app_id}"


class Kind(models.TextChoices):
    MINUTE = "minute", "Every minute"
    HOUR = "hour", "Every hour"
    CRON = "cron", "Cron expression"


class Schedule(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="schedules")
    # Unique per app (case-insensitively); the app definition matches schedules by it.
    name = models.CharField(max_length=100)
    # A KScript method by name; a run always takes the live deployment's revision.
    method = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MINUTE)
    cron = models.CharField(max_length=200, blank=True)  # only for kind=cron
    timezone = models.CharField(max_length=64, default="UTC")
    # Fixed K.params, {"name": value}, coerced to the method's declared types at each run.
    params = models.JSONField(default=dict)
    enabled = models.BooleanField(default=True)
    # The next due time the tick has not handled yet; None while the schedule is off.
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), "app", name="one_schedule_per_name"),
        ]
        indexes = [
            # What the tick reads every second: due schedules only.
            models.Index(fields=["next_due_at"], name="schedule_due", condition=Q(next_due_at__isnull=False)),
        ]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"schedule {self.name} of app {self.app_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    SKIPPED = "skipped", "Skipped"
    MISSED = "missed", "Missed"
    LOST = "lost", "Lost"


UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Run now"


class RunRecord(models.Model):
    """What a run of a deployed KScript method leaves in its history, whatever started it:
    a schedule (ScheduleRun) or an automation (console.events.models.AutomationRun)."""

    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a running run must have ended (start + the app's time limit); the sweeper
    # marks runs still "running" well after it as lost.
    deadline_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    revision = models.PositiveIntegerField(null=True, blank=True)  # the deployed revision run
    worker = models.CharField(max_length=200, blank=True)  # host:pid of the process that ran it
    logs = models.JSONField(default=list)  # as Run It! shows them
    logs_dropped = models.PositiveIntegerField(default=0)
    # {"type", "message"[, "method", "line", "column", "stack"]} for failed, timed out, lost
    # and skipped runs (why), None otherwise.
    error = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    result_bytes = models.PositiveIntegerField(null=True, blank=True)  # when too big to keep

    class Meta:
        abstract = True


class ScheduleRun(RunRecord):
    """One due time of a schedule (or one "Run now"), whatever became of it."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    # The idempotency key with the schedule: a due time is handled once, whoever ticks.
    due_at = models.DateTimeField()
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.SCHEDULE)
    # A "missed" entry stands for every due time from due_at to missed_until.
    missed_count = models.PositiveIntegerField(default=0)
    missed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["schedule", "due_at"], name="one_run_per_due_time"),
            models.UniqueConstraint(
                fields=["schedule"], condition=Q(status="running"), name="one_running_run_per_schedule"
            ),
        ]
        indexes = [
            models.Index(fields=["schedule", "-due_at"], name="schedule_run_history"),
            models.Index(
                fields=["status", "deadline_at"], name="schedule_run_unfinished", condition=Q(status__in=UNFINISHED)
            ),
            models.Index(fields=["due_at"], name="schedule_run_due"),
        ]
        ordering = ["-due_at", "-id"]

    def __str__(self) -> str:
        return f"run of schedule {self.schedule_id} due {self.due_at.isoformat()}: {self.status}"
