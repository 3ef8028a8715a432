"""Implementations of the runtime's host Protocols against Kiln's Redis and database.

The runtime never imports Django; these classes are what a KScript run can reach:
the app's own tables (through the isolation layer and the SQL gate), the client's
session in Redis, the app's other scripts (for `include`) and its other methods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

from runtime import HostError

SESSION_TTL_SECONDS = 3600


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


class RedisSessionStore:
    """K.session: one Redis hash per (app, sessionToken), kept one hour after last access."""

    def __init__(self, app_id: int, token: str) -> None:
        # The database name keeps installations (and parallel test databases) that share
        # one Redis apart: app ids are only unique within a database.
        database = settings.DATABASES["default"]["NAME"]
        self.key = f"kiln:{database}:session:{app_id}:{token}"

    def _touch(self, pipe: Any) -> None:
        pipe.expire(self.key, SESSION_TTL_SECONDS)

    def load(self) -> dict[str, Any]:
        pipe = redis_client().pipeline()
        pipe.hgetall(self.key)
        self._touch(pipe)
        raw = pipe.execute()[0]
        return {key.decode(): json.loads(value) for key, value in raw.items()}

    def set(self, key: str, value: Any) -> None:
        pipe = redis_client().pipeline()
        pipe.hset(self.key, key, json.dumps(value))
        self._touch(pipe)
        pipe.execute()

    def unset(self, key: str) -> None:
        redis_client().hdel(self.key, key)

    def clear(self) -> None:
        redis_client().delete(self.key)


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


__all__ = ["CallbackMethods", "HostError", "MappingScripts", "RedisSessionStore", "redis_client"]
