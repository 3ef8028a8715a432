"""Every write to apps and memberships goes through these functions."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from rest_framework.exceptions import NotFound, ValidationError

from console.apps.models import App, Membership, Role, new_secret_key
from console.errors import BadRequest


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError({"name": ["Give the app a name."]})
    if len(cleaned) > 100:
        raise ValidationError({"name": ["Keep the name to 100 characters or fewer."]})
    return cleaned


@transaction.atomic
def create_app(owner: AbstractBaseUser, name: str) -> App:
    app = App.objects.create(name=_clean_name(name))
    Membership.objects.create(app=app, user=owner, role=Role.OWNER)
    return app


@transaction.atomic
def rename_app(app: App, name: str) -> App:
    app.name = _clean_name(name)
    app.save(update_fields=["name", "updated_at"])
    return app


@transaction.atomic
def delete_app(app: App) -> None:
    from console.tables.isolation import drop_app_space

    # The app's data schema and its role go in the same transaction as the app.
    drop_app_space(app.pk)
    app.delete()


@transaction.atomic
def rotate_secret(app: App) -> App:
    app.secret_key = new_secret_key()
    app.save(update_fields=["secret_key", "updated_at"])
    return app


# What a key may hold: it sits in URL paths (/b2.2/{apiKey}/…) and before the ":" of Basic
# auth, so printable ASCII without spaces, "/", "?", "#", "%" or ":"; a secret only needs
# to be printable ASCII without spaces (Basic auth splits on the first ":").
_API_KEY_CHARS = re.compile(r"[!-~]{1,64}")
_API_KEY_FORBIDDEN = re.compile(r"[/?#%:]")
_SECRET_KEY_CHARS = re.compile(r"[!-~]{1,64}")


@transaction.atomic
def set_keys(app: App, *, api_key: str | None = None, secret_key: str | None = None) -> App:
    """Give the app the keys an existing Kumulos app was built with (docs/kumulos-clients.md),
    so its unchanged clients authenticate here."""
    fields = ["updated_at"]
    if api_key is not None:
        if not _API_KEY_CHARS.fullmatch(api_key) or _API_KEY_FORBIDDEN.search(api_key):
            raise ValidationError({"api_key": ["1 to 64 printable ASCII characters, no spaces, / ? # % or :."]})
        if App.objects.filter(api_key=api_key).exclude(pk=app.pk).exists():
            raise ValidationError({"api_key": ["Another app has this API key."]})
        app.api_key = api_key
        fields.append("api_key")
    if secret_key is not None:
        if not _SECRET_KEY_CHARS.fullmatch(secret_key):
            raise ValidationError({"secret_key": ["1 to 64 printable ASCII characters, no spaces."]})
        app.secret_key = secret_key
        fields.append("secret_key")
    app.save(update_fields=fields)
    return app


@transaction.atomic
def set_platform_flags(app: App, *, kscript_enabled: bool | None = None, suspended: bool | None = None) -> App:
    """Platform-admin switches; callers check that the user is staff."""
    fields = ["updated_at"]
    if kscript_enabled is not None:
        app.kscript_enabled = kscript_enabled
        fields.append("kscript_enabled")
    if suspended is not None:
        app.suspended = suspended
        fields.append("suspended")
    app.save(update_fields=fields)
    return app


@transaction.atomic
def add_member(app: App, username: str, role: Role) -> Membership:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": [f"No user is called {username!r}."]})
    if Membership.objects.filter(app=app, user=user).exists():
        raise ValidationError({"username": [f"{username} is already a member."]})
    return Membership.objects.create(app=app, user=user, role=role)


def _membership(app: App, user_id: int) -> Membership:
    membership = Membership.objects.select_for_update().select_related("user").filter(app=app, user_id=user_id).first()
    if membership is None:
        raise NotFound("No such member.")
    return membership


def _ensure_another_owner(app: App, leaving: Membership) -> None:
    if leaving.role != Role.OWNER:
        return
    others = Membership.objects.select_for_update().filter(app=app, role=Role.OWNER).exclude(pk=leaving.pk)
    if not others.exists():
        raise BadRequest("An app needs at least one owner; make someone else owner first.")


@transaction.atomic
def change_member_role(app: App, user_id: int, role: Role) -> Membership:
    membership = _membership(app, user_id)
    if role != Role.OWNER:
        _ensure_another_owner(app, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(app: App, user_id: int) -> None:
    membership = _membership(app, user_id)
    _ensure_another_owner(app, membership)
    membership.delete()
