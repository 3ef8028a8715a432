"""Writes to KScript methods, their revisions, working drafts and deployments.

A revision is made only when someone saves (Save, Run It!, Deploy); while they type, the
console keeps their working text as a draft per (method, user), which saving a revision
replaces. A deployment freezes the latest revisions; a rollback is a new deployment
holding an earlier one's snapshot.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError

from apimethods.models import (
    ApiMethod,
    ApiMethodRevision,
    Deployment,
    KScriptDraft,
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


# Revisions of both kinds of method (KScripts here, API methods in apimethods.actions.services).

_Revision = TypeVar("_Revision", KScriptRevision, ApiMethodRevision)


def check_base_revision(method: KScriptMethod | ApiMethod, base_revision: int | None, overwrite: bool) -> None:
    """Saving on top of an older revision than the latest is a conflict (someone else
    saved meanwhile) unless the caller says overwrite. `method` is the locked row."""
    if not overwrite and base_revision != method.latest_revision:
        raise RevisionConflict(method.revisions.select_related("author").get(number=method.latest_revision))


def add_revision(
    model: type[_Revision], method: KScriptMethod | ApiMethod, author: AbstractBaseUser | None, **definition: Any
) -> _Revision:
    """The method's next numbered revision, holding `definition` (a title and the kind's
    own fields); the method row takes the title, and the name the caller set on it."""
    method.latest_revision += 1
    method.title = definition["title"]
    method.save(update_fields=["latest_revision", "title", "name", "updated_at"])
    return model.objects.create(method=method, number=method.latest_revision, author=author, **definition)


def latest_revisions_of(model: type[_Revision], app: App) -> list[_Revision]:
    """Each method's latest revision of one kind, by method name, in one query."""
    return list(
        model.objects.filter(method__app=app, number=F("method__latest_revision"))
        .select_related("method", "author")
        .order_by("method__name")
    )


def name_error(app: App, name: str, *, api_method: int | None = None, kscript: int | None = None) -> str | None:
    """Why `name` (a title's method name) cannot name a method of the app, or None.
    API methods and KScripts share one namespace, ignoring case: clients call either by
    name. `api_method` / `kscript`: the method being saved, which may keep its name."""
    if not NAME.match(name or ""):
        return "Start the title with a letter; use letters, digits, spaces and _."
    others = ApiMethod.objects.filter(app=app, name__iexact=name).exclude(pk=api_method)
    scripts = KScriptMethod.objects.filter(app=app, name__iexact=name).exclude(pk=kscript)
    if others.exists() or scripts.exists():
        return f"Another method of this app is already called {name}."
    return None


def ensure_kscript_enabled(app: App) -> None:
    if not app.kscript_enabled:
        raise PermissionDenied("KScript is not enabled for this app; a platform admin can switch it on.")


def syntax_error(code: str, name: str) -> dict[str, Any] | None:
    """Where V8 stops parsing `code`, as {line, column, message}; None when it parses."""
    from runtime import check_syntax

    found = check_syntax(code, method_name=name or "method")
    if found is None:
        return None
    return {"line": found.line, "column": found.column, "message": found.message}


def syntax_message(error: dict[str, Any]) -> str:
    return f"Line {error['line']}, column {error['column']}: {error['message']}"


def _validate_definition(
    app: App, title: str, return_type: str, params: Any, code: str, exclude: int | None, check_code: bool = True
) -> str:
    errors: dict[str, Any] = {}
    name = method_name(title)
    title_error = name_error(app, name, kscript=exclude)
    if title_error is not None:
        errors["title"] = [title_error]
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
    syntax = syntax_error(code, name) if check_code else None
    if syntax is not None:
        errors["code"] = [syntax_message(syntax)]
    if errors:
        raise ValidationError(errors)
    return name


@transaction.atomic
def create_kscript(
    app: App, author: AbstractBaseUser | None, *, title: str, return_type: str, params: list[dict[str, str]], code: str
) -> KScriptRevision:
    ensure_kscript_enabled(app)
    name = _validate_definition(app, title, return_type, params, code, exclude=None)
    method = KScriptMethod.objects.create(app=app, title=title, name=name)
    return add_revision(KScriptRevision, method, author, title=title, return_type=return_type, params=params, code=code)


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
    allow_syntax_errors: bool = False,
) -> KScriptRevision:
    """Save a new revision. Saving on top of an older revision than the latest is a
    conflict (someone else saved meanwhile) unless the caller says overwrite. The
    console's Save may keep code that does not parse (`allow_syntax_errors`): Run It! and
    deploy refuse it, nothing else does. The author's working draft is now this revision."""
    ensure_kscript_enabled(method.app)
    method = KScriptMethod.objects.select_for_update().get(pk=method.pk)
    check_base_revision(method, base_revision, overwrite)
    method.name = _validate_definition(
        method.app, title, return_type, params, code, exclude=method.pk, check_code=not allow_syntax_errors
    )
    revision = add_revision(
        KScriptRevision, method, author, title=title, return_type=return_type, params=params, code=code
    )
    if author is not None:
        KScriptDraft.objects.filter(method=method, user=author).delete()
    return revision


@transaction.atomic
def save_draft(method: KScriptMethod, user: AbstractBaseUser, *, code: str, base_revision: int) -> KScriptDraft:
    """Keep `user`'s working text of `method` (edited from `base_revision`); no revision."""
    ensure_kscript_enabled(method.app)
    if not 1 <= base_revision <= method.latest_revision:
        raise ValidationError({"base_revision": [f"Give a revision of this method (1 to {method.latest_revision})."]})
    draft, _ = KScriptDraft.objects.update_or_create(
        method=method, user=user, defaults={"code": code, "base_revision": base_revision}
    )
    return draft


@transaction.atomic
def discard_draft(method: KScriptMethod, user: AbstractBaseUser) -> None:
    ensure_kscript_enabled(method.app)
    KScriptDraft.objects.filter(method=method, user=user).delete()


@transaction.atomic
def delete_kscript(method: KScriptMethod) -> None:
    ensure_kscript_enabled(method.app)
    method.delete()


def latest_revisions(app: App) -> list[KScriptRevision]:
    """Each KScript's latest revision, by method name, in one query."""
    return latest_revisions_of(KScriptRevision, app)


def snapshot_methods_of_kscripts(app: App) -> dict[str, dict[str, Any]]:
    """The deployable form of every KScript (latest revisions)."""
    return {
        revision.method.name: {
            "kind": "kscript",
            "revision": revision.number,
            "return_type": revision.return_type,
            "params": [[p["name"], p["type"]] for p in revision.params],
            "code": revision.code,
        }
        for revision in latest_revisions(app)
    }


def snapshot_methods(app: App) -> dict[str, dict[str, Any]]:
    """The deployable form of every method of the app (drafts as they are now): KScripts
    and API methods (ValidationError when an API method does not fit the tables)."""
    from apimethods.actions.services import snapshot as api_method_snapshot

    methods: dict[str, dict[str, Any]] = api_method_snapshot(app)
    if app.kscript_enabled:
        methods.update(snapshot_methods_of_kscripts(app))
    return methods


class LiveMoved(APIException):
    """The live deployment changed after the person reviewed what a deploy would change."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "live_deployment_moved"

    def __init__(self, live: Deployment | None) -> None:
        if live is None:
            message = "Nothing is live any more; review the changes again."
        else:
            who = live.created_by.username if live.created_by else "someone"
            message = f"Deployment #{live.number} by {who} went live after you reviewed the changes; review them again."
        super().__init__(message)
        self.payload = {"detail": message, "live": live.number if live else None}


# Passed as `expected_live` by callers that did not review anything (the shell, imports).
UNCHECKED = -1


def live_deployment(app: App) -> Deployment | None:
    live = LiveDeployment.objects.filter(app=app).select_related("deployment__created_by").first()
    return live.deployment if live else None


def _check_live(app: App, expected_live: int | None) -> None:
    if expected_live == UNCHECKED:
        return
    live = live_deployment(app)
    if (live.number if live else None) != expected_live:
        raise LiveMoved(live)


def kscript_syntax_problems(methods: dict[str, dict[str, Any]]) -> list[str]:
    """ "name: Line l, column c: message" for every KScript in a snapshot that does not parse."""
    problems = []
    for name, spec in sorted(methods.items()):
        if spec.get("kind") == "kscript":
            error = syntax_error(spec.get("code", ""), name)
            if error is not None:
                problems.append(f"{name}: {syntax_message(error)}")
    return problems


def _next_number(app: App) -> int:
    last = Deployment.objects.filter(app=app).order_by("-number").values_list("number", flat=True).first() or 0
    return last + 1


def _go_live(
    app: App, author: AbstractBaseUser | None, methods: dict[str, Any], restored_from: int | None
) -> Deployment:
    deployment = Deployment.objects.create(
        app=app,
        number=_next_number(app),
        snapshot={"methods": methods},
        created_by=author,
        restored_from=restored_from,
    )
    LiveDeployment.objects.update_or_create(app=app, defaults={"deployment": deployment})
    return deployment


@transaction.atomic
def deploy_app(app: App, author: AbstractBaseUser | None, expected_live: int | None = UNCHECKED) -> Deployment:
    """Freeze all current methods into a new immutable deployment and make it live. A
    KScript that does not parse stops the deploy (400 naming it, line and column), so
    clients never get a broken method. With `expected_live`, the deploy happens only if
    that deployment (None: none) is still the live one."""
    App.objects.select_for_update().filter(pk=app.pk).first()  # serialise concurrent deploys
    _check_live(app, expected_live)
    methods = snapshot_methods(app)
    problems = kscript_syntax_problems(methods)
    if problems:
        raise ValidationError({"kscripts": problems})
    return _go_live(app, author, methods, restored_from=None)


def api_method_problems(app: App, methods: dict[str, dict[str, Any]]) -> list[str]:
    """API methods of a snapshot that no longer fit the app's tables (renamed or dropped)."""
    from apimethods.actions import model
    from apimethods.actions.execute import load_schema

    schema = None
    problems = []
    for name, spec in sorted(methods.items()):
        if spec.get("kind") != "apimethod":
            continue
        schema = schema or load_schema(app.pk)
        try:
            found = model.check(model.parse(spec.get("definition", {})), schema)
        except model.DefinitionError as exc:
            found = exc.errors
        if found:
            place, messages = next(iter(found.items()))
            problems.append(f"{name}: {place}: {messages[0]}")
    return problems


@transaction.atomic
def rollback_app(
    app: App, author: AbstractBaseUser | None, number: int, expected_live: int | None = UNCHECKED
) -> Deployment:
    """Make deployment `number`'s methods live again, as a new deployment with its
    snapshot (history only grows; the new one says where it came from). Refused when an
    API method of that snapshot no longer fits the tables."""
    App.objects.select_for_update().filter(pk=app.pk).first()
    _check_live(app, expected_live)
    old = Deployment.objects.filter(app=app, number=number).first()
    if old is None:
        raise NotFound(f"This app has no deployment #{number}.")
    live = live_deployment(app)
    if live is not None and live.pk == old.pk:
        raise ValidationError({"deployment": [f"Deployment #{number} is already live."]})
    methods = old.snapshot.get("methods", {})
    problems = api_method_problems(app, methods) + kscript_syntax_problems(methods)
    if problems:
        raise ValidationError({"deployment": [f"Deployment #{number} cannot go live again:", *problems]})
    return _go_live(app, author, methods, restored_from=old.number)
