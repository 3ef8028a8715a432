"""The console views both kinds of method share: KScripts (apimethods.api) and API methods
(apimethods.actions.api). Each kind's views subclass these with a class naming its models
and saying how its revisions are shown and written; listing, reading the latest revision,
saving it (a save on top of an older revision is the 409 of services.RevisionConflict),
deleting, reading earlier revisions and Run It! (each kind says how its draft runs) are
written once, here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apimethods import liveruns
from apimethods.models import MethodBase, RevisionBase
from apimethods.services import live_deployment
from apimethods.wire import WireError
from console.api import AppScopedAPIView
from console.apps.queries import ensure_not_suspended


def revision_heading(revision: RevisionBase) -> dict[str, Any]:
    """Who saved a revision and when: a row of a method's history."""
    return {
        "revision": revision.number,
        "title": revision.title,
        "author": revision.author.username if revision.author else None,
        "saved_at": revision.created_at.isoformat(),
    }


class MethodScopedView(AppScopedAPIView):
    """One kind of method of the app in the URL; a subclass fills in the hooks below."""

    kind: ClassVar[str]  # as in deployment snapshots: "kscript", "apimethod"
    method_model: ClassVar[type[MethodBase]]
    revision_model: ClassVar[type[RevisionBase]]

    def check_enabled(self) -> None:
        """Refuse when this kind of method is switched off for the app."""

    def method(self, method_id: int) -> Any:
        self.check_enabled()
        return get_object_or_404(self.method_model, app=self.app, pk=method_id)

    def revision_data(self, revision: Any) -> dict[str, Any]:
        """A revision as the editor loads it."""
        raise NotImplementedError

    def latest_data(self, revision: Any) -> dict[str, Any]:
        """The latest revision as the editor opens it."""
        return self.revision_data(revision)

    def summary(self, revision: Any) -> dict[str, Any]:
        """What the method list shows of a method beyond its name, title and revisions."""
        raise NotImplementedError

    def latest_revisions(self) -> list[Any]:
        raise NotImplementedError

    def create(self, request: Request) -> Any:
        """Validate the body and create the method with its first revision."""
        raise NotImplementedError

    def save(self, method: Any, request: Request) -> dict[str, Any]:
        """Validate the body, save a new revision and answer it."""
        raise NotImplementedError

    def delete_method(self, method: Any) -> None:
        raise NotImplementedError


class MethodListView(MethodScopedView):
    def get(self, request: Request, app_id: int) -> Response:
        self.check_enabled()
        live = live_deployment(self.app)
        deployed = live.snapshot.get("methods", {}) if live else {}
        out = []
        for revision in self.latest_revisions():
            method = revision.method
            spec = deployed.get(method.name)
            out.append(
                {
                    "id": method.id,
                    "name": method.name,
                    "title": method.title,
                    **self.summary(revision),
                    "latest_revision": method.latest_revision,
                    "author": revision.author.username if revision.author else None,
                    "saved_at": revision.created_at.isoformat(),
                    "updated_at": method.updated_at.isoformat(),
                    # The revision the live deployment serves under this name (None: not deployed).
                    "deployed_revision": spec.get("revision") if spec and spec.get("kind") == self.kind else None,
                }
            )
        return Response(out)

    def post(self, request: Request, app_id: int) -> Response:
        return Response(self.revision_data(self.create(request)), status=status.HTTP_201_CREATED)


class MethodDetailView(MethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.method(method_id)
        revision = method.revisions.select_related("author", "method").get(number=method.latest_revision)
        return Response(self.latest_data(revision))

    def put(self, request: Request, app_id: int, method_id: int) -> Response:
        return Response(self.save(self.method(method_id), request))

    def delete(self, request: Request, app_id: int, method_id: int) -> Response:
        self.delete_method(self.method(method_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevisionListView(MethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.method(method_id)
        return Response([revision_heading(r) for r in method.revisions.select_related("author").order_by("-number")])


class RevisionDetailView(MethodScopedView):
    def get(self, request: Request, app_id: int, method_id: int, number: int) -> Response:
        method = self.method(method_id)
        revisions = self.revision_model.objects.select_related("author", "method")
        return Response(self.revision_data(get_object_or_404(revisions, method=method, number=number)))


class RunSerializer(serializers.Serializer):
    params = serializers.DictField(default=dict)
    session_token = serializers.CharField(required=False, max_length=200)
    # Chosen by the console, which watches the run by it over the runs WebSocket (live
    # log lines, Stop) before it starts the run (apimethods.liveruns).
    run_id = serializers.RegexField(
        liveruns.RUN_ID, required=False, error_messages={"invalid": "A run id is 8 to 64 letters, digits, - or _."}
    )


class MethodRunView(MethodScopedView):
    """Run It!: the latest draft revision with the given parameter values. A suspended app
    runs nothing; values that do not convert to the declared types are a 400 on `params`."""

    @extend_schema(request=RunSerializer)
    def post(self, request: Request, app_id: int, method_id: int) -> Response:
        method = self.method(method_id)
        ensure_not_suspended(self.app)
        data = RunSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            return self.run(method, data.validated_data)
        except WireError as exc:
            return Response({"params": [exc.message]}, status=status.HTTP_400_BAD_REQUEST)

    def run(self, method: Any, values: dict[str, Any]) -> Response:
        raise NotImplementedError
