"""The event stream and users as a KScript run reaches them (runtime.host.Analytics).

TRICKY: host calls are served on the V8 isolate's thread, where a Django connection would
be opened per isolate thread and never closed. So an invocation that asks for events or
users gets a platform connection of its own, opened at its first such call and closed when
the invocation ends (`analytics_scope`). Every statement has a timeout of at most the time
the invocation has left.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

from console.events import queries
from runtime import Deadline, HostError


class AppAnalytics:
    def __init__(self, app_id: int, deadline: Deadline | None = None) -> None:
        self.app_id = app_id
        self.deadline = deadline
        self._connection: psycopg.Connection[Any] | None = None

    def _execute(self, text: str, params: list[Any]) -> list[tuple[Any, ...]]:
        timeout_ms = settings.KILN_EVENT_QUERY_TIMEOUT_MS
        if self.deadline is not None:
            left_ms = int(self.deadline.remaining() * 1000)
            if left_ms <= 0:
                raise HostError("the run's time is up")
            timeout_ms = min(timeout_ms, left_ms)
        try:
            if self._connection is None:
                params_ = connection.get_connection_params()
                # Django's loaders keep jsonb as text; these reads want Python values.
                params_.pop("context", None)
                params_.pop("cursor_factory", None)
                self._connection = psycopg.connect(**params_, autocommit=True)
            with self._connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{max(1, timeout_ms)}ms"])
                cursor.execute(text, params)
                return cursor.fetchall()
        except psycopg.errors.QueryCanceled:
            raise HostError("reading the events took too long") from None
        except psycopg.Error as exc:
            raise HostError(f"the events could not be read: {type(exc).__name__}") from None

    def events(
        self, query: Mapping[str, Any], after: Sequence[Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], list[Any] | None]:
        try:
            cursor = queries.parse_cursor(after)
        except queries.BadCursor as exc:
            raise HostError(str(exc)) from None
        rows = self._execute(*queries.event_page_sql(self.app_id, query, cursor, limit))
        include = list(query.get("include") or ())
        events = [queries.event_object(row, include) for row in rows]
        return events, (queries.cursor_of(rows[-1]) if len(rows) == limit else None)

    def user_attributes(self, user_id: str) -> dict[str, Any]:
        rows = self._execute(*queries.user_attributes_sql(self.app_id, user_id))
        return dict(rows[0][0]) if rows and isinstance(rows[0][0], dict) else {}

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


@contextmanager
def analytics_scope(app_id: int, deadline: Deadline | None = None) -> Iterator[AppAnalytics]:
    analytics = AppAnalytics(app_id, deadline)
    try:
        yield analytics
    finally:
        analytics.close()
