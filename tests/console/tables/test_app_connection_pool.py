"""App connections are pooled per process: exclusive per invocation, shared across threads
once released, capped, and handed out with the settings they started with whatever SQL
ran on them before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from apimethods import kscript
from console.apps import services as app_services
from console.apps.models import App
from console.tables import isolation
from console.tables.isolation import app_cursor, app_role, idle_connections, lease, leased, release
from console.tables.models import Table
from console.tables.scripting import script_database

pytestmark = pytest.mark.django_db(transaction=True)

PINNED = (
    "SELECT current_setting('statement_timeout'), current_setting('search_path'),"
    " current_setting('TimeZone'), current_setting('standard_conforming_strings'),"
    " current_setting('DateStyle'), current_setting('lock_timeout')"
)


def _pid_and_settings(app_id: int) -> tuple[int, tuple[Any, ...]]:
    with app_cursor(app_id) as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        cur.execute(PINNED)
        return pid, cur.fetchone()


def _app_backends(app_id: int, expected: int | None = None) -> list[tuple[int, str]]:
    """The app's backends; with `expected`, waiting (up to 5 s) for that many: a closed
    connection's backend leaves pg_stat_activity a moment after the close."""
    give_up = time.monotonic() + 5
    while True:
        with connection.cursor() as cur:
            cur.execute("SELECT pid, state FROM pg_stat_activity WHERE usename = %s ORDER BY pid", [app_role(app_id)])
            backends = [(pid, state) for pid, state in cur.fetchall()]
        if expected is None or len(backends) == expected or time.monotonic() > give_up:
            return backends
        time.sleep(0.02)


def test_two_threads_of_one_app_hold_two_connections_at_once(app: App, users: Table) -> None:
    both_leased = threading.Barrier(2, timeout=10)

    def hold() -> int:
        with app_cursor(app.pk) as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
            both_leased.wait()  # neither releases before the other has its lease
            return int(pid)

    with ThreadPoolExecutor(2) as threads:
        pids = [future.result() for future in [threads.submit(hold), threads.submit(hold)]]
    assert len(set(pids)) == 2
    assert sorted(c.conn.info.backend_pid for c in idle_connections(app.pk)) == sorted(pids)


def test_a_released_connection_is_reused_by_another_thread(app: App, users: Table) -> None:
    first = ThreadPoolExecutor(1).submit(_pid_and_settings, app.pk).result()
    second = ThreadPoolExecutor(1).submit(_pid_and_settings, app.pk).result()
    assert first == second
    assert [pid for pid, _ in _app_backends(app.pk, 1)] == [first[0]]


def test_nested_blocks_and_leasers_of_one_invocation_share_its_connection(app: App, users: Table) -> None:
    outer = lease(app.pk)
    try:
        on_another_thread = ThreadPoolExecutor(1).submit(isolation.leaser(app.pk)).result()
        with leased(app.pk) as inner:
            assert inner is outer is on_another_thread
        release(on_another_thread, commit=True)
        assert outer.users == 1 and idle_connections(app.pk) == []
    finally:
        release(outer, commit=True)
    assert idle_connections(app.pk) == [outer]


def test_idle_connections_are_capped_per_process_least_recently_used_closed_first(
    app: App, other_app: App, users: Table, make_table: Callable[..., Table], settings: Any
) -> None:
    make_table(other_app, "notes", body="string")
    settings.KILN_APP_CONNECTIONS = 2
    first, second, third = lease(app.pk), lease(other_app.pk), None
    third = ThreadPoolExecutor(1).submit(lease, app.pk).result()  # another invocation: another connection
    assert len({id(first), id(second), id(third)}) == 3
    for held in (first, second, third):  # `first` is now the least recently used
        release(held, commit=True)
    assert idle_connections() == [second, third]
    assert first.conn.closed and not second.conn.closed and not third.conn.closed
    assert len(_app_backends(app.pk, 1)) == 1 and len(_app_backends(other_app.pk, 1)) == 1
    # The most recently released connection of an app is the one handed out next.
    assert lease(app.pk) is third
    release(third, commit=True)


def test_no_idle_connection_is_kept_with_a_cap_of_zero(app: App, users: Table, settings: Any) -> None:
    settings.KILN_APP_CONNECTIONS = 0
    held = lease(app.pk)
    release(held, commit=True)
    assert held.conn.closed and idle_connections() == []


def test_a_connection_lost_while_leased_is_closed_and_replaced(app: App, users: Table) -> None:
    held = lease(app.pk)
    pid = held.conn.info.backend_pid
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    with pytest.raises(Exception):  # noqa: B017 - psycopg's or Django's wording, either way an error
        held.cursor().execute("SELECT 1")
    release(held, commit=False)
    assert held.conn.closed and idle_connections(app.pk) == []
    assert _pid_and_settings(app.pk)[0] != pid


SETTINGS_CHANGES = [
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT set_config('search_path', 'public', false)",
    "SELECT set_config('TimeZone', 'Pacific/Kiritimati', false)",
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    "SELECT set_config('DateStyle', 'SQL, DMY', false)",
    "SELECT set_config('lock_timeout', '1', false)",
    "SET statement_timeout = 0",
]


@pytest.mark.parametrize("atomic", [True, False], ids=["committed transaction", "outside a transaction"])
def test_settings_changed_by_sql_never_reach_the_next_lease(app: App, users: Table, atomic: bool) -> None:
    pid, before = _pid_and_settings(app.pk)
    assert before == ("5s", f"app_{app.pk}", "UTC", "on", "ISO, MDY", "0")
    with app_cursor(app.pk, atomic=atomic) as cur:
        for change in SETTINGS_CHANGES:
            cur.execute(change)
        cur.execute(PINNED)
        assert cur.fetchone() == ("0", "public", "Pacific/Kiritimati", "off", "SQL, DMY", "1ms")
    # The same connection, back to the values it started with.
    assert _pid_and_settings(app.pk) == (pid, before)


def test_settings_changed_on_a_leased_connection_and_committed_are_reset(app: App, users: Table) -> None:
    pid, before = _pid_and_settings(app.pk)
    held = lease(app.pk)
    held.begin(held.timeout_ms)
    cur = held.cursor()
    cur.execute("SELECT set_config('statement_timeout', '0', false)")
    cur.execute("SELECT set_config('search_path', 'public', false)")
    held.commit()  # committed before the release: the session keeps the new values ...
    release(held, commit=True)
    assert _pid_and_settings(app.pk) == (pid, before)  # ... until the release resets them


def test_a_scripts_settings_change_behind_the_gate_is_reset_after_a_read_only_invocation(
    app: App, users: Table
) -> None:
    # What a gate bypass could run through K.query: a read, outside any transaction.
    pid, before = _pid_and_settings(app.pk)
    with script_database(app.pk) as database:
        database._execute("SELECT set_config('statement_timeout', '0', false)", [], writes=False, source="user")
        database._execute("SELECT set_config('search_path', 'public', false)", [], writes=False, source="user")
    assert _pid_and_settings(app.pk) == (pid, before)


def test_a_read_only_invocation_of_kilns_own_sql_needs_no_reset(app: App, users: Table) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    spec = kscript.ScriptSpec("t", f"K.setResponse(K.select('{users.alias}').run().length);", "number", ())
    assert kscript.run_top_level(app.id, 5, {"t": spec}, spec, {}, "tok").value == 0
    (idle,) = idle_connections(app.pk)
    assert idle.dirty is False and not idle.in_transaction()


def test_deleting_an_app_closes_its_idle_connections_and_those_in_use_when_released(
    app: App, users: Table
) -> None:
    in_use = ThreadPoolExecutor(1).submit(lease, app.pk).result()  # another thread's invocation
    try:
        idle = ThreadPoolExecutor(1).submit(lease, app.pk).result()
        release(idle, commit=True)
        assert idle_connections(app.pk) == [idle] and in_use is not idle
        app_services.delete_app(app)
        assert idle.conn.closed and idle_connections() == []
    finally:
        release(in_use, commit=False)
    assert in_use.conn.closed and idle_connections() == []
