"""The one way to run SQL against an app's data: inside the app's schema, as the app's role.

`app_cursor(app_id)` opens a transaction (a savepoint when nested) in which the session
authorization and the role are the app's own NOLOGIN role, `search_path` is the app's
schema only and a `statement_timeout` applies. Because the session authorization is the
app role too, `SET ROLE` to anything else and `set_config('role', …)` are refused by
PostgreSQL itself, and `RESET ROLE` lands on the app role again. `RESET SESSION
AUTHORIZATION` is still open to SQL running there (the login user is a superuser), so
user-written SQL must also pass `sqlgate.compile_query` — `run_user_sql` does both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from console.tables import ddl

DEFAULT_TIMEOUT_MS = 5_000
_known_spaces: set[tuple[str, int]] = set()


def database_name() -> str:
    return str(connection.settings_dict["NAME"])


def app_role(app_id: int) -> str:
    return ddl.role_name(app_id, database_name())


def ensure_app_space(app_id: int) -> None:
    """Create the app's role and schema if they are missing (idempotent, in the caller's transaction)."""
    key = (database_name(), int(app_id))
    if key in _known_spaces:
        return
    schema, role = ddl.schema_name(app_id), app_role(app_id)
    with connection.cursor() as cur:
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
            cur.execute(ddl.create_app_space(schema, role))
    # Remember it only once this transaction has committed (a rollback may undo it).
    transaction.on_commit(lambda: _known_spaces.add(key))


def drop_app_space(app_id: int) -> None:
    """Drop the app's schema (with every table) and its role; call inside the app's deletion."""
    with connection.cursor() as cur:
        cur.execute(ddl.drop_app_space(ddl.schema_name(app_id), app_role(app_id)))
    _known_spaces.discard((database_name(), int(app_id)))


def _timeout_ms(timeout_ms: int | None) -> int:
    if timeout_ms is not None:
        return int(timeout_ms)
    return int(getattr(settings, "KILN_APP_SQL_TIMEOUT_MS", DEFAULT_TIMEOUT_MS))


@contextmanager
def app_cursor(app_id: int, *, timeout_ms: int | None = None) -> Iterator[Any]:
    """A cursor whose statements run as the app's role, in its schema, with a time limit."""
    with transaction.atomic():
        ensure_app_space(app_id)
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('search_path'), current_setting('statement_timeout')")
            search_path, timeout = cur.fetchone()
            cur.execute("SELECT set_config('statement_timeout', %s, true)", [str(_timeout_ms(timeout_ms))])
            cur.execute(ddl.enter_app(ddl.schema_name(app_id), app_role(app_id)))
            yield cur
            # TRICKY: when this block is a savepoint inside a larger transaction, SET LOCAL
            # would outlive it; put the platform's own identity back before going on. (On
            # an error the savepoint rollback undoes the SET LOCALs by itself.)
            cur.execute(ddl.leave_app())
            cur.execute(
                "SELECT set_config('search_path', %s, true), set_config('statement_timeout', %s, true)",
                [search_path, timeout],
            )


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
