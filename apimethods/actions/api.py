"""Console JSON API for API methods: revisions, Run, impact of a schema change.

Same access rules as the KScript endpoints (AppScopedAPIView: developers and owners;
outsiders get 404), without the KScript switch: API methods need no V8.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from apimethods.actions import model, services
from apimethods.actions.execute import load_schema, run_draft
from apimethods.api import RunSerializer, _live_deployment
from apimethods.models import ApiMethod, ApiMethodRevision
from apimethods.wire import WireError
from console.api import AppScopedAPIView

_CONTROL_KEYS = ("title", "base_revision", "overwrite")


class ApiMethodWriteSerializer(serializers.Serializer):
    """The title and revision control; the definition (table, params, actions, returned)
    sits beside them in the body and is checked by apimethods.actions.model."""

    title = serializers.CharField(max_length=100)
    table = serializers.JSONField(required=False, allow_null=True)
    params = serializers.JSONField(required=False, allow_null=True)
    actions = serializers.JSONField(required=False, allow_null=True)
    returned = serializers.JSONField(required=False, allow_null=True)
    base_revision = serializers.IntegerField(required=False, allow_null=True)
    overwrite = serializers.BooleanField(default=False)


def _definition(request: Request) -> dict[str, Any]:
    data = request.data if isinstance(request.data, dict) else {}
    return {key: value for key, value in data.items() if key not in _CONTROL_KEYS}


def _signature(revision: ApiMethodRevision, schema: model.SchemaMeta) -> dict[str, Any] | None:
    try:
        return model.signature(model.parse(revision.definition), schema, revision.method.name)
    except model.DefinitionError:
        return None


def revision_data(revision: ApiMethodRevision, schema: model.SchemaMeta) -> dict[str, Any]:
    method = revision.method
    return {
        "id": method.id,
        "kind": "apimethod",
        "name": method.name,
        "title": revision.title,
        **revision.definition,
        "revision": revision.number,
        "latest_revision": method.latest_revision,
        "author": revision.author.username if revision.author else None,
        "saved_at": revision.created_at.isoformat(),
        "signature": _signature(revision, schema),
        # What no longer fits the tables (a table or field renamed or dropped since).
        "problems": services.problems(revision, schema),
    }


class ApiMethodScopedView(AppScopedAPIView):
    def api_method(self, method_id: int) -> ApiMethod:
        return get_object_or_404(ApiMethod, app=self.app, pk=method_id)


class ApiMethodListView(ApiMethodScopedView):
    def get(self, request: Request, app_id: int) -> Response:
        schema = load_schema(self.app.pk)
        live = _live_deployment(self.app.pk)
        deployed = live.snapshot.get("methods", {}) if live else {}
        out = []
        for revision in services.latest_revisions(self.app):
            method = revision.method
            spec = deployed.get(method.name)
            out.append(
                {
                    "id": method.id,
                    "kind": "apimethod",
                    "name": method.name,
                    "title": method.title,
                    "table": revision.definition.get("table"),
                    "latest_revision": method.latest_revision,
                    "author": revision.author.username if revision.author else None,
                    "saved_at": revision.created_at.isoformat(),
                    "updated_at": method.updated_at.isoformat(),
                    "deployed_revision": spec.get("revision") if spec and spec.get("kind") == "apimethod" else None,
                    "signature": _signature(revision, schema),
                    "problems": services.problems(revision, schema),
                }
            )
        return Response(out)

    @extend_schema(request=ApiMethodWriteSerializer)
    def post(self, request: Request, app_id: int) -> Response:
        data = ApiMethodWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.create_api_method(
            self.app, request.user, title=data.validated_data["title"], definition=_definition(request)
        )
        return Response(revision_data(revision, load_schema(self.app.pk)), status=status.HTTP_201_CREATED)


class ApiMethodDetailView(ApiMethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.api_method(method_id)
        revision = method.revisions.select_related("author", "method").get(number=method.latest_revision)
        return Response(revision_data(revision, load_schema(self.app.pk)))

    @extend_schema(request=ApiMethodWriteSerializer)
    def put(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.api_method(method_id)
        data = ApiMethodWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = services.save_api_method(
            method,
            request.user,
            base_revision=data.validated_data.get("base_revision"),
            overwrite=data.validated_data["overwrite"],
            title=data.validated_data["title"],
            definition=_definition(request),
        )
        return Response(revision_data(revision, load_schema(self.app.pk)))

    def delete(self, request: Request, app_id: int, method_id: int) -> Response:
        services.delete_api_method(self.api_method(method_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiMethodRevisionListView(ApiMethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.api_method(method_id)
        revisions = method.revisions.select_related("author").order_by("-number")
        return Response(
            [
                {
                    "revision": r.number,
                    "title": r.title,
                    "author": r.author.username if r.author else None,
                    "saved_at": r.created_at.isoformat(),
                }
                for r in revisions
            ]
        )


class ApiMethodRevisionDetailView(ApiMethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int, number: int) -> Response:
        method = self.api_method(method_id)
        revision = get_object_or_404(
            ApiMethodRevision.objects.select_related("author", "method"), method=method, number=number
        )
        return Response(revision_data(revision, load_schema(self.app.pk)))


class ApiMethodRunView(ApiMethodScopedView):
    """Run: the latest draft revision with the given parameter values (it writes, as a
    client call would), answering the result, the time and the SQL that ran."""

    @extend_schema(request=RunSerializer)
    def post(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.api_method(method_id)
        if self.app.suspended:
            # As for Run It! and client calls (code 16): a suspended app runs nothing.
            raise PermissionDenied("This app is suspended; a platform admin can lift the suspension.")
        data = RunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = method.revisions.get(number=method.latest_revision)
        try:
            answer = run_draft(self.app.pk, revision.definition, data.validated_data["params"])
        except model.DefinitionError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        except WireError as exc:
            return Response({"params": [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


class ApiMethodImpactView(AppScopedAPIView):
    """Which API methods a schema change would break: `?table=photos[&field=title]`."""

    def get(self, request: Request, app_id: int) -> Response:
        table = request.query_params.get("table", "")
        if not table:
            return Response({"table": ["Name the table."]}, status=status.HTTP_400_BAD_REQUEST)
        field = request.query_params.get("field") or None
        return Response(services.impact(self.app, table, field))
