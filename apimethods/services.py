"""Writes to KScript methods, their revisions and deployments."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError

from apimethods.models import (
    ApiMethod,
    ApiMethodRevision,
    Deployment,
    KScriptMethod,
    KScriptRevision,
    LiveDeployment,
    ReturnType,
)
from apimethods.naming import NAME, method_name
from apimethods.wire import PARAM_TYPES
from console.apps.models import App


class RevisionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "revision_conflict"

    def __init__(self, latest: KScriptRevision | ApiMethodRevision) -> None:
        author = latest.author.username if latest.author else "someone"
        message = f"Revision {latest.number} by {author} is newer than the one you edited."
        super().__init__(message)
        # Sent as is (DRF would turn the numbers in a dict detail into strings).
        self.payload = {
            "detail": message,
            "latest_revision": latest.number,
            "author": author,
            "saved_at": latest.created_at.isoformat(),
        }


def ensure_kscript_enabled(app: App) -> None:
    if not app.kscript_enabled:
        raise PermissionDenied("KScript is not enabled for this app; a platform admin can switch it on.")


def _validate_definition(app: App, title: str, return_type: str, params: Any, code: str, exclude: int | None) -> str:
    from runtime import check_syntax

    errors: dict[str, Any] = {}
    name = method_name(title)
    if not NAME.match(name or ""):
        errors["title"] = ["Start the title with a letter; use letters, digits, spaces and _."]
    elif KScriptMethod.objects.filter(app=app, name__iexact=name).exclude(pk=exclude).exists() or (
        ApiMethod.objects.filter(app=app, name__iexact=name).exists()
    ):
        errors["title"] = [f"Another method of this app is already called {name}."]
    if return_type not in ReturnType.values:
        errors["return_type"] = [f"Choose one of: {', '.join(ReturnType.values)}."]
    if not isinstance(params, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and p.get("type") in PARAM_TYPES for p in params
    ):
        errors["params"] = [f"A list of {{name, type}} with type one of: {', '.join(sorted(PARAM_TYPES))}."]
    else:
        names = [p["name"] for p in params]
        bad = [n for n in names if not NAME.match(n)]
        if bad:
            errors["params"] = [f"{bad[0]!r} is not a parameter name (letters, digits and _)."]
        elif len(set(names)) != len(names):
            errors["params"] = ["Parameter names must be unique."]
    syntax = check_syntax(code, method_name=name or "method")
    if syntax is not None:
        errors["code"] = [f"Line {syntax.line}, column {syntax.column}: {syntax.message}"]
    if errors:
        raise ValidationError(errors)
    return name


def _add_revision(method: KScriptMethod, author: AbstractBaseUser | None, **definition: Any) -> KScriptRevision:
    method.latest_revision += 1
    method.title = definition["title"]
    method.save(update_fields=["latest_revision", "title", "name", "updated_at"])
    return KScriptRevision.objects.create(method=method, number=method.latest_revision, author=author, **definition)


@transaction.atomic
def create_kscript(
    app: App, author: AbstractBaseUser | None, *, title: str, return_type: str, params: list[dict[str, str]], code: str
) -> KScriptRevision:
    ensure_kscript_enabled(app)
    name = _validate_definition(app, title, return_type, params, code, exclude=None)
    method = KScriptMethod.objects.create(app=app, title=title, name=name)
    return _add_revision(method, author, title=title, return_type=return_type, params=params, code=code)


@transaction.atomic
def save_kscript(
    method: KScriptMethod,
    author: AbstractBaseUser | None,
    *,
    base_revision: int | None,
    overwrite: bool = False,
    title: str,
    return_type: str,
    params: list[dict[str, str]],
    code: str,
) -> KScriptRevision:
    """Save a new revision. Saving on top of an older revision than the latest is a
    conflict (someone else saved meanwhile) unless the caller says overwrite."""
    ensure_kscript_enabled(method.app)
    method = KScriptMethod.objects.select_for_update().get(pk=method.pk)
    if not overwrite and base_revision != method.latest_revision:
        raise RevisionConflict(method.revisions.select_related("author").get(number=method.latest_revision))
    method.name = _validate_definition(method.app, title, return_type, params, code, exclude=method.pk)
    return _add_revision(method, author, title=title, return_type=return_type, params=params, code=code)


@transaction.atomic
def delete_kscript(method: KScriptMethod) -> None:
    ensure_kscript_enabled(method.app)
    method.delete()


def latest_revisions(app: App) -> list[KScriptRevision]:
    """Each method's latest revision, by method name, in one query."""
    return list(
        KScriptRevision.objects.filter(method__app=app, number=F("method__latest_revision"))
        .select_related("method", "author")
        .order_by("method__name")
    )


def snapshot_methods(app: App) -> dict[str, dict[str, Any]]:
    """The deployable form of every method of the app (drafts as they are now): KScripts
    and API methods (ValidationError when an API method does not fit the tables)."""
    from apimethods.actions.services import snapshot as api_method_snapshot

    methods: dict[str, dict[str, Any]] = api_method_snapshot(app)
    if app.kscript_enabled:
        for revision in latest_revisions(app):
            methods[revision.method.name] = {
                "kind": "kscript",
                "revision": revision.number,
                "return_type": revision.return_type,
                "params": [[p["name"], p["type"]] for p in revision.params],
                "code": revision.code,
            }
    return methods


@transaction.atomic
def deploy_app(app: App, author: AbstractBaseUser | None) -> Deployment:
    """Freeze all current methods into a new immutable deployment and make it live."""
    App.objects.select_for_update().filter(pk=app.pk).first()  # serialise concurrent deploys
    last = Deployment.objects.filter(app=app).order_by("-number").values_list("number", flat=True).first() or 0
    deployment = Deployment.objects.create(
        app=app, number=last + 1, snapshot={"methods": snapshot_methods(app)}, created_by=author
    )
    LiveDeployment.objects.update_or_create(app=app, defaults={"deployment": deployment})
    return deployment
