"""Console JSON API for KScript methods (revisions, working drafts, Run It!) and
deployments (deploy, what it would change, rollback)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apimethods import deploys, drafts, ide, services
from apimethods.models import Deployment, KScriptDraft, KScriptMethod, KScriptRevision, LiveDeployment
from apimethods.revisions import (
    MethodDetailView,
    MethodListView,
    MethodRunView,
    MethodScopedView,
    RevisionDetailView,
    RevisionListView,
)
from apimethods.wire import PARAM_TYPES
from console.api import AppScopedAPIView


class ParamSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=sorted(PARAM_TYPES))


class KScriptWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=100)
    return_type = serializers.CharField(max_length=16, default="objects")
    params = serializers.JSONField(default=list)
    code = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1_000_000, default="")
    base_revision = serializers.IntegerField(required=False, allow_null=True)
    overwrite = serializers.BooleanField(default=False)
    # The console's Save keeps code that does not parse (Run It! and deploy refuse it);
    # the answer then carries `syntax_error`. Everything else refuses it with a 400.
    allow_syntax_errors = serializers.BooleanField(default=False)


_DEFINITION = ("title", "return_type", "params", "code")


def _validated(request: Request) -> dict[str, Any]:
    data = KScriptWriteSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def revision_data(revision: KScriptRevision) -> dict[str, Any]:
    method = revision.method
    return {
        "id": method.id,
        "name": method.name,
        "title": revision.title,
        "return_type": revision.return_type,
        "params": revision.params,
        "code": revision.code,
        "revision": revision.number,
        "latest_revision": method.latest_revision,
        "author": revision.author.username if revision.author else None,
        "saved_at": revision.created_at.isoformat(),
    }


class KScriptScopedView(MethodScopedView):
    kind = "kscript"
    method_model = KScriptMethod
    revision_model = KScriptRevision

    def check_enabled(self) -> None:
        services.ensure_kscript_enabled(self.app)

    def revision_data(self, revision: KScriptRevision) -> dict[str, Any]:
        return revision_data(revision)

    def latest_data(self, revision: KScriptRevision) -> dict[str, Any]:
        """Also where its code stops parsing (Save may keep such code)."""
        return {**revision_data(revision), "syntax_error": services.syntax_error(revision.code, revision.method.name)}

    def summary(self, revision: KScriptRevision) -> dict[str, Any]:
        return {"return_type": revision.return_type, "params": revision.params}

    def latest_revisions(self) -> list[KScriptRevision]:
        return services.latest_revisions(self.app)

    def create(self, request: Request) -> KScriptRevision:
        data = _validated(request)
        return services.create_kscript(self.app, request.user, **{k: data[k] for k in _DEFINITION})

    def save(self, method: KScriptMethod, request: Request) -> dict[str, Any]:
        data = _validated(request)
        allow_syntax_errors = data["allow_syntax_errors"]
        revision = services.save_kscript(
            method,
            request.user,
            base_revision=data.get("base_revision"),
            overwrite=data["overwrite"],
            allow_syntax_errors=allow_syntax_errors,
            **{k: data[k] for k in _DEFINITION},
        )
        syntax = services.syntax_error(revision.code, revision.method.name) if allow_syntax_errors else None
        return {**revision_data(revision), "syntax_error": syntax}

    def delete_method(self, method: KScriptMethod) -> None:
        services.delete_kscript(method)


@extend_schema_view(post=extend_schema(request=KScriptWriteSerializer))
class KScriptListView(KScriptScopedView, MethodListView):
    pass


@lru_cache(maxsize=256)
def _typings(params: tuple[tuple[str, str], ...] = ()) -> str:
    from runtime.typings import render_dts

    return render_dts(params)


class KScriptTypingsView(KScriptScopedView):
    """The K API as a TypeScript declaration file, for the IDE's completion, with this
    app's table aliases, fields and method names (apimethods.ide)."""

    def get(self, request: Request, app_id: int) -> HttpResponse:
        """With `?method=<id>`, K.params is typed as that method's latest parameters."""
        services.ensure_kscript_enabled(self.app)
        params: tuple[tuple[str, str], ...] = ()
        method_id = request.query_params.get("method", "")
        if method_id:
            if not method_id.isdigit():
                return Response({"method": ["Give a method id."]}, status=status.HTTP_400_BAD_REQUEST)
            method = self.method(int(method_id))
            latest = method.revisions.get(number=method.latest_revision)
            params = tuple((p["name"], p["type"]) for p in latest.params)
        dts = _typings(params) + "\n" + ide.render_app_dts(ide.app_symbols(self.app))
        return HttpResponse(dts, content_type="application/typescript; charset=utf-8")


class KScriptSymbolsView(KScriptScopedView):
    """This app's table aliases (with fields) and method names, for the IDE's Insert picker."""

    def get(self, request: Request, app_id: int) -> Response:
        services.ensure_kscript_enabled(self.app)
        return Response(ide.app_symbols(self.app))


@extend_schema_view(put=extend_schema(request=KScriptWriteSerializer))
class KScriptDetailView(KScriptScopedView, MethodDetailView):
    pass


class DraftSerializer(serializers.Serializer):
    code = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=1_000_000)
    base_revision = serializers.IntegerField()


def draft_data(draft: KScriptDraft, method: KScriptMethod, syntax: dict[str, Any] | None = None) -> dict[str, Any]:
    """The draft, where its code stops parsing, and the newer revision when someone saved
    one after the draft's base (the overwrite warning, seen while typing)."""
    newer = None
    if method.latest_revision > draft.base_revision:
        newer = revision_data(method.revisions.select_related("author").get(number=method.latest_revision))
    return {
        "code": draft.code,
        "base_revision": draft.base_revision,
        "saved_at": draft.updated_at.isoformat(),
        "syntax_error": syntax,
        "latest_revision": method.latest_revision,
        "newer": newer,
    }


class KScriptDraftView(KScriptScopedView):
    """The signed-in person's working text of a method: kept as they type, not a revision."""

    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.method(method_id)
        draft = KScriptDraft.objects.filter(method=method, user=request.user).first()
        return Response({"draft": draft_data(draft, method) if draft else None})

    @extend_schema(request=DraftSerializer)
    def put(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.method(method_id)
        data = DraftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = services.save_draft(
            method, request.user, code=data.validated_data["code"], base_revision=data.validated_data["base_revision"]
        )
        method.refresh_from_db(fields=["latest_revision", "name"])
        return Response(draft_data(draft, method, services.syntax_error(draft.code, method.name)))

    def delete(self, request: Request, app_id: int, method_id: int) -> Response:
        services.discard_draft(self.method(method_id), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class KScriptRevisionListView(KScriptScopedView, RevisionListView):
    pass


class KScriptRevisionDetailView(KScriptScopedView, RevisionDetailView):
    pass


class KScriptRunView(KScriptScopedView, MethodRunView):
    """Run It! of a KScript, as a client session (`session_token`) and watched live by `run_id`."""

    def run(self, method: KScriptMethod, values: dict[str, Any]) -> Response:
        answer = drafts.run_draft(self.app, method, values["params"], values.get("session_token"), values.get("run_id"))
        return Response(answer)


class DeploySerializer(serializers.Serializer):
    # The live deployment's number when the person reviewed the changes (null: none was
    # live); a deploy or rollback after someone else's is refused. Left out: no check.
    expected_live = serializers.IntegerField(required=False, allow_null=True, min_value=1)


def _expected_live(request: Request) -> int | None:
    data = DeploySerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data["expected_live"] if "expected_live" in data.validated_data else services.UNCHECKED


class DeploymentListView(AppScopedAPIView):
    def get(self, request: Request, app_id: int) -> Response:
        deployments = Deployment.objects.filter(app=self.app).select_related("created_by").order_by("-number")[:50]
        live_id = LiveDeployment.objects.filter(app=self.app).values_list("deployment_id", flat=True).first()
        return Response([_deployment_data(d, live=d.pk == live_id) for d in deployments])

    @extend_schema(request=DeploySerializer)
    def post(self, request: Request, app_id: int) -> Response:
        deployment = services.deploy_app(self.app, request.user, _expected_live(request))
        return Response(_deployment_data(deployment, live=True), status=status.HTTP_201_CREATED)


class DeploymentPreviewView(AppScopedAPIView):
    """What deploying now (or `?restore=<number>`: rolling back) changes for clients."""

    def get(self, request: Request, app_id: int) -> Response:
        restore = request.query_params.get("restore", "")
        if restore and not restore.isdigit():
            return Response({"restore": ["Give a deployment number."]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(deploys.preview(self.app, int(restore) if restore else None))


class DeploymentDiffView(AppScopedAPIView):
    """One method's text in two snapshots: `?name=<method>&before=live&after=current`
    (each "live", "current" or a deployment number)."""

    def get(self, request: Request, app_id: int) -> Response:
        name = request.query_params.get("name", "")
        if not name:
            return Response({"name": ["Give a method name."]}, status=status.HTTP_400_BAD_REQUEST)
        before = request.query_params.get("before", "live")
        after = request.query_params.get("after", "current")
        return Response(deploys.method_diff(self.app, name, before, after))


class DeploymentRollbackView(AppScopedAPIView):
    """Make an earlier deployment's methods live again (as a new deployment)."""

    @extend_schema(request=DeploySerializer)
    def post(self, request: Request, app_id: int, number: int) -> Response:
        deployment = services.rollback_app(self.app, request.user, number, _expected_live(request))
        return Response(_deployment_data(deployment, live=True), status=status.HTTP_201_CREATED)


def _deployment_data(deployment: Deployment, *, live: bool) -> dict[str, Any]:
    methods = deployment.snapshot.get("methods", {})
    return {
        **deploys.deployment_summary(deployment),
        "methods": sorted(methods),
        # name -> revision (KScripts and API methods), so the console can tell drafts from live code.
        "revisions": {
            name: m.get("revision") for name, m in sorted(methods.items()) if m.get("kind") in ("kscript", "apimethod")
        },
        "kinds": {name: m.get("kind") for name, m in sorted(methods.items())},
        "live": live,
    }
