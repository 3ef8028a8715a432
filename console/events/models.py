"""The client event stream of an app (what the Kumulos SDKs upload), the app's users with
the attributes the SDKs associate, the installs that sent events, and automations: rules
that run a deployed KScript method when a matching event arrives."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from console.apps.models import App
from console.schedules.models import UNFINISHED, RunRecord


class AppUser(models.Model):
    """A user of an app as the SDKs name it (`associateUser(id, attributes)`)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="event_users", db_index=False)
    identifier = models.CharField(max_length=255)
    attributes = models.JSONField(default=dict)
    # When the association that set `attributes` happened: an older one uploaded late
    # never overwrites a newer one.
    attributes_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "identifier"], name="one_user_per_identifier")]
        indexes = [models.Index(fields=["app", "-last_seen_at"], name="event_user_last_seen")]

    def __str__(self) -> str:
        return f"user {self.identifier} of app {self.app_id}"


class Install(models.Model):
    """An install of the app that uploaded events, with the last user it was associated with."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="installs", db_index=False)
    install_id = models.CharField(max_length=255)
    # NULL, not "": no user at all, and the event stream's `user` is then null too.
    user_identifier = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    associated_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "install_id"], name="one_install_per_id")]

    def __str__(self) -> str:
        return f"install {self.install_id} of app {self.app_id}"


class Event(models.Model):
    """One analytics event as uploaded. `uuid` is the SDK's, unique per app: an upload the
    device retries (it never saw the answer) stores nothing twice."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own (on all three models here): the unique constraint and the other
    # indexes lead with the app, so deleting an app finds its rows through those, and an
    # index on the app alone cost every stored event one more index entry.
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="events", db_index=False)
    uuid = models.UUIDField()
    type = models.CharField(max_length=200)
    happened_at = models.DateTimeField()
    received_at = models.DateTimeField()
    install_id = models.CharField(max_length=255)
    user_identifier = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "uuid"], name="one_event_per_uuid")]
        indexes = [
            # The event stream's two shapes of query, both in (time, id) order for keyset pages.
            models.Index(fields=["app", "type", "happened_at", "id"], name="event_app_type_time"),
            models.Index(fields=["app", "happened_at", "id"], name="event_app_time"),
        ]

    def __str__(self) -> str:
        return f"event {self.type} {self.uuid} of app {self.app_id}"


class LateEvents(models.TextChoices):
    FIRE = "fire", "Fire anyway"
    DROP = "drop", "Drop when older than N minutes"


class Automation(models.Model):
    """Rules that run deployed KScript methods when a matching event arrives."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="automations")
    name = models.CharField(max_length=100)  # unique per app, case-insensitively
    enabled = models.BooleanField(default=True)
    # Availability, judged at the moment the event happened: between these (either may be
    # open), on these ISO weekdays (1 = Monday … 7 = Sunday; empty = every day) in `timezone`.
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    weekdays = models.JSONField(default=list)
    timezone = models.CharField(max_length=64, default="UTC")
    # Events reach Kiln when the device uploads them, possibly long after they happened.
    late_events = models.CharField(max_length=4, choices=LateEvents.choices, default=LateEvents.FIRE)
    late_after_minutes = models.PositiveIntegerField(null=True, blank=True)  # only for "drop"
    # Kept apart from the run history, which is pruned.
    fired_count = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("name"), "app", name="one_automation_per_name")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"automation {self.name} of app {self.app_id}"


class AutomationRule(models.Model):
    """A trigger (an event type, `*` wildcards allowed, and an audience) and its actions."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(default=0)
    event_type = models.CharField(max_length=200)
    # Filters on the user's attributes, all of which must hold:
    # [{"attribute": "age", "op": "$lt", "value": 30}]; empty: everyone (users or not).
    audience = models.JSONField(default=list)
    # The actions: deployed KScript methods (by name) to run, in this order.
    methods = models.JSONField(default=list)

    class Meta:
        ordering = ["automation", "position", "id"]

    def __str__(self) -> str:
        return f"rule {self.position} of automation {self.automation_id}"


class AutomationRun(RunRecord):
    """One action of a rule fired by one event, whatever became of it."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    action = models.PositiveSmallIntegerField(default=0)  # index into the rule's methods
    method = models.CharField(max_length=100)
    # The idempotency key with the rule and the action: an event fires a rule once.
    event_uuid = models.UUIDField()
    # TRICKY: the event's id, not a foreign key: nothing may reference Event, so deleting an
    # app's events (or the app) is one DELETE, not a collector walking a million rows.
    event_id = models.BigIntegerField(null=True, blank=True)
    user_identifier = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - as Event's
    install_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_uuid", "action"], name="one_run_per_rule_event_action"),
        ]
        indexes = [
            models.Index(fields=["automation", "-queued_at"], name="automation_run_history"),
            models.Index(
                fields=["status", "deadline_at"], name="automation_run_unfinished", condition=Q(status__in=UNFINISHED)
            ),
            models.Index(fields=["queued_at"], name="automation_run_queued"),
        ]
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"run of rule {self.rule_id} for event {self.event_uuid}: {self.status}"
