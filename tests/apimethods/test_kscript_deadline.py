"""One deadline per invocation: SQL that is still running when it passes is cancelled, the
invocation rolls back, and no PostgreSQL backend of the app is left working."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.isolation import app_cursor, app_role
from console.tables.models import Table
from console.tables.scripting import TIME_UP, script_database
from runtime import HostError
from runtime.limits import Deadline

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def posts(app: App) -> Table:
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "posts")
    table_services.add_field(table, "title", "string")
    table_services.insert_record(table, {"title": "a"})
    return table


def active_backends(app_id: int) -> list[str]:
    """What the app's PostgreSQL backends are running right now (idle ones left out)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT query FROM pg_stat_activity WHERE usename = %s AND state <> 'idle' ORDER BY pid",
            [app_role(app_id)],
        )
        return [row[0] for row in cur.fetchall()]


def titles(app_id: int) -> list[str]:
    with app_cursor(app_id, atomic=False) as cur:
        cur.execute("SELECT title FROM posts ORDER BY 1")
        return [row[0] for row in cur.fetchall()]


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until_active(app_id: int, fragment: str) -> None:
    give_up = time.monotonic() + 10
    while not any(fragment in query for query in active_backends(app_id)):
        assert time.monotonic() < give_up, "the statement never started"
        time.sleep(0.01)


@pytest.mark.parametrize("after_a_write", [False, True], ids=["a read", "inside the transaction"])
def test_interrupt_cancels_the_running_statement_and_the_invocation_rolls_back(
    app: App, posts: Table, after_a_write: bool
) -> None:
    # Given an invocation whose host call is sleeping in SQL (on V8's thread in real runs)
    with pytest.raises(HostError, match=TIME_UP):
        with script_database(app.id, timeout_ms=60_000) as database:
            if after_a_write:
                database.run({"action": "insert", "table": posts.alias, "values": {"title": "ghost"}})
            thread, outcome = in_thread(
                lambda: database._execute("SELECT pg_sleep(30)", [], writes=False, source="user")
            )
            wait_until_active(app.id, "pg_sleep")
            # When its deadline passes and the waiting thread interrupts it
            interrupted = time.monotonic()
            database.interrupt()
            thread.join(5)
            # Then the statement stops at once, and the host call reports the time limit
            assert outcome["at"] - interrupted < 1.0
            raise outcome["error"]
    assert active_backends(app.id) == []
    assert titles(app.id) == ["a"]


def test_no_statement_starts_after_an_interrupt(app: App, posts: Table) -> None:
    with script_database(app.id) as database:
        assert [row["title"] for row in database.run({"action": "select", "table": posts.alias})] == ["a"]
        database.interrupt()
        with pytest.raises(HostError, match=TIME_UP):
            database.run({"action": "insert", "table": posts.alias, "values": {"title": "late"}})
    assert titles(app.id) == ["a"]


def test_no_statement_starts_once_the_deadline_has_passed(app: App, posts: Table) -> None:
    with script_database(app.id, deadline=Deadline(0.05)) as database:
        time.sleep(0.06)
        with pytest.raises(HostError, match=TIME_UP):
            database.run({"action": "insert", "table": posts.alias, "values": {"title": "late"}})
    assert titles(app.id) == ["a"]


def test_statements_in_the_transaction_never_get_more_than_the_time_left(app: App, posts: Table) -> None:
    # The configured statement timeout is 5 s; with 2 s left, the transaction's statements
    # are bounded by what is left (set with the BEGIN or SAVEPOINT already being sent).
    with script_database(app.id, deadline=Deadline(2.0)) as database:
        database.run({"action": "insert", "table": posts.alias, "values": {"title": "b"}})
        (first,) = database._execute("SELECT current_setting('statement_timeout') AS t", [], source="user")
        time.sleep(0.3)
        (second,) = database._execute("SELECT current_setting('statement_timeout') AS t", [], source="user")
    assert 1_700 <= int(first["t"].removesuffix("ms")) <= 2_000
    assert 1_400 <= int(second["t"].removesuffix("ms")) < int(first["t"].removesuffix("ms"))
    assert titles(app.id) == ["a", "b"]


def test_a_long_legal_query_is_stopped_by_the_time_left_in_the_transaction(app: App, posts: Table) -> None:
    with pytest.raises(HostError, match="statement timeout"):
        with script_database(app.id, timeout_ms=60_000, deadline=Deadline(0.5)) as database:
            database.run({"action": "insert", "table": posts.alias, "values": {"title": "ghost"}})
            started = time.monotonic()
            try:
                database._execute("SELECT count(*) FROM generate_series(1, 10000000000)", [], source="user")
            finally:
                assert time.monotonic() - started < 1.5
    assert active_backends(app.id) == []
    assert titles(app.id) == ["a"]
