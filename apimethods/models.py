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


class KScriptMethod(models.Model):
    """A server-side JavaScript method. Its definition lives in numbered revisions; the
    row holds what is needed to find and list it."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="kscripts")
    title = models.CharField(max_length=100)
    # lowerCamelCase of the title: what clients call and what `include` names.
    name = models.CharField(max_length=100)
    latest_revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="one_kscript_per_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"KScript {self.name} of app {self.app_id}"


class KScriptRevision(models.Model):
    method = models.ForeignKey(KScriptMethod, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=100)
    return_type = models.CharField(max_length=16, choices=ReturnType.choices, default=ReturnType.OBJECTS)
    # [{"name": "userID", "type": "integer"}, ...] in declaration order.
    params = models.JSONField(default=list)
    code = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["method", "number"], name="one_number_per_revision")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.method_id}"


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


class ApiMethod(models.Model):
    """A drag-and-drop API method: a primary table, input parameters and a tree of actions
    (apimethods/actions). Like KScripts, its definition lives in numbered revisions."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_methods")
    title = models.CharField(max_length=100)
    # lowerCamelCase of the title; unique among the app's API methods and KScripts.
    name = models.CharField(max_length=100)
    latest_revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="one_api_method_per_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"API method {self.name} of app {self.app_id}"


class ApiMethodRevision(models.Model):
    method = models.ForeignKey(ApiMethod, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=100)
    # {"table", "params", "actions", "returned"} by table and field names (docs/app-format.md).
    definition = models.JSONField(default=dict)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["method", "number"], name="one_number_per_api_method_revision")
        ]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"revision {self.number} of API method {self.method_id}"
