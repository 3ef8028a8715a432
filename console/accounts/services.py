"""Writes to user accounts."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY, get_user_model, password_validation
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError


@transaction.atomic
def create_user(*, username: str, email: str, password: str, is_staff: bool) -> AbstractUser:
    User = get_user_model()
    username = username.strip()
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = [f"{username!r} is taken."]
    try:
        password_validation.validate_password(password, User(username=username, email=email))
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User(username=username, email=email, is_staff=is_staff, is_superuser=is_staff)
    user.set_password(password)
    user.save()
    return user


def end_sessions(user: AbstractUser) -> int:
    """Deletes every live console session of `user`; returns how many ended."""
    # Sessions are signed blobs keyed by a random id, so the owner is only known after
    # decoding each one. A console has few live sessions; this runs on rare admin writes.
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def update_user(
    user: AbstractUser,
    *,
    actor: AbstractUser,
    username: str | None = None,
    email: str | None = None,
    is_staff: bool | None = None,
    is_active: bool | None = None,
) -> AbstractUser:
    """Edits a user as a platform administrator; disabling one ends their sessions."""
    User = get_user_model()
    user = User.objects.select_for_update().get(pk=user.pk)
    errors: dict[str, list[str]] = {}
    if username is not None:
        username = username.strip()
        if User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
            errors["username"] = [f"{username!r} is taken."]
    # An administrator who could demote or disable themselves could leave the server
    # with nobody able to open the platform page again.
    if user.pk == actor.pk and is_staff is False:
        errors["is_staff"] = ["You cannot remove your own administrator rights."]
    if user.pk == actor.pk and is_active is False:
        errors["is_active"] = ["You cannot disable your own account."]
    if errors:
        raise ValidationError(errors)
    if username is not None:
        user.username = username
    if email is not None:
        user.email = email
    if is_staff is not None:
        user.is_staff = is_staff
        user.is_superuser = is_staff
    if is_active is not None:
        user.is_active = is_active
    user.save()
    if is_active is False:
        end_sessions(user)
    return user


@transaction.atomic
def change_password(user: AbstractUser, *, current_password: str, new_password: str) -> AbstractUser:
    """Sets a new password after checking the current one (the caller keeps its own session)."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    errors: dict[str, list[str]] = {}
    if not user.check_password(current_password):
        errors["current_password"] = ["The current password is wrong."]
    else:
        try:
            password_validation.validate_password(new_password, user)
        except DjangoValidationError as exc:
            errors["new_password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    return user
