"""Implementations of the runtime's host Protocols against Kiln's Redis and database.

The runtime never imports Django; these classes are what a KScript run can reach:
the app's own tables (through the isolation layer and the SQL gate), the client's
session in Redis, the app's other scripts (for `include`) and its other methods.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

from runtime import HostError

SESSION_TTL_SECONDS = 3600

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


# The session's size in bytes (every key plus its JSON value) lives in the hash itself, so
# it expires and is evicted together with the values it counts. Scripts cannot name this
# field: session keys with NUL are refused.
SIZE_FIELD = "\x00size"

# KEYS[1] the session; ARGV key, value (JSON), total cap, TTL, size field.
# Returns {stored 0/1, size}.
# TRICKY: one script, so the check and the write are atomic; its only write command comes
# first, so when Redis is out of memory that write fails and nothing at all is written.
_SET_LUA = """
local size = redis.call('HGET', KEYS[1], ARGV[5])
if size then
  size = tonumber(size)
else
  size = 0  -- a session stored before sizes were kept: count it once
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do size = size + #all[i] + #all[i + 1] end
end
local old = redis.call('HSTRLEN', KEYS[1], ARGV[1])
if old > 0 then old = old + #ARGV[1] end
local new = size - old + #ARGV[1] + #ARGV[2]
if new > tonumber(ARGV[3]) then return {0, size} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[5], new)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, new}
"""

# KEYS[1] the session; ARGV key, size field. Removes the key and takes its bytes off.
_UNSET_LUA = """
local old = redis.call('HSTRLEN', KEYS[1], ARGV[1])
if old == 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then
  if redis.call('HLEN', KEYS[1]) == 1 then
    redis.call('DEL', KEYS[1])
  else
    redis.call('HINCRBY', KEYS[1], ARGV[2], -(old + #ARGV[1]))
  end
end
return 1
"""


class SessionFull(HostError):
    """A K.session write over a cap, or refused because Redis is out of memory."""


class RedisSessionStore:
    """K.session: one Redis hash per (app, sessionToken), kept one hour after last access.

    Bounded: one value may take KILN_SESSION_VALUE_BYTES and the whole session (keys and
    values) KILN_SESSION_BYTES, as compact UTF-8 JSON; a write over either is refused with
    nothing written. Redis errors (out of memory, unreachable) reach the script as a thrown
    error, never as a crash of the call."""

    def __init__(self, app_id: int, token: str, client: redis.Redis | None = None) -> None:
        # The database name keeps installations (and parallel test databases) that share
        # one Redis apart: app ids are only unique within a database.
        database = settings.DATABASES["default"]["NAME"]
        self.key = f"kiln:{database}:session:{app_id}:{token}"
        self.client = client if client is not None else redis_client()

    def load(self) -> dict[str, Any]:
        with _redis_errors("read"):
            # TRICKY: no MULTI: Redis refuses every command queued in a transaction while it
            # is out of memory, reads included; these two need no atomicity.
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(self.key)
            pipe.expire(self.key, SESSION_TTL_SECONDS)
            raw = pipe.execute()[0]
        return {key.decode(): json.loads(value) for key, value in raw.items() if key != _SIZE_FIELD_BYTES}

    def set(self, key: str, value: Any) -> None:
        if "\x00" in key:
            raise HostError("K.session keys cannot contain NUL characters")
        encoded = _encode(key, value)
        value_cap = settings.KILN_SESSION_VALUE_BYTES
        if len(encoded) > value_cap:
            raise SessionFull(
                f"K.session.{key} was not stored: its value takes {len(encoded)} bytes as JSON, "
                f"more than the {value_cap} bytes one value may take"
            )
        total_cap = settings.KILN_SESSION_BYTES
        with _redis_errors("write"):
            stored, size = self.client.eval(
                _SET_LUA, 1, self.key, key, encoded, total_cap, SESSION_TTL_SECONDS, SIZE_FIELD
            )
        if not stored:
            raise SessionFull(
                f"K.session.{key} was not stored: the session would take more than {total_cap} bytes "
                f"(it holds {size}); unset values it no longer needs"
            )

    def unset(self, key: str) -> None:
        with _redis_errors("write"):
            self.client.eval(_UNSET_LUA, 1, self.key, key, SIZE_FIELD)

    def clear(self) -> None:
        with _redis_errors("write"):
            self.client.delete(self.key)


_SIZE_FIELD_BYTES = SIZE_FIELD.encode()


def _encode(key: str, value: Any) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):
        raise HostError(f"K.session.{key} was not stored: the value cannot be written as JSON") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (possible in a JS string) has no UTF-8 form: keep JSON's escape.
        return json.dumps(value, separators=(",", ":")).encode("ascii")


@contextmanager
def _redis_errors(action: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        # redis-py strips the "OOM" code from a plain command's error but not from one
        # raised inside a script: both name maxmemory.
        if isinstance(exc, redis.exceptions.OutOfMemoryError) or "maxmemory" in str(exc):
            # Redis is at maxmemory with nothing it may evict (see docs/decisions.md, Redis).
            logger.warning("K.session %s refused: Redis is out of memory", action)
            raise SessionFull("K.session was not stored: the server's session memory is full") from None
        logger.warning("K.session %s failed: %s", action, exc)
        raise HostError(f"K.session could not {action} the session: the session store is unavailable") from None


class MappingScripts:
    """`include` resolved from the methods in scope (a deployment, or the drafts): a
    mapping of name to anything with a `code`, read only when a script includes one."""

    def __init__(self, methods: Mapping[str, Any]) -> None:
        self.methods = methods

    def load(self, name: str) -> str | None:
        method = self.methods.get(name)
        return None if method is None else str(method.code)


class CallbackMethods:
    """`K.callAPIMethod` resolved by a callback that knows which methods are visible."""

    def __init__(self, call: Callable[[str, Mapping[str, Any]], Any]) -> None:
        self._call = call

    def call(self, name: str, params: Mapping[str, Any]) -> Any:
        return self._call(name, params)


__all__ = ["CallbackMethods", "HostError", "MappingScripts", "RedisSessionStore", "SessionFull", "redis_client"]
