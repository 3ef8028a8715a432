"""Lanes: which thread pool serves a request, and how many requests of one tenant run at once.

A request is classified by its path alone (`classify`): client API calls go to the
`client` lane with their API key as tenant, and the SDKs' other calls (`/v1/…`: events,
push channels, crash reports) to it as a tenant of their own per API key, taken from the
Basic credentials (`SDK_TENANT` when there are none); console calls that name an app
(`/api/apps/<id>/…`, Run It! included) go to the `console` lane with that app as tenant;
everything else (pages, static files, sign-in) is the console lane's shared tenant.

Admission (`Lane.submit` / `Lane.finished`) is bookkeeping under one lock per lane (the
loop submits; a lane thread usually finishes its own request): a tenant has at most
`per_tenant` requests queued for or running on the lane's threads; further ones wait in
the tenant's own FIFO for at most `max_wait_s` (and at most `max_waiting` of them), then
get the lane's busy answer, which `refuse` gives on the loop's thread. A
flood from one app therefore occupies at most `per_tenant` threads of each process and
never delays another tenant's requests by more than the time to start them.
"""

from __future__ import annotations

import binascii
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CLIENT_LANE = "client"
CONSOLE_LANE = "console"
SHARED_TENANT = b""
# The SDKs' /v1/ calls: background traffic, so all of it together gets one tenant's share
# of the client threads. Refused with HTTP 503 (which they retry), not with an envelope.
SDK_TENANT = b"sdk"

# The client routes of console/urls.py (b2, b2.2, …, with the leading slashes clients
# sometimes double), and the console API's per-app prefix.
_CLIENT_PATH = re.compile(rb"^/+b2(?:\.[0-9]+)?/+([^/?]*)")
_APP_PATH = re.compile(rb"^/+api/apps/([0-9]+)/")
_SDK_PATH = re.compile(rb"^/+v1/")


def classify(path: bytes, authorization: bytes | None = None) -> tuple[str, bytes]:
    """(lane, tenant) for a request path (raw bytes, before percent-decoding) and its
    Authorization header."""
    match = _CLIENT_PATH.match(path)
    if match is not None:
        return CLIENT_LANE, b"k:" + match.group(1)
    if _SDK_PATH.match(path) is not None:
        key = _basic_user(authorization)
        return CLIENT_LANE, (b"s:" + key) if key else SDK_TENANT
    match = _APP_PATH.match(path)
    if match is not None:
        return CONSOLE_LANE, b"a:" + match.group(1)
    return CONSOLE_LANE, SHARED_TENANT


def _basic_user(authorization: bytes | None) -> bytes:
    if not authorization or authorization[:6].lower() != b"basic ":
        return b""
    try:
        decoded = binascii.a2b_base64(authorization[6:].strip())
    except binascii.Error:
        return b""
    return decoded.partition(b":")[0][:128]


def answers_with_envelope(lane: str, tenant: bytes) -> bool:
    """Whether the serving layer refuses this request with a Kumulos envelope (HTTP 200,
    what RPC clients read) rather than an HTTP error status."""
    return lane == CLIENT_LANE and tenant.startswith(b"k:")


@dataclass
class LaneConfig:
    name: str
    threads: int
    per_tenant: int  # requests of one tenant queued for or running on the threads
    max_wait_s: float  # how long a request waits for one of its tenant's slots
    max_waiting: int  # requests of one tenant waiting for a slot; more are refused at once
    shared_per_tenant: int | None = None  # limit for SHARED_TENANT (None: the thread count)


@dataclass
class _Waiting:
    item: Any
    since: float


@dataclass
class Lane:
    """A thread pool with per-tenant admission. `submit` and `expire` run on the event loop's
    thread, `finished` on any; `handler(item)` runs on the lane's threads."""

    config: LaneConfig
    handler: Callable[[Any], None]
    refuse: Callable[[Any], None]  # answers an item that waited too long (on the loop thread)
    running: dict[bytes, int] = field(default_factory=dict)
    waiting: dict[bytes, deque[_Waiting]] = field(default_factory=dict)
    refused: int = 0
    _work: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for number in range(self.config.threads):
            thread = threading.Thread(target=self._serve, name=f"kiln-{self.config.name}-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float) -> None:
        for _ in self._threads:
            self._work.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _serve(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            self.handler(item)

    def _limit(self, tenant: bytes) -> int:
        if tenant == SHARED_TENANT:
            return self.config.shared_per_tenant or self.config.threads
        return self.config.per_tenant

    def submit(self, tenant: bytes, item: Any) -> None:
        with self._lock:
            running = self.running.get(tenant, 0)
            if running < self._limit(tenant):
                self.running[tenant] = running + 1
                self._work.put(item)
                return
            waiting = self.waiting.setdefault(tenant, deque())
            refused = len(waiting) >= self.config.max_waiting
            if refused:
                self.refused += 1
            else:
                waiting.append(_Waiting(item, time.monotonic()))
        if refused:
            self.refuse(item)  # outside the lock: answering may submit the connection's next request

    def finished(self, tenant: bytes) -> None:
        """One of the tenant's requests is done: start its next waiting one, if any."""
        with self._lock:
            waiting = self.waiting.get(tenant)
            if waiting:
                self._work.put(waiting.popleft().item)
                if not waiting:
                    del self.waiting[tenant]
                return
            left = self.running.get(tenant, 1) - 1
            if left > 0:
                self.running[tenant] = left
            else:
                self.running.pop(tenant, None)

    def expire(self, now: float) -> None:
        """Refuse requests that waited longer than max_wait_s."""
        limit = self.config.max_wait_s
        late: list[Any] = []
        with self._lock:
            for tenant in list(self.waiting):
                waiting = self.waiting[tenant]
                while waiting and now - waiting[0].since >= limit:
                    late.append(waiting.popleft().item)
                if not waiting:
                    del self.waiting[tenant]
            self.refused += len(late)
        for item in late:
            self.refuse(item)

    def queued(self) -> int:
        return sum(len(w) for w in self.waiting.values())
