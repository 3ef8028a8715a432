"""The SDKs' events upload, `POST /v1/app-installs/{installId}/events` on their events host.

Authenticated, answered and CORS-ed like the SDKs' other `/v1/` calls (apimethods/compat.py):
HTTP Basic with the app's API key and secret key, JSON errors. A stored upload answers
200 `{"accepted": n, "duplicates": m}`: every SDK deletes its batch on any 2xx, so an
upload it retries after a lost answer is 200 again with its events counted as duplicates.
A malformed upload is 422 with nothing stored.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apimethods import compat
from apimethods.client import cors_headers, preflight_headers
from console.events import services
from console.events.intake import MAX_BODY_BYTES, MAX_ID_CHARS, BadUpload, check_text, parse_upload

logger = logging.getLogger(__name__)

ALLOWED = "POST, OPTIONS"
# What console/urls.py routes here; empty segments ("/v1//app-installs") as compat allows.
PATH = r"^(?:/*)v1/+app-installs/+(?P<install_id>[^/]+)/+events/*$"


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadUpload("bad Content-Length") from None
    if declared > MAX_BODY_BYTES:
        raise BadUpload(f"body larger than {MAX_BODY_BYTES} bytes: upload the events in smaller batches")
    return request.read(MAX_BODY_BYTES + 1)


def _install_id(raw: str) -> str:
    if len(raw) > MAX_ID_CHARS:
        raise BadUpload(f"the install id is longer than {MAX_ID_CHARS} characters")
    return check_text(raw, "the install id")


def _answer(request: HttpRequest, install_id: str) -> HttpResponse:
    if request.method != "POST":
        response = compat._error(405, f"{request.method} is not allowed here; use POST")
        response["Allow"] = ALLOWED
        return response
    app = compat._authenticate(request, "basic", {})
    if isinstance(app, HttpResponse):
        return app
    try:
        install = _install_id(install_id)
        events = parse_upload(_read_body(request))
    except BadUpload as exc:
        return compat._error(422, f"Invalid request: {exc}")
    stored = services.store_events(int(app["id"]), install, events)
    return compat._json({"accepted": stored.accepted, "duplicates": stored.duplicates})


@csrf_exempt
def endpoint(request: HttpRequest, install_id: str) -> HttpResponse:
    """console/urls.py routes PATH here, above compat's catch-all."""
    origin = request.META.get("HTTP_ORIGIN")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        del response["Content-Type"]
        for name, value in preflight_headers(origin, request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")):
            response[name] = value
        response["Access-Control-Allow-Methods"] = ALLOWED
        return response
    try:
        response = _answer(request, install_id)
    except Exception:
        # JSON, never Django's HTML page: the SDKs keep the batch and retry on a 5xx.
        logger.exception("events upload failed path=%s", request.path_info[:200])
        response = compat._error(500, "Unknown server error")
    for name, value in cors_headers(origin):
        response[name] = value
    return response
