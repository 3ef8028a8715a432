"""Reads of apps and memberships, and the access check every app endpoint uses."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, PermissionDenied

from console.apps.models import App, Membership, Role


def list_apps_for_user(user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("app").order_by("app__name", "app_id")


def get_role(user: AbstractBaseUser | AnonymousUser, app_id: int) -> Role | None:
    if not user.is_authenticated:
        return None
    role = Membership.objects.filter(user=user, app_id=app_id).values_list("role", flat=True).first()
    return Role(role) if role else None


def access_app(user: AbstractBaseUser | AnonymousUser, app_id: int, required: Role) -> App:
    """Fetch an app the user belongs to with at least `required`; 404 for outsiders."""
    role = get_role(user, app_id)
    if role is None:
        raise NotFound("No such app.")
    if role.rank < Role(required).rank:
        raise PermissionDenied(f"Only an app {Role(required).label.lower()} can do this.")
    app = App.objects.get(pk=app_id)
    app.current_role = role  # type: ignore[attr-defined]
    return app


def ensure_not_suspended(app: App) -> None:
    """What the console starts on an app's behalf (Run It!, an API method's Run, a
    schedule's "Run now") is refused while a platform admin has the app suspended, as
    client calls are (code 16)."""
    if app.suspended:
        raise PermissionDenied("This app is suspended; a platform admin can lift the suspension.")


def get_app_by_api_key(api_key: str) -> App | None:
    return App.objects.filter(api_key=api_key).first()


def app_by_reference(reference: str) -> App | None:
    """The app a command-line argument names: its id or its API key."""
    reference = reference.strip()
    if reference.isdigit():
        return App.objects.filter(pk=int(reference)).first()
    return get_app_by_api_key(reference)
