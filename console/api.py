"""Shared pieces of the console's JSON API: the error shape and tenant scoping.

Every endpoint that works on one app subclasses `AppScopedAPIView`; it is the only
place that decides whether the signed-in user may touch an app, so a subclass
cannot forget the check.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from console.apps.models import App, Role
from console.apps.queries import access_app

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's shapes, with a JSON body (never an HTML page) for unexpected errors."""
    if isinstance(exc, exceptions.NotAuthenticated):
        return Response({"detail": "Sign in first."}, status=status.HTTP_403_FORBIDDEN)
    payload = getattr(exc, "payload", None)
    if isinstance(exc, exceptions.APIException) and isinstance(payload, dict):
        return Response(payload, status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("console API error", exc_info=exc)
        return Response(
            {"detail": "Something went wrong on the server; it has been logged."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return response


class AppScopedAPIView(APIView):
    """Base class for endpoints under /api/apps/<app_id>/…

    `required_role` is the least role needed (developer < owner) per HTTP method;
    outsiders get 404 so app ids do not leak.
    """

    required_role: dict[str, Role] = {}
    default_role: Role = Role.DEVELOPER

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        role = self.required_role.get(request.method or "GET", self.default_role)
        self.app: App = access_app(request.user, int(kwargs["app_id"]), role)
