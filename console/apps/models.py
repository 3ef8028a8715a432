"""An App is one backend: API key, secret key, mode, flags and members with roles."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.conf import settings
from django.db import models


def new_api_key() -> str:
    return str(uuid.uuid4())


def new_secret_key() -> str:
    # 27 random bytes give 36 base64 characters, the shape newer Kumulos secrets had.
    return base64.b64encode(secrets.token_bytes(27)).decode("ascii")


class Mode(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    PRODUCTION = "production", "Production"


class Role(models.TextChoices):
    DEVELOPER = "developer", "Developer"
    OWNER = "owner", "Owner"

    @property
    def rank(self) -> int:
        return {Role.DEVELOPER: 1, Role.OWNER: 2}[self]


class App(models.Model):
    name = models.CharField(max_length=100)
    api_key = models.CharField(max_length=64, unique=True, default=new_api_key)
    # Stored readable: the legacy hashedKey scheme needs the secret itself.
    secret_key = models.CharField(max_length=64, default=new_secret_key)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.DEVELOPMENT)
    suspended = models.BooleanField(default=False)
    kscript_enabled = models.BooleanField(default=False)
    script_timeout_seconds = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="kiln_apps")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class Membership(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "user"], name="one_membership_per_user")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.user_id} is {self.role} of app {self.app_id}"
