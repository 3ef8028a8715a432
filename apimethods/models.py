"""Deployments: immutable snapshots of all of an app's methods, the only thing clients see."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from console.apps.models import App


class Deployment(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="deployments")
    number = models.PositiveIntegerField()
    # {"methods": {alias: {"kind": ..., ...}}}; written once, never updated.
    snapshot = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    # A rollback is a new deployment holding an earlier one's snapshot; this is that
    # earlier deployment's number (None for a deploy of the current methods).
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "number"], name="one_number_per_deployment")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"deployment {self.number} of app {self.app_id}"


class LiveDeployment(models.Model):
    """Which deployment an app's clients see; switching is one row update, so atomic."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, primary_key=True, related_name="live")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return f"app {self.app_id} serves deployment {self.deployment_id}"


class ReturnType(models.TextChoices):
    OBJECTS = "objects", "Objects"
    NUMBER = "number", "Number"


class MethodBase(models.Model):
    """What both kinds of method keep on their row: how to find and list them. The
    definition lives in numbered revisions (RevisionBase); `latest_revision` is the newest."""

    title = models.CharField(max_length=100)
    # lowerCamelCase of the title: what clients call and what `include` names; unique
    # among the app's KScripts *and* API methods (checked on save).
    name = models.CharField(max_length=100)
    latest_revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The label __str__ uses ("KScript", "API method").
    kind_label = ""

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.kind_label} {self.name} of app {self.app_id}"  # type: ignore[attr-defined]


class RevisionBase(models.Model):
    """One saved state of a method; a subclass adds `method` and the definition fields."""

    number = models.PositiveIntegerField()
    title = models.CharField(max_length=100)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    kind_label = ""  # as on the method

    class Meta:
        abstract = True
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.kind_label} {self.method_id}"  # type: ignore[attr-defined]


class KScriptMethod(MethodBase):
    """A server-side JavaScript method."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="kscripts")
    kind_label = "KScript"

    class Meta(MethodBase.Meta):
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="one_kscript_per_name")]


class KScriptRevision(RevisionBase):
    method = models.ForeignKey(KScriptMethod, on_delete=models.CASCADE, related_name="revisions")
    return_type = models.CharField(max_length=16, choices=ReturnType.choices, default=ReturnType.OBJECTS)
    # [{"name": "userID", "type": "integer"}, ...] in declaration order.
    params = models.JSONField(default=list)
    code = models.TextField(blank=True)
    kind_label = "KScript"

    class Meta(RevisionBase.Meta):
        constraints = [models.UniqueConstraint(fields=["method", "number"], name="one_number_per_revision")]


class KScriptDraft(models.Model):
    """One person's working text of a method, saved as they type. Not a revision: it has
    no number, nobody else sees it, and saving a revision (or discarding) removes it."""

    method = models.ForeignKey(KScriptMethod, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kscript_drafts")
    code = models.TextField(blank=True)
    # The revision the text was edited from: a later revision by anyone is a conflict.
    base_revision = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["method", "user"], name="one_kscript_draft_per_user")]

    def __str__(self) -> str:
        return f"draft of {self.method_id} by {self.user_id}"


class ApiMethod(MethodBase):
    """A drag-and-drop API method: a primary table, input parameters and a tree of actions
    (apimethods/actions)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_methods")
    kind_label = "API method"

    class Meta(MethodBase.Meta):
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="one_api_method_per_name")]


class ApiMethodRevision(RevisionBase):
    method = models.ForeignKey(ApiMethod, on_delete=models.CASCADE, related_name="revisions")
    # {"table", "params", "actions", "returned"} by table and field names (docs/app-format.md).
    definition = models.JSONField(default=dict)
    kind_label = "API method"

    class Meta(RevisionBase.Meta):
        constraints = [models.UniqueConstraint(fields=["method", "number"], name="one_number_per_api_method_revision")]
