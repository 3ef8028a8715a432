"""Console JSON API for API methods: revisions, Run, impact of a schema change.

Same access rules as the KScript endpoints (AppScopedAPIView: developers and owners;
outsiders get 404), without the KScript switch: API methods need no V8.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apimethods.actions import model, services
from apimethods.actions.execute import load_schema, run_draft
from apimethods.models import ApiMethod, ApiMethodRevision
from apimethods.revisions import (
    MethodDetailView,
    MethodListView,
    MethodRunView,
    MethodScopedView,
    RevisionDetailView,
    RevisionListView,
)
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


def _validated(request: Request) -> dict[str, Any]:
    data = ApiMethodWriteSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


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


class ApiMethodScopedView(MethodScopedView):
    kind = "apimethod"
    method_model = ApiMethod
    revision_model = ApiMethodRevision

    @cached_property
    def tables(self) -> model.SchemaMeta:
        """The app's tables, read once per request (after the write, for a save)."""
        return load_schema(self.app.pk)

    def revision_data(self, revision: ApiMethodRevision) -> dict[str, Any]:
        return revision_data(revision, self.tables)

    def summary(self, revision: ApiMethodRevision) -> dict[str, Any]:
        return {
            "kind": "apimethod",
            "table": revision.definition.get("table"),
            "signature": _signature(revision, self.tables),
            "problems": services.problems(revision, self.tables),
        }

    def latest_revisions(self) -> list[ApiMethodRevision]:
        return services.latest_revisions(self.app)

    def create(self, request: Request) -> ApiMethodRevision:
        data = _validated(request)
        return services.create_api_method(self.app, request.user, title=data["title"], definition=_definition(request))

    def save(self, method: ApiMethod, request: Request) -> dict[str, Any]:
        data = _validated(request)
        revision = services.save_api_method(
            method,
            request.user,
            base_revision=data.get("base_revision"),
            overwrite=data["overwrite"],
            title=data["title"],
            definition=_definition(request),
        )
        return self.revision_data(revision)

    def delete_method(self, method: ApiMethod) -> None:
        services.delete_api_method(method)


@extend_schema_view(post=extend_schema(request=ApiMethodWriteSerializer))
class ApiMethodListView(ApiMethodScopedView, MethodListView):
    pass


@extend_schema_view(put=extend_schema(request=ApiMethodWriteSerializer))
class ApiMethodDetailView(ApiMethodScopedView, MethodDetailView):
    pass


class ApiMethodRevisionListView(ApiMethodScopedView, RevisionListView):
    pass


class ApiMethodRevisionDetailView(ApiMethodScopedView, RevisionDetailView):
    pass


class ApiMethodRunView(ApiMethodScopedView, MethodRunView):
    """Run (it writes, as a client call would), answering the result, the time and the SQL
    that ran."""

    def run(self, method: ApiMethod, values: dict[str, Any]) -> Response:
        revision = method.revisions.get(number=method.latest_revision)
        try:
            answer = run_draft(self.app.pk, revision.definition, values["params"])
        except model.DefinitionError as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(answer)


class ApiMethodImpactView(AppScopedAPIView):
    """Which API methods a schema change would break: `?table=photos[&field=title]` (a
    rename or drop), `&type=integer` (that field's type change)."""

    def get(self, request: Request, app_id: int) -> Response:
        table = request.query_params.get("table", "")
        if not table:
            return Response({"table": ["Name the table."]}, status=status.HTTP_400_BAD_REQUEST)
        field = request.query_params.get("field") or None
        new_type = request.query_params.get("type") or None
        if new_type is not None and (field is None or new_type not in model.FIELD_PARAM_TYPES):
            message = "Name the field and one of its types: " + ", ".join(model.FIELD_PARAM_TYPES) + "."
            return Response({"type": [message]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(services.impact(self.app, table, field, new_type))
