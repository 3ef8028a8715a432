"""The one way to run SQL against an app's data: on a connection that logged in as the app's role.

Every app has a schema (`app_<id>`) and a LOGIN role with rights on that schema only
(ddl.create_app_space). App SQL never runs on the platform's (superuser) connection:
`app_cursor` (and scripting.script_database) lease a connection whose *session user* is
the app role, started with `search_path` = the app's schema, a `statement_timeout` and
`TimeZone=UTC`, so a block needs no set-up round trips and there is nobody to become:
`RESET SESSION AUTHORIZATION` stays the app role, `SET SESSION AUTHORIZATION`, `SET ROLE`
and `set_config('role', …)` are refused by PostgreSQL itself. User-written SQL still
passes `sqlgate` first (one statement, allowlisted functions) — `run_user_sql` does both.

Connections are pooled per process, keyed by server, database and app: a lease is
exclusive to one invocation (its nested blocks and runs share it), and up to
`KILN_APP_CONNECTIONS` idle ones are kept, least recently used closed first. Releasing one
ends its transaction and resets its settings in one round trip, so whatever SQL ran on it,
the next lease finds the settings it started with. When the server asks for a password it
is an HMAC of SECRET_KEY and the role name, so nothing new is stored; a role that cannot
log in (made before roles could, or after SECRET_KEY changed) is repaired once on the way.
The app's transaction is its own: it commits or rolls back with the outermost `app_cursor`
block (or the script invocation), never with the platform's transaction; DDL stays on the
platform connection.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import DatabaseErrorWrapper
from psycopg import sql
from psycopg.pq import TransactionStatus

from console.tables import ddl

DEFAULT_TIMEOUT_MS = 5_000
DEFAULT_CONNECTIONS = 8
_known_spaces: set[tuple[str, int]] = set()


def database_name() -> str:
    return str(connection.settings_dict["NAME"])


def app_role(app_id: int) -> str:
    return ddl.role_name(app_id, database_name())


def role_password(role: str) -> str:
    """The app role's password: derived from SECRET_KEY, so it is never stored."""
    return hmac.new(settings.SECRET_KEY.encode(), f"kiln app role {role}".encode(), hashlib.sha256).hexdigest()


def ensure_app_space(app_id: int) -> None:
    """Create the app's role and schema if they are missing (idempotent, in the caller's transaction)."""
    key = (database_name(), int(app_id))
    if key in _known_spaces:
        return
    schema, role = ddl.schema_name(app_id), app_role(app_id)
    with connection.cursor() as cur:
        _create_space(cur, schema, role)
    # Remember it only once this transaction has committed (a rollback may undo it).
    transaction.on_commit(lambda: _known_spaces.add(key))


def _create_space(cur: Any, schema: str, role: str) -> None:
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s),"
        " EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
        [schema, role],
    )
    has_schema, has_role = cur.fetchone()
    if not has_schema:
        if has_role:
            # A role left behind by a dropped database of the same name: start clean.
            cur.execute(ddl.drop_app_space(schema, role))
        cur.execute(ddl.create_app_space(schema, role, role_password(role)))


def drop_app_space(app_id: int) -> None:
    """Drop the app's schema (with every table) and its role; call inside the app's deletion."""
    close_app_connections(app_id, every_thread=True)  # those in use never return to the pool
    with connection.cursor() as cur:
        cur.execute(ddl.drop_app_space(ddl.schema_name(app_id), app_role(app_id)))
    _known_spaces.discard((database_name(), int(app_id)))


def default_timeout_ms(timeout_ms: int | None = None) -> int:
    if timeout_ms is not None:
        return int(timeout_ms)
    return int(getattr(settings, "KILN_APP_SQL_TIMEOUT_MS", DEFAULT_TIMEOUT_MS))


# ── errors: the app connection raises Django's exceptions, like the platform's ────────


class _DriverErrors:
    Database = psycopg
    errors_occurred = False


_ERRORS = DatabaseErrorWrapper(_DriverErrors())


class AppCursor:
    """A psycopg cursor on an app connection whose errors are Django's DatabaseError family
    (with the psycopg error as `__cause__`). `.cursor` is the raw one, e.g. for COPY.
    `owner`: the connection to mark for a settings reset, when the SQL may be anyone's."""

    def __init__(self, raw: psycopg.Cursor[Any], owner: AppConnection | None = None) -> None:
        self.cursor = raw
        self.owner = owner

    def execute(self, query: Any, params: Sequence[Any] | None = None, *, prepare: bool | None = None) -> AppCursor:
        if self.owner is not None:
            self.owner.dirty = True
        with _ERRORS:
            self.cursor.execute(query, params, prepare=prepare)
        return self

    def fetchone(self) -> Any:
        with _ERRORS:
            return self.cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with _ERRORS:
            return self.cursor.fetchall()

    def fetchmany(self, size: int = 0) -> list[Any]:
        with _ERRORS:
            return self.cursor.fetchmany(size)

    @property
    def description(self) -> Any:
        return self.cursor.description

    @property
    def pgresult(self) -> Any:
        return self.cursor.pgresult

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


# ── the connections ───────────────────────────────────────────────────────────────

# TRICKY: a release ends the transaction and resets every setting in the same round trip.
# A script's SQL could have changed a session setting (set_config(..., false) in a committed
# transaction): RESET ALL puts back the values the connection started with (its start-up
# options are the reset values), so the next lease sees search_path, statement_timeout and
# TimeZone pinned whatever ran before. Kiln's own prepared statements survive it.
_END = {True: "COMMIT; RESET ALL", False: "ROLLBACK; RESET ALL"}


class AppConnection:
    """One connection logged in as an app's role. The outermost user ends its transaction."""

    def __init__(self, app_id: int, conn: psycopg.Connection[Any], timeout_ms: int) -> None:
        self.app_id = app_id
        self.conn = conn
        self.timeout_ms = timeout_ms  # the statement_timeout the connection started with
        self.users = 0
        # SQL Kiln did not write ran on it outside a transaction: RESET ALL at release.
        self.dirty = False
        # Closed at release instead of going back to the pool (its app is being deleted).
        self.retired = False
        self.key: tuple[Any, ...] = ()
        self._holder: dict[tuple[Any, ...], AppConnection] | None = None
        self._savepoints = 0
        self._prepared: AppCursor | None = None

    def cursor(self) -> AppCursor:
        """A cursor for any SQL (user-written, or a caller's own): using it outside a
        transaction has the settings reset when the lease ends."""
        return AppCursor(self.conn.cursor(), self)

    def own_cursor(self) -> AppCursor:
        """A cursor for SQL Kiln composed itself, which never changes a setting."""
        return AppCursor(self.conn.cursor())

    def prepared_cursor(self) -> AppCursor:
        """A server-side binding cursor, for Kiln's own statements run with `prepare=True`
        (planned once per connection). User SQL keeps the client-side binding of `cursor`."""
        if self._prepared is None:
            self._prepared = AppCursor(psycopg.Cursor(self.conn))
        return self._prepared

    def usable(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def _control(self, statement: Any) -> None:
        with _ERRORS:
            self.conn.execute(statement)

    def begin(self, timeout_ms: int) -> None:
        if timeout_ms == self.timeout_ms:
            self._control("BEGIN")
        else:
            self._control(sql.SQL("BEGIN; SET LOCAL statement_timeout = {}").format(sql.Literal(int(timeout_ms))))

    def commit(self) -> None:
        self._control("COMMIT")

    def rollback(self) -> None:
        if self.usable() and self.in_transaction():
            self._control("ROLLBACK")

    def end(self, *, commit: bool) -> None:
        """End the lease's work: commit (or roll back) what is open and reset every setting,
        in one round trip; nothing at all for a lease that only ran Kiln's own reads."""
        if self.in_transaction():
            self._control(_END[commit])
        elif self.dirty:
            self._control("RESET ALL")
        self.dirty = False

    @contextmanager
    def savepoint(self, timeout_ms: int | None = None) -> Iterator[None]:
        """A savepoint around the block; `timeout_ms`: the statement timeout from here on,
        set in the same round trip."""
        self._savepoints += 1
        name = sql.Identifier(f"kiln_{self._savepoints}")
        if timeout_ms is None:
            self._control(sql.SQL("SAVEPOINT {}").format(name))
        else:
            self._control(
                sql.SQL("SAVEPOINT {}; SET LOCAL statement_timeout = {}").format(name, sql.Literal(int(timeout_ms)))
            )
        try:
            yield
        except BaseException:
            if self.usable():
                self._control(sql.SQL("ROLLBACK TO SAVEPOINT {0}; RELEASE SAVEPOINT {0}").format(name))
            raise
        self._control(sql.SQL("RELEASE SAVEPOINT {}").format(name))

    @contextmanager
    def block(self, timeout_ms: int, atomic: bool = True) -> Iterator[None]:
        """All-or-nothing work: a savepoint inside an open transaction, else a transaction
        (which the outermost user commits). Non-atomic reads run without one."""
        if self.in_transaction():
            with self.savepoint():
                yield
        elif atomic or timeout_ms != self.timeout_ms:
            self.begin(timeout_ms)
            try:
                yield
            except BaseException:
                self.rollback()  # begun here: nothing else is in it
                raise
        else:
            yield

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


# The pool is the process's, shared by its threads: a thread keeps only the connections its
# invocation holds right now (nested blocks and runs share them), so a threaded server
# holds as many app connections as it runs invocations, plus the idle ones it keeps.
_lock = threading.Lock()
# Every idle connection, least recently released first (closed first past the cap) ...
_idle: OrderedDict[AppConnection, None] = OrderedDict()
# ... and the same ones by app key, most recently released last (taken first: its plans
# and caches are the warmest).
_idle_by_key: dict[tuple[Any, ...], list[AppConnection]] = {}
_every: weakref.WeakSet[AppConnection] = weakref.WeakSet()  # open ones, for close_app_connections


class _Held(threading.local):
    def __init__(self) -> None:
        self.by_key: dict[tuple[Any, ...], AppConnection] = {}


_held = _Held()


def _key(app_id: int) -> tuple[Any, ...]:
    s = connection.settings_dict
    return (s["NAME"], s.get("HOST"), s.get("PORT"), int(app_id))


def _connect_params(app_id: int, timeout_ms: int) -> dict[str, Any]:
    params = dict(connection.get_connection_params())
    role = app_role(app_id)
    # Startup options outrank defaults a role may have set on itself (ALTER ROLE … SET), and
    # RESET ALL at every release returns to them: these stay pinned whatever app SQL ran.
    startup = (
        f"-c search_path={ddl.schema_name(app_id)} -c statement_timeout={int(timeout_ms)} -c TimeZone=UTC"
        " -c standard_conforming_strings=on -c DateStyle=ISO -c IntervalStyle=postgres -c bytea_output=hex"
        " -c default_transaction_read_only=off -c client_min_messages=notice"
    )
    params.update(
        user=role,
        password=role_password(role),
        options=f"{params.get('options', '')} {startup}".strip(),
        application_name=f"kiln app {int(app_id)}",
        autocommit=True,
    )
    # Django's cursor class (client-side binding) is kept, its adapters are not: they load
    # timestamptz in Python, psycopg's own (C) loaders give the same aware UTC datetimes
    # here because the connection starts with TimeZone=UTC; app tables have no JSON or inet
    # columns, the other things Django's adapters change.
    params.pop("context", None)
    return params


def _open(app_id: int) -> AppConnection:
    timeout_ms = default_timeout_ms()
    params = _connect_params(app_id, timeout_ms)
    try:
        conn = psycopg.Connection.connect(**params)
    except psycopg.OperationalError:
        # The role may be missing, unable to log in, or have an old password: repair, retry once.
        _repair_login(app_id)
        with _ERRORS:
            conn = psycopg.Connection.connect(**params)
    opened = AppConnection(int(app_id), conn, timeout_ms)
    _every.add(opened)
    return opened


def _repair_login(app_id: int) -> None:
    """Make the app's role able to log in, on a platform connection of its own that commits
    at once (the caller may be inside a platform transaction)."""
    params = dict(connection.get_connection_params())
    params["options"] = f"{params.get('options', '')} -c lock_timeout=2000".strip()
    schema, role = ddl.schema_name(app_id), app_role(app_id)
    with _ERRORS, psycopg.Connection.connect(**params, autocommit=True) as admin:
        with admin.transaction(), admin.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)", [schema])
            if cur.fetchone()[0]:
                cur.execute(ddl.allow_app_login(role, role_password(role)))
            else:
                _create_space(cur, schema, role)


def lease(app_id: int) -> AppConnection:
    """The app's connection for this thread's invocation: the one it already holds, else an
    idle one of the process (or a new one). Exclusive until released; pair with `release`."""
    return _lease(_held.by_key, _key(app_id), app_id)


def leaser(app_id: int) -> Callable[[], AppConnection]:
    """`lease` bound to this thread's invocation, to be called later from another thread
    working on its behalf (a KScript's host calls run on V8's thread while the request's
    thread waits for the run), so both share one connection and transaction."""
    return functools.partial(_lease, _held.by_key, _key(app_id), app_id)


def _lease(held: dict[tuple[Any, ...], AppConnection], key: tuple[Any, ...], app_id: int) -> AppConnection:
    current = held.get(key)
    if current is not None:  # a nested block or run of the same invocation
        current.users += 1
        return current
    with _lock:
        stack = _idle_by_key.get(key)
        if stack:
            current = stack.pop()
            del _idle[current]
            if not stack:
                del _idle_by_key[key]
    if current is None or not current.usable():
        if current is not None:
            current.close()  # the server closed it while it was idle
        current = _open(app_id)
    current.key, current._holder, current.users = key, held, 1
    held[key] = current
    return current


def release(leased: AppConnection, *, commit: bool) -> None:
    """Hand a leased connection back; the outermost user commits (or rolls back) what is
    open and resets the settings. A connection whose release failed is closed, not kept."""
    ended = leased.users != 1
    try:
        if not ended and leased.usable():
            leased.end(commit=commit)
        ended = True
    finally:
        leased.users -= 1
        if leased.users == 0:
            detach(leased)
            _give_back(leased, ended)


def detach(leased: AppConnection) -> None:
    """Take a leased connection out of its invocation's hands: no later lease shares it (the
    thread's next invocation gets another one). It is still released as usual."""
    holder = leased._holder
    if holder is not None and holder.get(leased.key) is leased:
        del holder[leased.key]
    leased._holder = None


def _give_back(leased: AppConnection, ended: bool) -> None:
    if not ended or leased.retired or not leased.usable() or leased.in_transaction():
        leased.close()
        return
    limit = int(getattr(settings, "KILN_APP_CONNECTIONS", DEFAULT_CONNECTIONS))
    closing: list[AppConnection] = []
    with _lock:
        _idle[leased] = None
        _idle_by_key.setdefault(leased.key, []).append(leased)
        while len(_idle) > limit:
            oldest = next(iter(_idle))
            _forget_idle(oldest)
            closing.append(oldest)
    for idle in closing:  # outside the lock: closing talks to the server
        idle.close()


def _forget_idle(idle: AppConnection) -> None:
    """Take an idle connection out of the pool (holding _lock)."""
    del _idle[idle]
    stack = _idle_by_key[idle.key]
    stack.remove(idle)
    if not stack:
        del _idle_by_key[idle.key]


@contextmanager
def leased(app_id: int) -> Iterator[AppConnection]:
    current = lease(app_id)
    try:
        yield current
    except BaseException:
        release(current, commit=False)
        raise
    release(current, commit=True)


def close_app_connections(app_id: int | None = None, *, every_thread: bool = False) -> None:
    """Close the process's idle app connections (of one app, or all). Connections in use are
    closed when released instead: this thread's, or with `every_thread` every thread's."""
    closing: list[AppConnection] = []
    with _lock:
        for idle in list(_idle):
            if app_id is None or idle.app_id == int(app_id):
                _forget_idle(idle)
                closing.append(idle)
    for idle in closing:
        idle.close()
    in_use = list(_every) if every_thread else list(_held.by_key.values())
    for held in in_use:
        if (app_id is None or held.app_id == int(app_id)) and held.users > 0:
            held.retired = True


def idle_connections(app_id: int | None = None) -> list[AppConnection]:
    """The process's idle app connections (of one app, or all), least recently used first."""
    with _lock:
        return [idle for idle in _idle if app_id is None or idle.app_id == int(app_id)]


@contextmanager
def app_cursor(app_id: int, *, timeout_ms: int | None = None, atomic: bool = True) -> Iterator[AppCursor]:
    """A cursor whose statements run as the app's role, in its schema, with a time limit.

    atomic (the default): the block is one transaction (a savepoint when nested in another
    block of the same app) that commits when the outermost block ends and rolls back if it
    raises. atomic=False: reads that need no transaction (each statement stands alone).
    """
    wanted = default_timeout_ms(timeout_ms)
    with leased(app_id) as current, current.block(wanted, atomic):
        yield current.cursor()


def run_user_sql(app_id: int, aliases: dict[str, Any], query: str, params: Sequence[Any] = ()) -> Any:
    """Gate user-written SQL (K.query), then run it as the app. Returns the gate's Result."""
    from console.tables import sqlgate

    compiled = sqlgate.compile_query(query, aliases, ddl.schema_name(app_id), list(params))
    with app_cursor(app_id) as cur:
        cur.execute(compiled.sql, compiled.params)
        if cur.description is None:
            return sqlgate.Result(columns=[], rows=[], rowcount=cur.rowcount)
        columns = [c.name for c in cur.description]
        return sqlgate.Result(columns=columns, rows=cur.fetchall(), rowcount=cur.rowcount)
