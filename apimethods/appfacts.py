"""What a client call needs to know about an app — id, secret, suspension, script time
limit, live deployment and schema version — cached per process, kept fresh by PostgreSQL.

Each process LISTENs on `kiln_app_facts`; triggers (migration 0004) NOTIFY an app's id in
the transaction that changes one of those facts, so the notification arrives once the
change is committed. `app_facts()` first drains what has arrived (one non-blocking read on
the listening connection) and drops those apps, then answers from the cache or reads the
database. A committed rotation, suspension, deploy or schema change is therefore seen by
every process's next request once PostgreSQL has delivered the notification — well under
a millisecond on one host (docs/decisions.md) — and by the process that made it at once
(model signals drop the entry when the change commits).

The database is read on every call, as without a cache, when no listening connection can
be had (it is retried every few seconds; a lost one empties the cache, as notifications may
have been missed) and inside a transaction, which may hold uncommitted changes of its own.

Any session can NOTIFY on any channel (PostgreSQL has no privilege for it), an app role's
too if SQL ever got past the K.query gate. So a notification counts only when the backend
that sent it is a platform session: one logged in as the role this listener logged in as,
or a superuser (asked of pg_stat_activity once per sender, the answer kept a few seconds).
A sender that has already gone counts — a platform connection that committed and closed
is the common case, and obeying a stray notification only costs one read.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

CHANNEL = "kiln_app_facts"
MAX_APPS = 10_000
RETRY_S = 5.0
SENDER_TTL_S = 10.0  # how long a sender's verdict is kept (a pid can be reused once it has gone)
MAX_SENDERS = 1_000
# The senders among these pids that are platform sessions; a pid missing from the answer has gone.
_SENDERS_QUERY = (
    "SELECT a.pid, r.rolname = session_user OR r.rolsuper"
    " FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.pid = ANY(%s)"
)

_COLUMNS = ("id", "secret_key", "suspended", "script_timeout_seconds", "live__deployment_id", "schema_version")
_query: str | None = None


def _facts_query() -> str:
    """App, live deployment and schema version in one statement (built once from the models)."""
    global _query
    if _query is None:
        from apimethods.models import LiveDeployment
        from console.apps.models import App
        from console.tables.models import TableSequence

        app, live, sequence = App._meta.db_table, LiveDeployment._meta.db_table, TableSequence._meta.db_table
        _query = (
            f'SELECT a."id", a."secret_key", a."suspended", a."script_timeout_seconds", l."deployment_id",'
            f' s."schema_version" FROM "{app}" a LEFT JOIN "{live}" l ON l."app_id" = a."id"'
            f' LEFT JOIN "{sequence}" s ON s."app_id" = a."id" WHERE a."api_key" = %s'
        )
    return _query


def read_app_facts(api_key: str) -> dict[str, Any] | None:
    """The app's facts straight from the database, or None for an unknown key."""
    # TRICKY: straight on the psycopg connection, past Django's cursor wrapper and its
    # per-request health check (a SELECT 1 round trip): this read is its own health
    # check — on a connection that died in between, reconnect once and ask again. It is
    # a prepared statement (planned once per connection), so the join costs no planning.
    query = _facts_query()
    for attempt in (1, 2):
        with connection.wrap_database_errors:
            connection.ensure_connection()
            raw = connection.connection
            try:
                row = psycopg.Cursor(raw).execute(query, [api_key], prepare=True).fetchone()
                break
            except psycopg.OperationalError:
                if attempt == 2 or not (raw.closed or raw.broken):
                    raise
        connection.close()
    return None if row is None else dict(zip(_COLUMNS, row, strict=True))


class AppFactsCache:
    """The per-process cache and its listening connection. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, dict[str, Any]] = {}
        self._key_of: dict[int, str] = {}
        self._listener: psycopg.Connection[Any] | None = None
        self._listener_pid = 0
        self._retry_at = 0.0
        # pid -> (a platform session?, when that was asked), for notifications' senders.
        self._senders: dict[int, tuple[bool, float]] = {}
        # Notifications psycopg received while the listener ran a query of ours.
        self._received: list[psycopg.Notify] = []
        # Bumped whenever entries are dropped: a read that raced a drop is not stored.
        self._generation = 0
        # Connections inherited through fork(): the parent still uses them. Kept referenced
        # so that garbage collection never closes them from here.
        self._inherited: list[psycopg.Connection[Any]] = []

    def get(self, api_key: str) -> dict[str, Any] | None:
        if connection.in_atomic_block:
            return read_app_facts(api_key)
        with self._lock:
            listening = self._drain()
            if listening:
                cached = self._facts.get(api_key)
                if cached is not None:
                    return cached
            generation = self._generation
        facts = read_app_facts(api_key)
        if facts is not None and listening:
            with self._lock:
                if generation == self._generation and self._listener is not None:
                    if len(self._facts) >= MAX_APPS:
                        self._forget_all()
                    self._facts[api_key] = facts
                    self._key_of[int(facts["id"])] = api_key
        return facts

    def forget(self, app_id: int) -> None:
        with self._lock:
            self._forget(app_id)

    def close(self) -> None:
        with self._lock:
            self._drop_listener()

    # -- under the lock ------------------------------------------------------------------

    def _drain(self) -> bool:
        """Apply the notifications that have arrived; False when there is no listener."""
        if self._listener is not None and self._listener_pid != os.getpid():
            self._inherited.append(self._listener)
            self._listener = None
            self._forget_all()
        if self._listener is None and not self._listen():
            return False
        assert self._listener is not None
        pgconn = self._listener.pgconn
        try:
            pgconn.consume_input()  # never blocks
            notes = [(note.be_pid, note.extra) for note in iter(pgconn.notifies, None)]
            notes += [(note.pid, note.payload.encode()) for note in self._received]
            self._received.clear()
            if notes:
                platform = self._platform_senders({pid for pid, _ in notes})
                for pid, payload in notes:
                    if pid not in platform:
                        continue  # sent by a session that is not Kiln's: ignored
                    try:
                        self._forget(int(payload))
                    except ValueError:  # not an app id: not ours
                        self._generation += 1
        except psycopg.Error:
            self._drop_listener()
            return False
        return True

    def _platform_senders(self, pids: set[int]) -> set[int]:
        """Those of `pids` that are platform sessions, or have gone; one query for the unknown."""
        assert self._listener is not None
        now = time.monotonic()
        unknown = [pid for pid in pids if now - self._senders.get(pid, (False, -SENDER_TTL_S))[1] >= SENDER_TTL_S]
        if unknown:
            if len(self._senders) + len(unknown) > MAX_SENDERS:
                self._senders.clear()
            answers = dict(self._listener.execute(_SENDERS_QUERY, [unknown]).fetchall())
            for pid in unknown:
                if pid in answers:
                    self._senders[pid] = (bool(answers[pid]), now)
                else:
                    self._senders.pop(pid, None)  # gone: obeyed, and asked again if it comes back
        return {pid for pid in pids if self._senders.get(pid, (True, now))[0]}

    def _listen(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        params = dict(connection.get_connection_params())
        params.pop("context", None)
        params.update(autocommit=True, application_name="kiln app facts")
        try:
            listener = psycopg.Connection.connect(**params)
            listener.execute(f"LISTEN {CHANNEL}")
            # TRICKY: with a handler, what arrives while _platform_senders' query runs is
            # handed here instead of to psycopg's backlog, which nothing here reads.
            listener.add_notify_handler(self._received.append)
        except psycopg.Error:
            self._retry_at = now + RETRY_S
            return False
        self._listener, self._listener_pid = listener, os.getpid()
        self._forget_all()  # what was read before listening may have changed unseen
        return True

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        self._forget_all()
        if listener is not None and self._listener_pid == os.getpid():
            try:
                listener.close()
            except psycopg.Error:
                pass

    def _forget(self, app_id: int) -> None:
        self._generation += 1
        key = self._key_of.pop(app_id, None)
        if key is not None:
            self._facts.pop(key, None)

    def _forget_all(self) -> None:
        self._generation += 1
        self._facts.clear()
        self._key_of.clear()


_cache = AppFactsCache()


def app_facts(api_key: str) -> dict[str, Any] | None:
    """The facts of the app with this API key (None when there is none)."""
    return _cache.get(api_key)


def close() -> None:
    """Stop listening and empty the cache (the next call listens again)."""
    _cache.close()


def _on_commit_forget(app_id: Any) -> None:
    if app_id is not None:
        transaction.on_commit(lambda: _cache.forget(int(app_id)))


def connect_signals() -> None:
    """Changes made in this process drop the app's entry as they commit, without waiting
    for the notification to come back (the triggers cover every other process)."""
    from apimethods.models import LiveDeployment
    from console.apps.models import App
    from console.tables.models import TableSequence, schema_changed

    def app_changed(sender: Any, instance: Any, **_: Any) -> None:
        _on_commit_forget(instance.pk if sender is App else instance.app_id)

    for model in (App, LiveDeployment, TableSequence):
        post_save.connect(app_changed, sender=model, weak=False, dispatch_uid=f"appfacts-save-{model.__name__}")
        post_delete.connect(app_changed, sender=model, weak=False, dispatch_uid=f"appfacts-delete-{model.__name__}")
    schema_changed.connect(
        lambda sender, app_id, **_: _cache.forget(int(app_id)), weak=False, dispatch_uid="appfacts-schema"
    )
