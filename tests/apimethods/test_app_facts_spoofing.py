"""Only platform sessions can make the app facts cache drop an entry (issue 10, item 7).

PostgreSQL lets every session NOTIFY on every channel, so an app's SQL that got past the
K.query gate could send `NOTIFY kiln_app_facts, '<id>'` on its own connection. These run
that SQL directly as the app role, the way it would arrive.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from apimethods import appfacts
from console.apps.models import App
from console.tables.isolation import app_cursor
from console.tables.models import Table
from tests.apimethods.test_app_facts import eventually
from tests.apimethods.test_app_facts import other_process as platform_connection

pytestmark = pytest.mark.django_db(transaction=True)


def rotate_elsewhere(app: App, secret: str, conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"UPDATE {App._meta.db_table} SET secret_key = %s WHERE id = %s", [secret, app.id])


def test_notify_from_an_app_session_drops_no_entry(app: App, other_app: App, users: Table, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    appfacts.app_facts(other_app.api_key)
    with app_cursor(app.pk) as cur:
        cur.execute("SELECT pg_backend_pid()")
        app_pid = cur.fetchone()[0]
        cur.execute(f"NOTIFY kiln_app_facts, '{app.id}'")
        cur.execute(f"NOTIFY kiln_app_facts, '{other_app.id}'")
    # A platform change committed after the spoof: once it has arrived, so has the spoof.
    with platform_connection() as conn:
        rotate_elsewhere(other_app, "rotated", conn)
        eventually(lambda: appfacts.app_facts(other_app.api_key)["secret_key"] == "rotated")
    appfacts.app_facts(app.api_key)
    assert reads.count(app.api_key) == 1  # still cached: the spoof was ignored
    assert reads.count(other_app.api_key) == 2  # read again for the real change only
    assert appfacts._cache._senders[app_pid][0] is False


def test_a_platform_session_still_open_is_obeyed(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    with platform_connection() as conn:
        rotate_elsewhere(app, "while-open", conn)
        eventually(lambda: appfacts.app_facts(app.api_key)["secret_key"] == "while-open")
        pid = conn.info.backend_pid
    assert appfacts._cache._senders[pid][0] is True


def test_a_platform_session_that_has_gone_is_obeyed(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    with platform_connection() as conn:
        rotate_elsewhere(app, "then-gone", conn)
        pid = conn.info.backend_pid
    with platform_connection() as conn:  # wait until the sender's backend has really ended
        eventually(
            lambda: conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0
        )
    assert appfacts.app_facts(app.api_key)["secret_key"] == "then-gone"
    assert pid not in appfacts._cache._senders
