"""The client endpoint's per-process app facts: cached, and dropped when PostgreSQL says
a fact changed — for changes made by this process and, through NOTIFY, by any other."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from apimethods import appfacts
from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services

pytestmark = pytest.mark.django_db(transaction=True)


def other_process() -> psycopg.Connection[Any]:
    """A connection of its own, standing for another Kiln process writing."""
    params = dict(connection.get_connection_params())
    params.pop("context", None)
    return psycopg.Connection.connect(**params, autocommit=True)


def eventually(check: Callable[[], bool], within_s: float = 2.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within_s, "the change never reached the cache"
        time.sleep(0.001)
    return time.monotonic() - started


def test_facts_are_read_once_then_served_from_the_cache(app: App, reads: list[str]) -> None:
    first = appfacts.app_facts(app.api_key)
    assert first is not None and first["id"] == app.id and first["secret_key"] == app.secret_key
    assert appfacts.app_facts(app.api_key) == first
    assert reads == [app.api_key]


def test_unknown_keys_are_not_cached(reads: list[str]) -> None:
    assert appfacts.app_facts("no-such-key") is None
    assert appfacts.app_facts("no-such-key") is None
    assert reads == ["no-such-key", "no-such-key"]


def test_changes_made_here_are_seen_by_the_next_call(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    app_services.rotate_secret(app)
    assert appfacts.app_facts(app.api_key)["secret_key"] == app.secret_key
    app_services.set_platform_flags(app, suspended=True)
    assert appfacts.app_facts(app.api_key)["suspended"] is True


def test_a_deploy_and_a_schema_change_made_here_are_seen(app: App, owner: Any, reads: list[str]) -> None:
    app_services.set_platform_flags(app, kscript_enabled=True)
    before = appfacts.app_facts(app.api_key)
    assert before["live__deployment_id"] is None and before["schema_version"] is None
    method_services.create_kscript(app, owner, title="hello", return_type="number", params=[], code="K.setResponse(1)")
    deployment = method_services.deploy_app(app, owner)
    assert appfacts.app_facts(app.api_key)["live__deployment_id"] == deployment.id
    table_services.create_table(app, "posts")
    version = appfacts.app_facts(app.api_key)["schema_version"]
    assert version is not None
    table_services.add_field(app.tables.get(), "title", "string")
    assert appfacts.app_facts(app.api_key)["schema_version"] > version


@pytest.mark.parametrize(
    ("change", "fact", "expected"),
    [
        ("UPDATE {app} SET secret_key = 'rotated-elsewhere' WHERE id = %s", "secret_key", "rotated-elsewhere"),
        ("UPDATE {app} SET suspended = true WHERE id = %s", "suspended", True),
        ("UPDATE {app} SET script_timeout_seconds = 7 WHERE id = %s", "script_timeout_seconds", 7),
    ],
)
def test_changes_committed_by_another_process_arrive_by_notification(
    app: App, reads: list[str], change: str, fact: str, expected: Any
) -> None:
    appfacts.app_facts(app.api_key)
    with other_process() as conn:
        conn.execute(change.format(app=App._meta.db_table), [app.id])  # type: ignore[arg-type]
    took = eventually(lambda: appfacts.app_facts(app.api_key)[fact] == expected)
    assert took < 0.5
    assert len(reads) == 2  # read again once, when the notification arrived


def test_an_app_deleted_elsewhere_is_gone(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    key = app.api_key
    app_services.delete_app(App.objects.get(pk=app.pk))
    eventually(lambda: appfacts.app_facts(key) is None)


def test_uncommitted_changes_are_never_cached(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    with transaction.atomic():
        App.objects.filter(pk=app.pk).update(secret_key="not-yet")
        # Inside a transaction the facts are read directly (they may include its own changes)…
        assert appfacts.app_facts(app.api_key)["secret_key"] == "not-yet"
        transaction.set_rollback(True)
    # …and what it saw never reaches the cache.
    assert appfacts.app_facts(app.api_key)["secret_key"] == app.secret_key


def test_a_lost_listener_empties_the_cache_and_listens_again(app: App, reads: list[str]) -> None:
    appfacts.app_facts(app.api_key)
    with other_process() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kiln app facts'"
            " AND datname = current_database()"
        )
        # Changed while nobody listened: the notification is lost with the connection.
        conn.execute(f"UPDATE {App._meta.db_table} SET secret_key = 'while-deaf' WHERE id = %s", [app.id])
    eventually(lambda: appfacts.app_facts(app.api_key)["secret_key"] == "while-deaf")
    # Listening again: cached once more, and notified once more.
    appfacts.app_facts(app.api_key)
    count = len(reads)
    appfacts.app_facts(app.api_key)
    assert len(reads) == count
    with other_process() as conn:
        conn.execute(f"UPDATE {App._meta.db_table} SET secret_key = 'heard' WHERE id = %s", [app.id])
    eventually(lambda: appfacts.app_facts(app.api_key)["secret_key"] == "heard")
