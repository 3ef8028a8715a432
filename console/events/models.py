"""The client event stream of an app (what the Kumulos SDKs upload), the app's users with
the attributes the SDKs associate, the installs that sent events, and automations: rules
that run a deployed KScript method when a matching event arrives."""

from __future__ import annotations

from django.db import models

from console.apps.models import App


class AppUser(models.Model):
    """A user of an app as the SDKs name it (`associateUser(id, attributes)`)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="event_users")
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

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="installs")
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
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="events")
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
