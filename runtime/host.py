"""What the runtime needs from its caller, as Protocols. `runtime/` never imports Django:
the caller (the Django side) implements these against PostgreSQL and Redis and hands an
`Host` bundle to `run_script`.

Structured database requests (`Database.run`) are plain dicts, already validated by the
runtime before they reach the host (field names match ``[A-Za-z_][A-Za-z0-9_]*``):

    {
      "action":  "select" | "insert" | "update" | "delete",
      "table":   "12_34_posts",               # the table alias, as the script wrote it
      "filters": [                            # AND-ed; [] when none
          {"field": "authorID", "op": "=", "value": 7},
          {"field": "score", "op": ">=", "value": 1.5},
          {"field": "title", "op": "LIKE", "value": "a%"},
          {"field": "state", "op": "IN", "value": ["new", "open"]},
      ],                                      # op is one of FILTER_OPS
      "sort":    [{"field": "timeCreated", "direction": "DESC"}],   # select only
      "limit":   10 | None,                   # select only
      "offset":  0 | None,                    # select only
      "values":  {"body": "hi"} | None,       # insert / update only
      "force_all": False,                     # delete only: True when .forceDeleteAll()
    }

`value`s are JSON values (str, int, float, bool, None; lists for IN). The host returns:
select -> list of row dicts (or that list already encoded, as `JSONText`); insert -> the
new record id; update -> number of records actually changed; delete -> number of records
deleted. A database problem raises `HostError(message)`; the script then sees a failure
value whose `.error` is the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.result import LogEntry

JSONValue = Any


class JSONText(str):
    """A host call's value already encoded as JSON text: it goes to the script as it is,
    not through the runtime's encoder (K.select's rows come out of PostgreSQL this way)."""


FILTER_OPS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "IN", "NOT IN")


class HostError(Exception):
    """Raised by a host implementation; becomes a failure value in the script."""


class Database(Protocol):
    def query(self, sql: str, params: Sequence[JSONValue]) -> list[dict[str, JSONValue]] | int:
        """Run one MySQL-dialect statement written by the script (`K.query`), through the
        SQL gate, as the app's role. SELECT returns rows; INSERT returns the new id;
        UPDATE/DELETE return the affected row count."""
        ...

    def run(self, request: Mapping[str, Any]) -> list[dict[str, JSONValue]] | JSONText | int:
        """Run a structured request (shape in the module docstring)."""
        ...


class SessionStore(Protocol):
    """Key/value store of the *current* client session (already bound to app + token).
    Values are JSON values."""

    def load(self) -> dict[str, JSONValue]: ...

    def set(self, key: str, value: JSONValue) -> None: ...

    def unset(self, key: str) -> None: ...

    def clear(self) -> None: ...


class ScriptLoader(Protocol):
    def load(self, name: str) -> str | None:
        """Source of the app's KScript method `name` (for `include`), None if unknown."""
        ...


class MethodCaller(Protocol):
    def call(self, name: str, params: Mapping[str, JSONValue]) -> JSONValue:
        """Run the app's API method `name` (drag-and-drop or KScript) and return its payload.
        Raise HostError for an unknown method or a failed call."""
        ...


class Analytics(Protocol):
    """The app's client event stream and users (K.analytics, K.users). Queries come
    validated by runtime/binds/analytics.py:

        {
          "types":   ["product.viewed", "k.*"] | None,   # `*` is a wildcard; None: any type
          "gte":     "2025-01-01T00:00:00+00:00" | None, # inclusive bounds, ISO 8601 with offset
          "lte":     "..." | None,
          "include": ["data", "user", "userAttributes"],  # any of these
          "filters": [{"source": "data" | "user", "path": ["location", "state"],
                       "op": "$eq" | "$lt" | "$gt" | "$lte" | "$gte", "value": str | int | float | bool}],
        }
    """

    def events(
        self, query: Mapping[str, Any], after: Sequence[JSONValue] | None, limit: int
    ) -> tuple[list[dict[str, JSONValue]], list[JSONValue] | None]:
        """Up to `limit` events after the cursor `after` (None: from the start), oldest
        first, and the cursor of the last one (None when there are no more). Events are
        `{type, uuid, happenedAt, timestamp, installId}` plus what `include` asks for."""
        ...

    def user_attributes(self, user_id: str) -> dict[str, JSONValue]:
        """The user's attributes; {} for an unknown user."""
        ...


@dataclass(frozen=True)
class Host:
    """Everything a run may reach outside V8. Any part may be None: the script then gets
    a failure value (database, methods, analytics) or an empty result (includes, session).

    `interrupt`, when given, is called from the thread that waits for the run (not the one
    running the host call) as soon as the run's deadline passes while a host call is still
    in progress: it stops that call (cancels the running SQL), which then returns or raises
    soon. It may be called more than once per run (nested runs share a deadline and each
    engine sees it pass) and must be safe to call when nothing is running. If the call has
    not returned `_CANCEL_GRACE_S` (2 s) later, the run reports its timeout anyway.
    Without it, the run waits for the host call up to a minute (its SQL is bounded by the
    statement timeout).

    `on_log`, when given, is called with each log entry the run keeps (within the log
    caps), as the script writes it, on the thread running the script: it must be quick
    (Run It! shows logs live). Each entry then costs a host call."""

    database: Database | None = None
    session: SessionStore | None = None
    scripts: ScriptLoader | None = None
    methods: MethodCaller | None = None
    interrupt: Callable[[], None] | None = None
    analytics: Analytics | None = None
    on_log: Callable[[LogEntry], None] | None = None
