"""One client connection: buffering complete requests (httptools) and framing responses.

The event loop feeds received bytes to `Connection.feed`; httptools calls the `on_*`
methods back and complete requests pile up in `Connection.ready`. Nothing here blocks
except `respond` on a lane thread while it streams a response of unknown length: the
loop owns the socket while a connection is idle or reading, a lane thread from dispatch
until `respond` returns, and the loop again for whatever the socket did not take.

Limits enforced while reading: header size and count, URL length, and the body size of
the request's lane. A body over its limit is not read: the request goes to the
application with an empty body and a Content-Length above the limit — which both the
client endpoint (code 32) and Django (RequestDataTooBig, 400) already refuse — and the
connection closes after the answer. Chunked bodies arrive decoded, with the decoded
length as CONTENT_LENGTH, so every reader of `wsgi.input` sees an ordinary body.
"""

from __future__ import annotations

import io
import logging
import select
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import IO, Any
from urllib.parse import unquote_to_bytes

import httptools

logger = logging.getLogger("console.serving")

MAX_URL_BYTES = 16 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200
SPOOL_BYTES = 1024 * 1024  # request bodies above this wait in a temporary file
BUFFER_RESPONSE_BYTES = 256 * 1024  # responses up to this are framed with a Content-Length
STREAM_FLUSH_BYTES = 64 * 1024
NO_BODY_STATUSES = (b"1", b"204", b"304")


@dataclass
class Request:
    method: str = ""
    url: bytearray = field(default_factory=bytearray)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_bytes: int = 0
    version: str = "1.1"
    keep_alive: bool = True
    declared_length: int | None = None
    body: IO[bytes] | None = None
    body_length: int = 0
    too_large: bool = False
    lane: str = ""
    tenant: bytes = b""
    expect_continue: bool = False

    def path(self) -> bytes:
        end = len(self.url)
        for mark in (b"?", b"#"):
            at = self.url.find(mark)
            if at != -1:
                end = min(end, at)
        return bytes(self.url[:end])


class BadRequest(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class Limits:
    """Per-process reading limits, set by the worker from settings."""

    header_timeout_s = 10.0
    body_timeout_s = 10.0
    body_min_rate = 64 * 1024  # bytes/s a body upload must average beyond body_timeout_s
    keepalive_s = 60.0
    body_limits: dict[str, int] = {}  # by lane
    default_body_limit = 10 * 1024 * 1024


class Connection:
    """A socket, its parser, the requests read so far and the unsent rest of a response."""

    def __init__(
        self,
        sock: socket.socket,
        peer: Any,
        server: tuple[str, str],
        classify: Callable[[bytes, bytes | None], tuple[str, bytes]],
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.server = server
        self.classify = classify
        self.parser = httptools.HttpRequestParser(self)
        self.current: Request | None = None
        self.ready: deque[Request] = deque()
        self.busy = False  # a request is with a lane thread
        self.closing = False  # close once the current answer is out
        self.deadline: float | None = time.monotonic() + Limits.header_timeout_s
        self.outbox: deque[Any] = deque()  # bytes / memoryview / FileWrapper still to send
        self.watching = 0  # selector events registered
        self.reading_body = False
        self.base_environ: dict[str, Any] = {}  # set by the worker: per listening socket

    # ── httptools callbacks ───────────────────────────────────────────────────────

    def on_message_begin(self) -> None:
        self.current = Request()

    def on_url(self, url: bytes) -> None:
        request = self.current
        assert request is not None
        request.url += url
        if len(request.url) > MAX_URL_BYTES:
            raise BadRequest("414 URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self.current
        assert request is not None
        request.header_bytes += len(name) + len(value) + 4
        if request.header_bytes > MAX_HEADER_BYTES or len(request.headers) >= MAX_HEADERS:
            raise BadRequest("431 Request Header Fields Too Large")
        if request.headers and not name:  # a continuation of the previous value
            last_name, last_value = request.headers[-1]
            request.headers[-1] = (last_name, last_value + value)
        else:
            request.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.current
        assert request is not None
        parser = self.parser
        request.method = parser.get_method().decode("latin-1")
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive()
        authorization: bytes | None = None
        for name, value in request.headers:
            lower = name.lower()
            if lower == b"authorization":
                authorization = value
            if lower == b"content-length":
                try:
                    request.declared_length = int(value)
                except ValueError:
                    raise BadRequest("400 Bad Request") from None
            elif lower == b"expect" and value.lower() == b"100-continue":
                request.expect_continue = True
        request.lane, request.tenant = self.classify(request.path(), authorization)
        limit = Limits.body_limits.get(request.lane, Limits.default_body_limit)
        declared = request.declared_length
        if declared is not None and declared > limit:
            # Not read: answered from the headers alone, then the connection closes.
            request.too_large = True
            self._complete(request)
            raise _StopReading
        expected = declared if declared is not None else limit
        if expected:
            self.reading_body = True
            self.deadline = time.monotonic() + Limits.body_timeout_s + expected / Limits.body_min_rate
            if request.expect_continue and request.version == "1.1":
                self._send_now(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, chunk: bytes) -> None:
        request = self.current
        assert request is not None
        if request.body is None:
            request.body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed with the request
        request.body.write(chunk)
        request.body_length += len(chunk)
        if request.body_length > Limits.body_limits.get(request.lane, Limits.default_body_limit):
            request.too_large = True
            request.declared_length = request.body_length
            request.body.close()
            request.body = None
            self._complete(request)
            raise _StopReading

    def on_message_complete(self) -> None:
        request = self.current
        assert request is not None
        self._complete(request)

    def _complete(self, request: Request) -> None:
        self.current = None
        self.reading_body = False
        self.deadline = None
        if request.too_large:
            request.keep_alive = False
        self.ready.append(request)

    # ── reading ───────────────────────────────────────────────────────────────────

    def feed(self, data: bytes) -> None:
        """Parse received bytes. Raises BadRequest for malformed input; stops reading
        (sets `closing`) after a request that leaves the connection unusable."""
        if self.current is None:
            # The first bytes of a request: all of its headers must follow in time.
            self.deadline = time.monotonic() + Limits.header_timeout_s
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # An Upgrade (WebSocket, h2c) is not served on this port: answer the request
            # as plain HTTP/1.1 and close.
            self.closing = True
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, _StopReading):
                self.closing = True
                return
            if isinstance(cause, BadRequest):
                raise cause from None
            raise BadRequest("400 Bad Request") from None

    def idle(self) -> bool:
        return not self.busy and not self.outbox and self.current is None and not self.ready

    def _send_now(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except OSError:
            self.closing = True

    def close(self) -> None:
        for request in self.ready:
            if request.body is not None:
                request.body.close()
        self.ready.clear()
        try:
            self.sock.close()
        except OSError:
            pass

    # ── writing (the loop's part) ───────────────────────────────────────────────

    def flush(self) -> bool:
        """Send what the socket takes without blocking. True when the outbox is empty."""
        while self.outbox:
            part = self.outbox[0]
            if isinstance(part, FileWrapper):
                chunk = part.read_chunk()
                if not chunk:
                    part.close()
                    self.outbox.popleft()
                    continue
                self.outbox.appendleft(memoryview(chunk))
                continue
            try:
                sent = self.sock.send(part)
            except (BlockingIOError, InterruptedError):
                return False
            if sent < len(part):
                self.outbox[0] = memoryview(part)[sent:]
                return False
            self.outbox.popleft()
        return True


class _StopReading(Exception):
    """Raised inside a parser callback: the connection reads nothing more."""


class FileWrapper:
    """wsgi.file_wrapper: a file the loop streams to the client as it reads."""

    def __init__(self, filelike: Any, blksize: int = 64 * 1024) -> None:
        self.filelike = filelike
        self.blksize = max(blksize, 64 * 1024)

    def read_chunk(self) -> bytes:
        return bytes(self.filelike.read(self.blksize) or b"")

    def __iter__(self) -> Any:
        return iter(lambda: self.read_chunk(), b"")

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


# ── the WSGI side (lane threads) ─────────────────────────────────────────────────

_date_cache: list[Any] = [0, b""]


def _date_header() -> bytes:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = b"Date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        _date_cache[0] = now
    return bytes(_date_cache[1])


_EMPTY = io.BytesIO(b"")


def environ_for(conn: Connection, request: Request, base: dict[str, Any]) -> dict[str, Any]:
    url = bytes(request.url)
    if url.startswith(b"http://") or url.startswith(b"https://"):  # absolute-form target
        parsed = httptools.parse_url(url)
        path, query = parsed.path or b"/", parsed.query or b""
    else:
        path, _, query = url.partition(b"?")
        path = path.partition(b"#")[0]
        query = query.partition(b"#")[0]
    environ = dict(base)
    environ["REQUEST_METHOD"] = request.method
    environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["RAW_URI"] = url.decode("latin-1")
    environ["SERVER_PROTOCOL"] = f"HTTP/{request.version}"
    if isinstance(conn.peer, tuple):
        environ["REMOTE_ADDR"] = str(conn.peer[0])
        environ["REMOTE_PORT"] = str(conn.peer[1])
    else:
        environ["REMOTE_ADDR"] = ""
    if request.body is not None:
        request.body.seek(0)
        environ["wsgi.input"] = request.body
    else:
        environ["wsgi.input"] = io.BytesIO(b"")
    if request.too_large:
        environ["CONTENT_LENGTH"] = str(request.declared_length)
    elif request.body_length or request.declared_length is not None:
        environ["CONTENT_LENGTH"] = str(request.body_length)
    for name, value in request.headers:
        if b"_" in name:
            continue  # HTTP_X_FORWARDED_FOR must come from X-Forwarded-For, not X_Forwarded_For
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
            continue
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body as read is what the application gets
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class _Started:
    __slots__ = ("status", "headers")

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []


def respond(app: Callable[..., Iterable[bytes]], conn: Connection, request: Request, base: dict[str, Any]) -> bool:
    """Run the application for `request` and send its response. Runs on a lane thread,
    which owns the socket meanwhile; what the socket does not take at once is left in
    `conn.outbox` for the loop. Returns whether the connection may serve another request."""
    environ = environ_for(conn, request, base)
    started = _Started()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if exc_info is not None and started.status and getattr(started, "sent", False):
            raise exc_info[1].with_traceback(exc_info[2])
        started.status = status
        started.headers = headers
        return _no_write

    keep = request.keep_alive and not conn.closing
    try:
        try:
            result = app(environ, start_response)
        except Exception:
            logger.exception("application error on %s %s", request.method, environ.get("PATH_INFO"))
            return _send_simple(conn, "500 Internal Server Error", keep)
        try:
            return _send_result(conn, request, started, result, keep)
        finally:
            close = getattr(result, "close", None)
            if close is not None and not isinstance(result, FileWrapper):
                close()
    finally:
        if request.body is not None:
            request.body.close()


def _no_write(_data: bytes) -> None:
    raise RuntimeError("the write() callable of start_response is not supported")


def _send_simple(conn: Connection, status: str, keep: bool) -> bool:
    body = status.encode("latin-1")
    head = _head(status, [("Content-Type", "text/plain")], keep, len(body), "1.1")
    return _write_rest(conn, [head + body], None, keep)


def _head(status: str, headers: list[tuple[str, str]], keep: bool, length: int | None, version: str) -> bytes:
    lines = [b"HTTP/1.1 ", status.encode("latin-1"), b"\r\n"]
    for name, value in headers:
        if "\n" in value or "\r" in value:
            raise ValueError(f"header {name!r} holds a line break")
        lines += [name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n"]
    lines.append(_date_header())
    if length is not None:
        lines += [b"Content-Length: ", str(length).encode("ascii"), b"\r\n"]
    elif keep:
        lines.append(b"Transfer-Encoding: chunked\r\n")
    if not keep:
        lines.append(b"Connection: close\r\n")
    elif version == "1.0":
        lines.append(b"Connection: keep-alive\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def _send_result(conn: Connection, request: Request, started: _Started, result: Any, keep: bool) -> bool:
    headers = started.headers
    length: int | None = None
    for name, value in headers:
        lower = name.lower()
        if lower == "content-length":
            length = int(value)
        elif lower == "connection" and value.lower() == "close":
            keep = False
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "connection", "transfer-encoding")]
    status = started.status
    no_body = request.method == "HEAD" or status[:3].encode() in NO_BODY_STATUSES or status[:1] == "1"
    if isinstance(result, FileWrapper):
        if no_body:
            result.close()
            return _write_rest(conn, [_head(status, headers, keep, length or 0, request.version)], None, keep)
        if length is None:
            keep = False  # a file of unknown length ends with the connection
        return _write_rest(conn, [_head(status, headers, keep, length, request.version)], result, keep)
    # Collect up to BUFFER_RESPONSE_BYTES; most answers are one short chunk.
    parts: list[bytes] = []
    size = 0
    iterator = iter(result)
    streaming = False
    for chunk in iterator:
        if not chunk:
            continue
        parts.append(chunk)
        size += len(chunk)
        if size > BUFFER_RESPONSE_BYTES:
            streaming = True
            break
    if not status:
        raise RuntimeError("the application did not call start_response")
    if no_body:
        return _write_rest(conn, [_head(status, headers, keep, length or 0, request.version)], None, keep)
    if not streaming:
        if length is not None and length != size:
            keep = False
        return _write_rest(conn, [_head(status, headers, keep, size, request.version)] + parts, None, keep)
    # A long body of (possibly) unknown length: stream it from this thread.
    chunked = length is None and keep and request.version == "1.1"
    if length is None and not chunked:
        keep = False
    head = _head(status, headers, keep, length, request.version)
    if not _send_blocking(conn, [head] + [_frame(p, chunked) for p in parts]):
        return False
    buffered: list[bytes] = []
    pending = 0
    for chunk in iterator:
        if not chunk:
            continue
        buffered.append(_frame(chunk, chunked))
        pending += len(chunk)
        if pending >= STREAM_FLUSH_BYTES:
            if not _send_blocking(conn, buffered):
                return False
            buffered, pending = [], 0
    if chunked:
        buffered.append(b"0\r\n\r\n")
    return _write_rest(conn, buffered, None, keep)


def _frame(chunk: bytes, chunked: bool) -> bytes:
    if not chunked:
        return chunk
    return b"%x\r\n%b\r\n" % (len(chunk), chunk)


WRITE_STALL_S = 30.0


def _send_blocking(conn: Connection, parts: list[bytes]) -> bool:
    """Send everything, waiting for the socket (streamed bodies only). False when the client
    stopped reading for WRITE_STALL_S or went away."""
    data = memoryview(b"".join(parts))
    while data:
        try:
            sent = conn.sock.send(data)
            data = data[sent:]
        except (BlockingIOError, InterruptedError):
            _, writable, _ = select.select([], [conn.sock], [], WRITE_STALL_S)
            if not writable:
                conn.closing = True
                return False
        except OSError:
            conn.closing = True
            return False
    return True


def _write_rest(conn: Connection, parts: list[bytes], file: FileWrapper | None, keep: bool) -> bool:
    """Send what the socket takes now; leave the rest (and a file) to the loop."""
    data = b"".join(parts) if len(parts) > 1 else parts[0] if parts else b""
    try:
        sent = conn.sock.send(data) if data else 0
    except (BlockingIOError, InterruptedError):
        sent = 0
    except OSError:
        conn.closing = True
        if file is not None:
            file.close()
        return False
    if sent < len(data):
        conn.outbox.append(memoryview(data)[sent:])
    if file is not None:
        conn.outbox.append(file)
    if not keep:
        conn.closing = True
    return keep


def base_environ(server: tuple[str, str], url_scheme: str = "http") -> dict[str, Any]:
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": server[0],
        "SERVER_PORT": server[1],
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": url_scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }
