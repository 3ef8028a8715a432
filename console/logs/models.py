"""The invocation log's own table: one row per client call of a deployed method.

Scheduled and automation runs are not copied here: the Logs page reads their own
histories (console.schedules, console.events) beside this table."""

from __future__ import annotations

from django.contrib.postgres.indexes import BrinIndex
from django.db import models

from console.apps.models import App


class MethodType(models.TextChoices):
    KSCRIPT = "kscript", "KScript"
    APIMETHOD = "apimethod", "API method"
    REFUSED = "refused", "Refused before any method ran"


class CallRecord(models.Model):
    """A client call as the web process saw it, written in batches after the answer."""

    id = models.BigAutoField(primary_key=True)
    # No database constraint: rows arrive in batches after the call, and an app deleted
    # in between must not make its batch fail (Django's cascade still deletes its rows).
    # Its index would repeat the first column of call_record_app_time.
    app = models.ForeignKey(App, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+")
    at = models.DateTimeField()  # when the method started
    method = models.CharField(max_length=100)
    method_type = models.CharField(max_length=10, choices=MethodType.choices)
    code = models.PositiveSmallIntegerField()  # the Kumulos response code the client got
    duration_ms = models.FloatField()
    # K.log lines as Run It! shows them (None: the method logged nothing or cannot log).
    logs = models.JSONField(null=True, blank=True)
    logs_dropped = models.PositiveIntegerField(default=0)
    # {"type", "message"[, "method", "line", "column", "stack"]} when code is not 1.
    error = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            # The Logs page: one app's calls, newest first (keyset on at, id).
            models.Index(fields=["app", "at", "id"], name="call_record_app_time"),
            # Pruning by age: rows arrive in time order, so a BRIN index stays tiny.
            BrinIndex(fields=["at"], name="call_record_at_brin"),
        ]

    def __str__(self) -> str:
        return f"call of {self.method} in app {self.app_id}: {self.code}"
