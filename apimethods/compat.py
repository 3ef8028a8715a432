"""The Kumulos SDKs' calls besides the RPC API: everything under `/v1/` on their other hosts
(push, crm, crash, links, stats), so an app pointed at Kiln gets answers it handles instead
of errors it may not.

Kiln has no push service, in-app messaging, check-ins, deep links or crash reporting, and
keeps nothing these calls send. Each answers what every SDK that calls it handles as a
normal outcome (docs/kumulos-clients.md has the table, and which SDK reads what):

* lists (channels, in-app messages, open check-ins, web banners) are empty JSON arrays —
  never an object: the ObjC SDK enumerates the answer of a channel listing as an array;
* writes with nothing to answer (subscriptions, old install stats, push tokens, opens,
  crash reports) are 204 — not 200 with an empty body, which Alamofire-era Swift refuses;
* creating a channel answers 201 with the channel as sent, not subscribed (nothing was kept);
* deep links are 404, which the SDKs report to the app as "link not found";
* creating a check-in is 501 and a check-in to close is 404, both reported as failures;
* anything else under `/v1/` is a JSON 404, never an HTML page.

Calls authenticate as the SDKs send them: HTTP Basic with the app's API key and secret key
(401 JSON otherwise; 403 for a suspended app). Crash uploads by KSCrash (iOS) carry no
header, only the API key in the path, which must then name an app. Browsers (Cordova's
WebView, the web SDK) get CORS preflights answered and `Access-Control-Allow-Origin`.

The events ingest (`/v1/app-installs/{installId}/events`) is not here: its route comes
before this module's in console/urls.py.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apimethods.appfacts import app_facts
from apimethods.client import cors_headers, preflight_headers
from apimethods.wire import parse_basic_auth

logger = logging.getLogger(__name__)

# Bodies these calls send are a few hundred bytes (channel uuids, a channel's meta).
MAX_BODY_BYTES = 64 * 1024
MAX_UUID_CHARS = 255
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"

Handler = Callable[[HttpRequest, dict[str, Any], dict[str, str]], HttpResponse]


class BadBody(Exception):
    """A request body this endpoint cannot use: answered 422, as the SDKs expect."""


# ── answers ──────────────────────────────────────────────────────────────────


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data, separators=(",", ":")), status=status, content_type="application/json")


def _error(status: int, message: str) -> HttpResponse:
    return _json({"error": message}, status)


def _no_content() -> HttpResponse:
    response = HttpResponse(status=204)
    del response["Content-Type"]  # nothing follows to have a type
    return response


def _unauthorised(message: str) -> HttpResponse:
    response = _error(401, message)
    response["WWW-Authenticate"] = 'Basic realm="Kiln"'
    return response


# ── request bodies ───────────────────────────────────────────────────────────


def _body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadBody("bad Content-Length") from None
    if declared > MAX_BODY_BYTES:
        raise BadBody(f"body larger than {MAX_BODY_BYTES} bytes")
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BadBody(f"body larger than {MAX_BODY_BYTES} bytes")
    return body


def _json_body(request: HttpRequest) -> Any:
    body = _body(request)
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadBody("the body is not valid JSON") from None


def _uuid(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_UUID_CHARS:
        raise BadBody(f"{what} must be a non-empty string of at most {MAX_UUID_CHARS} characters")
    return value


def _subscription_uuids(request: HttpRequest) -> list[str]:
    """The channel uuids of a subscription change, as each SDK generation sends them:
    JSON `{"uuids": [...]}`, a bare JSON array (Xamarin 2018), an empty body (its "clear"),
    or a form `uuids[]=a&uuids[]=b` (Alamofire-era Swift)."""
    body = _body(request)
    text = body.strip()
    if not text:
        return []
    if text[:1] in (b"{", b"["):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise BadBody("the body is not valid JSON") from None
        if isinstance(data, dict):
            if "uuids" not in data:
                raise BadBody('the body needs "uuids": a list of channel uuids')
            data = data["uuids"]
        if not isinstance(data, list):
            raise BadBody('"uuids" must be a list of channel uuids')
        return [_uuid(item, "each channel uuid") for item in data]
    try:
        pairs = parse_qsl(text.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadBody("the body is neither JSON nor a form") from None
    uuids = [value for key, value in pairs if re.fullmatch(r"uuids(\[[0-9]*\])?", key)]
    if len(uuids) != len(pairs):
        raise BadBody("the form may only carry uuids[] fields")
    return [_uuid(item, "each channel uuid") for item in uuids]


# ── handlers: (request, app facts, path parts) → response ────────────────────


def _empty_list(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _json([])


def _empty_object(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _json({})


def _accepted(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _no_content()


def _change_subscriptions(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    _subscription_uuids(request)  # checked, so bad input is told; nothing is kept
    return _no_content()


def _create_channel(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    spec = _json_body(request)
    if not isinstance(spec, dict):
        raise BadBody("the body must be a JSON object describing the channel")
    uuid = _uuid(spec.get("uuid"), '"uuid"')
    name = spec.get("name")
    if name is not None and not isinstance(name, str):
        raise BadBody('"name" must be a string or null')
    meta = spec.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise BadBody('"meta" must be an object or null')
    if spec.get("showInPortal") is True and not name:
        raise BadBody('"name" is required when "showInPortal" is true')
    # Flutter accepts exactly 201. Not subscribed: Kiln keeps no subscriptions.
    return _json({"uuid": uuid, "name": name, "subscribed": False, "meta": meta}, 201)


def _checkins_not_kept(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _error(501, "Kiln does not keep check-ins")


def _no_such_checkin(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _error(404, "No such check-in: Kiln does not keep check-ins")


def _no_such_link(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    return _error(404, "No such deep link: Kiln has no deep links")


def _crash_report(request: HttpRequest, app: dict[str, Any], parts: dict[str, str]) -> HttpResponse:
    # Accepted so the device deletes it (a failed upload stays on the device to be tried
    # again); Kiln has no crash reporting to keep it in.
    logger.info(
        "crash report dropped app=%s format=%s bytes=%s",
        app["id"],
        parts["format"][:32],
        request.META.get("CONTENT_LENGTH") or 0,
    )
    return _no_content()


# ── routes ───────────────────────────────────────────────────────────────────

_INSTALL = r"app-installs/[^/]+"
# A user identifier is percent-encoded by the SDKs, but `/` decodes back into the path.
_USER = r"users/.+"

# (path after /v1/, methods, handler, credentials) — path segments joined by single slashes.
ROUTES: list[tuple[re.Pattern[str], frozenset[str], Handler, str]] = [
    (re.compile(pattern), frozenset(methods.split()), handler, credentials)
    for pattern, methods, handler, credentials in [
        # Push channels: install-keyed on the push host, user-keyed on the crm host.
        (rf"{_INSTALL}/channels", "GET", _empty_list, "basic"),
        (rf"{_USER}/channels", "GET", _empty_list, "basic"),
        (rf"{_INSTALL}/channels/subscriptions", "POST PUT DELETE", _change_subscriptions, "basic"),
        (rf"{_USER}/channels/subscriptions", "POST PUT DELETE", _change_subscriptions, "basic"),
        (r"channels", "POST", _create_channel, "basic"),
        # In-app messages (the inbox's reads and deletions travel as events).
        (rf"{_USER}/messages", "GET", _empty_list, "basic"),
        # Check-ins (Android).
        (rf"{_USER}/open-checkins", "GET", _empty_list, "basic"),
        (rf"{_USER}/checkins", "POST", _checkins_not_kept, "basic"),
        (rf"{_USER}/checkins/[^/]+(?:/contacts/[^/]+)?", "DELETE", _no_such_checkin, "basic"),
        # Deep links, and the web SDK's banners and prompt configuration.
        (r"deeplinks/[^/]+", "GET", _no_such_link, "basic"),
        (r"banners", "GET", _empty_list, "basic"),
        (r"web/config", "GET", _empty_object, "basic"),
        # Crash reports: ACRA (Android, Basic auth) and KSCrash (iOS, key in the path only).
        (r"track/(?P<api_key>[^/]+)/(?P<format>[^/]+)/[^/]+", "POST", _crash_report, "path"),
        # The 2016–2018 SDKs: install stats, location, push token and opens.
        (_INSTALL, "PUT", _accepted, "basic"),
        (rf"{_INSTALL}/location", "PUT", _accepted, "basic"),
        (rf"{_INSTALL}/push-token", "PUT DELETE", _accepted, "basic"),
        (rf"{_INSTALL}/opens", "POST", _accepted, "basic"),
    ]
]

# A leading "/v1/" (Xamarin 6 builds "/v1/v1/…"); empty segments ("/v1//app-installs", as
# early Swift builds it) and a trailing slash are ignored.
_PREFIX = re.compile(r"^/*v1(?:/+v1(?=/))?(?:/|$)")


def route_path(path: str) -> str | None:
    """The part of a `/v1/` path the routes match, normalised; None if not a /v1/ path."""
    match = _PREFIX.match(path)
    if match is None:
        return None
    return "/".join(segment for segment in path[match.end() :].split("/") if segment)


def _find(path: str) -> tuple[list[tuple[frozenset[str], Handler, str, dict[str, str]]], str]:
    rest = route_path(path)
    found = []
    for pattern, methods, handler, credentials in ROUTES:
        match = pattern.fullmatch(rest or "")
        if match is not None:
            found.append((methods, handler, credentials, match.groupdict()))
    return found, rest or ""


def _authenticate(request: HttpRequest, credentials: str, parts: dict[str, str]) -> dict[str, Any] | HttpResponse:
    """The app the call speaks for, or the answer refusing it."""
    basic = parse_basic_auth(request.META.get("HTTP_AUTHORIZATION"))
    api_key = parts.get("api_key") if credentials == "path" else None
    if basic is None and api_key is None:
        return _unauthorised("Authentication required: HTTP Basic with the app's API key and secret key")
    if basic is not None and api_key is not None and not hmac.compare_digest(basic[0].encode(), api_key.encode()):
        return _unauthorised("Not authorised: the API key does not match the one in the path")
    app = app_facts(basic[0] if basic is not None else str(api_key))
    if app is None:
        return _unauthorised("Not authorised: wrong API key or secret key")
    if basic is not None and not hmac.compare_digest(basic[1].encode(), str(app["secret_key"]).encode()):
        return _unauthorised("Not authorised: wrong API key or secret key")
    if app["suspended"]:
        return _error(403, "This app is suspended")
    return app


def _answer(request: HttpRequest) -> HttpResponse:
    found, rest = _find(request.path_info)
    method = request.method or "GET"
    if not found:
        return _error(404, f"No such endpoint: {method} /v1/{rest}")
    chosen = next((route for route in found if method in route[0]), None)
    if chosen is None:
        allowed = sorted({m for methods, *_ in found for m in methods})
        response = _error(405, f"{method} is not allowed here; use {', '.join(allowed)}")
        response["Allow"] = ", ".join(allowed)
        return response
    _, handler, credentials, parts = chosen
    app = _authenticate(request, credentials, parts)
    if isinstance(app, HttpResponse):
        return app
    try:
        return handler(request, app, parts)
    except BadBody as exc:
        return _error(422, f"Invalid request: {exc}")


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    """Every `/v1/` call (console/urls.py)."""
    origin = request.META.get("HTTP_ORIGIN")
    if request.method == "OPTIONS":
        response = _no_content()
        for name, value in preflight_headers(origin, request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")):
            response[name] = value
        response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        return response
    try:
        response = _answer(request)
    except Exception:
        # Never Django's HTML 500 page: the SDKs read JSON or a status, and retry on 5xx.
        logger.exception("kumulos compat call failed path=%s", request.path_info[:200])
        response = _error(500, "Unknown server error")
    for name, value in cors_headers(origin):
        response[name] = value
    return response
