"""The client endpoint: POST /b2.2/{apiKey}/{method}.json|.plist (Kumulos wire protocol).

Every protocol-level outcome is HTTP 200 with a full envelope in the requested format;
the codec in apimethods.wire does the parsing and rendering, this view the order of
checks: verb, path and format, size, body, credentials, suspension, method, result.

`ClientEndpointMiddleware` sends versioned client paths straight here, past the URL
resolver and the browser middleware (sessions, CSRF, auth, messages) that this endpoint
never uses.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, close_old_connections, reset_queries
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt

from apimethods import registry
from apimethods.appfacts import app_facts
from apimethods.wire import (
    STANDARD_MESSAGES,
    Envelope,
    WireError,
    coerce_params,
    hashed_key_matches,
    parse_basic_auth,
    parse_body,
    parse_client_path,
    render,
    split_fields,
)
from console.logs.recorder import invoke_logged, record_refusal
from runtime import Deadline, ScriptFailure

logger = logging.getLogger(__name__)

FORMATS = ("json", "plist")
Answer = tuple[bytes, str]  # an envelope rendered: body and content type (always HTTP 200)


def _authorised(
    request: HttpRequest, api_key: str, app: dict[str, Any] | None, hashed_key: str | None, salt: str | None
) -> bool:
    if app is None:
        return False
    secret: str = app["secret_key"]
    basic = parse_basic_auth(request.META.get("HTTP_AUTHORIZATION"))
    if basic is not None:
        user, password = basic
        if hmac.compare_digest(user.encode(), api_key.encode()) and hmac.compare_digest(
            password.encode(), secret.encode()
        ):
            return True
    if hashed_key and salt is not None:
        return hashed_key_matches(secret, salt, hashed_key)
    return False


# The first client route of console/urls.py, matched against the path without its leading
# "/" as the resolver does (tests/apimethods/test_client_protocol.py checks they agree).
VERSIONED_PATH = re.compile(r"^/*b2(?:\.[0-9]+)?/")


class ClientEndpointMiddleware:
    """Route versioned client calls to `client_endpoint` directly. Placed right after
    SecurityMiddleware: the host is still checked against ALLOWED_HOSTS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if VERSIONED_PATH.match(request.path_info[1:]):
            request.get_host()  # raises DisallowedHost (a 400) like CommonMiddleware would
            return client_endpoint(request)
        return self.get_response(request)


class ClientFastPath:
    """The WSGI application gunicorn serves (console/wsgi.py): versioned client calls go
    straight to `client_endpoint`, and the SDKs' events uploads to their view, past
    Django's request handling — its signals, middleware chain and response iteration cost
    about as much again as the endpoint's own Python (a third of an upload's CPU) —
    everything else to Django.

    What a client call needs of that machinery is done here: SecurityMiddleware (SSL
    redirect and headers), the ALLOWED_HOSTS check (400), and the database connection
    upkeep of the request signals, at most once a second (connection age and errors;
    the app lookup reconnects a dead connection by itself).
    """

    TIDY_EVERY_S = 1.0

    def __init__(self, django_app: Callable[..., Any]) -> None:
        from django.middleware.security import SecurityMiddleware

        from console.events import ingest  # imports this module: not at the top

        self.django_app = django_app
        # Other SDK endpoints taken past Django the same way: (path, view). The events
        # upload is the SDKs' busiest call after client calls (every device, in batches).
        self._bare_views = [(re.compile(ingest.PATH), ingest.endpoint)]
        self.security = SecurityMiddleware(lambda request: HttpResponse())
        # Per thread: Django's connections are, and each lane thread tidies its own.
        self._tidy = threading.local()
        # The headers SecurityMiddleware gives an envelope, by whether the request came over
        # HTTPS (HSTS): worked out once, by the middleware itself.
        self._extra_headers: dict[bool, list[tuple[str, str]]] = {}

    def _security_headers(self, request: HttpRequest) -> list[tuple[str, str]]:
        secure = request.is_secure()
        headers = self._extra_headers.get(secure)
        if headers is None:
            sample = self.security.process_response(request, HttpResponse(content_type="application/json"))
            headers = [(k, v) for k, v in sample.items() if k.lower() not in {"content-type", "content-length"}]
            self._extra_headers[secure] = headers
        return headers

    def _bare_view(self, path: str) -> tuple[Callable[..., HttpResponse], dict[str, str]] | None:
        for pattern, view in self._bare_views:
            match = pattern.match(path)
            if match is not None:
                return view, match.groupdict()
        return None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        bare = None
        if not VERSIONED_PATH.match(path[1:]):
            bare = self._bare_view(path)
            if bare is None:
                return self.django_app(environ, start_response)
        now = time.monotonic()
        if now >= getattr(self._tidy, "at", 0.0):
            self._tidy.at = now + self.TIDY_EVERY_S
            close_old_connections()
        if settings.DEBUG:
            reset_queries()
        request = WSGIRequest(environ)
        try:
            request.get_host()
            redirect = self.security.process_request(request)  # SECURE_SSL_REDIRECT
        except DisallowedHost:
            redirect = HttpResponseBadRequest("Bad Request (400)", content_type="text/plain")
        if redirect is not None:
            response = self.security.process_response(request, redirect)
            start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
            return [response.content]
        if bare is not None:
            view, kwargs = bare
            response = view(request, **kwargs)
            names = {name.lower() for name in response.headers}
            extra = [(k, v) for k, v in self._security_headers(request) if k.lower() not in names]
            start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()) + extra)
            return [response.content]
        origin = environ.get("HTTP_ORIGIN")
        if environ["REQUEST_METHOD"] == "OPTIONS":
            headers = preflight_headers(origin, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"))
            start_response("204 No Content", headers + self._security_headers(request))
            return [b""]
        body, content_type = answer(request)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers + cors_headers(origin) + self._security_headers(request))
        return [body]


# ── CORS: browsers (Cordova's WebView, web apps) call the client API from other origins ──

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ALWAYS_ALLOWED_HEADERS = ("Authorization", "Content-Type")


def cors_headers(origin: str | None) -> list[tuple[str, str]]:
    """Access-Control-Allow-Origin for a client call. These calls carry keys, never
    cookies, so any origin is allowed unless KILN_CORS_ORIGINS lists some."""
    allowed = settings.KILN_CORS_ORIGINS
    if "*" in allowed:
        return [("Access-Control-Allow-Origin", "*")]
    if origin and origin in allowed:
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    return [("Vary", "Origin")]


def preflight_headers(origin: str | None, requested: str | None) -> list[tuple[str, str]]:
    """The answer to a CORS preflight (OPTIONS) of a client call."""
    headers = cors_headers(origin)
    names = list(_ALWAYS_ALLOWED_HEADERS)
    for name in (requested or "").split(","):
        name = name.strip()
        if name and _TOKEN.match(name) and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return headers + [
        ("Access-Control-Allow-Methods", "POST, OPTIONS"),
        ("Access-Control-Allow-Headers", ", ".join(names)),
        ("Access-Control-Max-Age", "86400"),
        ("Content-Length", "0"),
    ]


def _wire_message(exc: WireError) -> str:
    return f"Invalid request: {exc.message}" if exc.code == 32 else exc.message


@csrf_exempt
def client_endpoint(request: HttpRequest) -> HttpResponse:
    origin = request.META.get("HTTP_ORIGIN")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        for name, value in preflight_headers(origin, request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")):
            response[name] = value
        return response
    body, content_type = answer(request)
    response = HttpResponse(body, content_type=content_type, status=200)
    for name, value in cors_headers(origin):
        response[name] = value
    return response


def answer(request: HttpRequest) -> Answer:
    """The rendered envelope for a client call, whatever happens."""
    try:
        return _handle(request)
    except Exception:
        # Last line of defence: even a failure while rendering gets an envelope, never a page.
        request_id = uuid.uuid4().hex[:12]
        logger.exception("client endpoint failed request_id=%s", request_id)
        body = {
            "responseCode": 64,
            "responseMessage": f"Unknown server error (request id {request_id})",
            "payload": None,
            "sessionToken": str(uuid.uuid4()),
        }
        return json.dumps(body).encode(), "application/json"


def _handle(request: HttpRequest) -> Answer:
    received = time.time()
    started = time.perf_counter()
    path = parse_client_path(request.path)
    fmt = path.format if path is not None and path.format in FORMATS else "json"
    method_name = path.method if path is not None else ""
    session_token = ""

    def reply(code: int, payload: Any = None, message: str | None = None) -> Answer:
        envelope = Envelope(
            response_code=code,
            response_message=message,
            payload=payload,
            session_token=session_token or str(uuid.uuid4()),
            requested_method=method_name,
            requested_format=fmt,
            timestamp=int(received),
            request_received_time=received,
            max_allowed_request_time=timeout,
            max_processing_time=timeout,
            request_processing_time=time.perf_counter() - started,
        )
        return render(envelope, fmt)

    # A client call's time limit (one deadline for all it runs) fits the clients: the app's
    # own script limit, but never more than KILN_CLIENT_TIMEOUT_SECONDS.
    timeout = settings.KILN_CLIENT_TIMEOUT_SECONDS
    if request.method != "POST":
        return reply(32, message="Invalid request: use POST")
    if path is None:
        return reply(32, message="Invalid request: the URL must be /b2.2/{apiKey}/{method}.json")
    if path.format not in FORMATS:
        return reply(8, message=f"No such format: {path.format or '(none)'}; use .json or .plist")

    limit = settings.KILN_MAX_BODY_BYTES
    try:
        declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return reply(32, message="Invalid request: bad Content-Length")
    if declared_length > limit:
        return reply(32, message=f"Invalid request: body larger than {limit} bytes")
    try:
        # Read from the stream ourselves (at most limit + 1 bytes) instead of request.body.
        body = request.read(limit + 1)
    except OSError:
        return reply(32, message="Invalid request: the body could not be read")
    if len(body) > limit:
        return reply(32, message=f"Invalid request: body larger than {limit} bytes")

    try:
        fields = split_fields(parse_body(request.META.get("CONTENT_TYPE"), body))
    except WireError as exc:
        return reply(exc.code, message=_wire_message(exc))
    session_token = fields.session_token or ""

    app: dict[str, Any] | None = None

    def refuse(code: int, message: str | None = None, why: str | None = None) -> Answer:
        """Answer an authenticated call before any method ran; the app's log records why
        (`why`, for the developer; the client gets `message`, or the code's standard one)."""
        if app is not None:
            record_refusal(app["id"], method_name, code, why or message or STANDARD_MESSAGES[code])
        return reply(code, message=message)

    try:
        app = app_facts(path.api_key)
        if not _authorised(request, path.api_key, app, fields.hashed_key, fields.salt):
            return reply(2)  # not logged: anyone who knows an API key could fill that app's log
        assert app is not None
        if app["suspended"]:
            return refuse(16, why="The app is suspended by a platform admin")
        timeout = min(settings.KILN_CLIENT_TIMEOUT_SECONDS, app["script_timeout_seconds"])
        method = registry.find_method(app["live__deployment_id"], path.method)
        if method is None:
            return refuse(4, f"No such method: {path.method}")
        try:
            params = coerce_params(fields.params, list(method.declared_params), keep_undeclared=True)
        except WireError as exc:
            return refuse(exc.code, _wire_message(exc))
        context = registry.CallContext(
            app_id=app["id"],
            method=path.method,
            params=params,
            session_token=session_token or str(uuid.uuid4()),
            timeout_s=timeout,
            # No TableSequence row yet: the app never had a table (scripting.NO_TABLES_YET).
            schema_version=-1 if app["schema_version"] is None else app["schema_version"],
            # One deadline for everything the call runs, counted from when it arrived.
            deadline=Deadline(timeout - (time.perf_counter() - started)),
        )
        session_token = context.session_token
        payload = invoke_logged(method, context)  # recorded in the call log (console/logs)
    except WireError as exc:
        return reply(exc.code, message=_wire_message(exc))
    except ScriptFailure as exc:
        # The request id is drawn only when something failed (uuid4 costs a urandom call).
        request_id = uuid.uuid4().hex[:12]
        logger.info("script failed request_id=%s method=%s: %s", request_id, method_name, exc)
        return reply(64, message=f"Script error: {exc}")
    except DatabaseError:
        request_id = uuid.uuid4().hex[:12]
        logger.exception("database error in client call request_id=%s method=%s", request_id, method_name)
        return reply(128, message=f"Database error (request id {request_id})")
    except Exception:
        request_id = uuid.uuid4().hex[:12]
        logger.exception("unexpected error in client call request_id=%s method=%s", request_id, method_name)
        return reply(64, message=f"Unknown server error (request id {request_id})")
    return reply(1, payload=payload)


BUSY_MESSAGE = "Server busy: this app has too many calls in progress; try again shortly"


def busy_answer(raw_path: str, content_type: str | None = None, body: bytes | None = None) -> Answer:
    """The envelope for a call refused because its app has too many calls running (the
    serving layer's admission limit, console.serving.lanes): code 64."""
    return refusal_answer(raw_path, 64, BUSY_MESSAGE, content_type, body)


def refusal_answer(
    raw_path: str, code: int, message: str, content_type: str | None = None, body: bytes | None = None
) -> Answer:
    """An envelope the serving layer sends without running the call (busy, a body that
    never arrived): in the format the path asked for, with the caller's session token
    when its (small) body carries one, built without touching the database."""
    path = parse_client_path(raw_path.partition("?")[0])
    fmt = path.format if path is not None and path.format in FORMATS else "json"
    now = time.time()
    token = ""
    if body:
        try:
            token = split_fields(parse_body(content_type, body)).session_token or ""
        except WireError:
            token = ""
    envelope = Envelope(
        response_code=code,
        response_message=message,
        payload=None,
        session_token=token or str(uuid.uuid4()),
        requested_method=path.method if path is not None else "",
        requested_format=fmt,
        timestamp=int(now),
        request_received_time=now,
        max_allowed_request_time=settings.KILN_SCRIPT_TIMEOUT_SECONDS,
        max_processing_time=settings.KILN_SCRIPT_TIMEOUT_SECONDS,
        request_processing_time=0.0,
    )
    return render(envelope, fmt)
