"""What a rename breaks: which KScript methods use a table's aliases (for the table
designer's rename dialog), and which deployed name a method's title change retires (for
the method's details dialog). Both are looked up only when a dialog opens, never on a call.

Usage is a text search of the code for any alias the table ever had (whole words, any
case): it cannot tell an alias in a comment from one in a call, and it cannot see an
alias built at run time from pieces. That is enough to warn; it is not a proof."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.shortcuts import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from apimethods.models import KScriptDraft, KScriptMethod, KScriptRevision
from apimethods.naming import method_name
from apimethods.services import live_deployment
from console.api import AppScopedAPIView
from console.apps.models import App
from console.tables import queries
from console.tables.models import Table


def alias_pattern(aliases: list[str]) -> re.Pattern[str]:
    """Any of the aliases as a whole word: `1_2_users` must not match `1_2_users_old`."""
    words = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{words})(?![A-Za-z0-9_])", re.IGNORECASE)


def _deployed_kscripts(app: App) -> dict[str, str]:
    """Deployed name -> code of every KScript the live deployment serves."""
    live = live_deployment(app)
    methods = live.snapshot.get("methods", {}) if live else {}
    return {name: str(m.get("code") or "") for name, m in methods.items() if m.get("kind") == "kscript"}


def _methods_by_name(app_id: int) -> dict[str, KScriptMethod]:
    """Current names, then every former name (from revision titles) no method has now."""
    methods = {m.pk: m for m in KScriptMethod.objects.filter(app_id=app_id)}
    by_name = {m.name: m for m in methods.values()}
    titles = KScriptRevision.objects.filter(method__app_id=app_id).order_by("number").values_list("method_id", "title")
    for method_id, title in titles:
        by_name.setdefault(method_name(title), methods[method_id])
    return by_name


def table_usage(table: Table, user: AbstractBaseUser) -> dict[str, Any]:
    """The methods whose saved code, the user's unsaved draft or deployed code names the table.

    `where` lists, in this order, "deployed" (what clients run now), "saved" (the latest
    revision, deployed by the next deploy) and "draft" (this user's unsaved text). A deployed
    name that a method had before a rename is listed under that name with the method's id
    and current title; one of a deleted method has `id` None."""
    pattern = alias_pattern(table.aliases)
    found: dict[str, dict[str, Any]] = {}

    def note(name: str, method: KScriptMethod | None, where: str) -> None:
        entry = found.setdefault(
            name,
            {"id": method.pk if method else None, "name": name, "title": method.title if method else name, "where": []},
        )
        entry["where"].append(where)

    methods = _methods_by_name(table.app_id)
    for name, code in sorted(_deployed_kscripts(table.app).items()):
        if pattern.search(code):
            note(name, methods.get(name), "deployed")
    latest = KScriptRevision.objects.filter(method__app_id=table.app_id, number=F("method__latest_revision"))
    for revision in latest.select_related("method"):
        if pattern.search(revision.code):
            note(revision.method.name, revision.method, "saved")
    drafts = KScriptDraft.objects.filter(method__app_id=table.app_id, user_id=user.pk).select_related("method")
    for draft in drafts:
        if pattern.search(draft.code):
            note(draft.method.name, draft.method, "draft")
    return {
        "aliases": table.aliases,
        "methods": sorted(found.values(), key=lambda m: m["name"].lower()),
    }


def deployed_names(method: KScriptMethod) -> dict[str, Any]:
    """The names clients call this method by in the live deployment.

    A deployment's snapshot is keyed by name only, so a name is this method's when the
    method ever had it (a revision's title gives it) and no other method has it now."""
    deployed = _deployed_kscripts(method.app)
    own = {method_name(title) for title in method.revisions.values_list("title", flat=True)} | {method.name}
    taken = set(KScriptMethod.objects.filter(app_id=method.app_id).exclude(pk=method.pk).values_list("name", flat=True))
    return {"name": method.name, "deployed": sorted(n for n in own & deployed.keys() if n not in taken)}


class TableUsageView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, table_id: int) -> Response:
        return Response(table_usage(queries.get_table(self.app, table_id), request.user))


class KScriptNamesView(AppScopedAPIView):
    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        return Response(deployed_names(get_object_or_404(KScriptMethod, app=self.app, pk=method_id)))
