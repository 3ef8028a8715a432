"""Storing an upload in one statement: within one upload the latest association wins (by
time, then upload order), users are counted from new events only, and a retried upload
with a few new events changes only what those name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.apps.models import App
from console.events import services
from console.events.intake import USER_ASSOCIATED, IncomingEvent
from console.events.models import AppUser, Event, Install

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def incoming(kind: str, at: datetime, data: Any = None, user: str | None = None) -> IncomingEvent:
    return IncomingEvent(str(uuid.uuid4()), kind, at, user, data)


def associate(identifier: str, at: datetime, **attributes: Any) -> IncomingEvent:
    return incoming(USER_ASSOCIATED, at, {"id": identifier, "attributes": attributes or None})


def test_the_latest_association_of_one_upload_wins_ties_going_by_upload_order(app: App) -> None:
    later = T0 + timedelta(minutes=5)
    stored = services.store_events(
        app.pk,
        "install-1",
        [
            associate("bob", later, plan="gold"),  # ties with the next one: upload order decides
            associate("ann", later, plan="silver"),
            associate("ann", T0, plan="free"),  # uploaded later, happened earlier: loses
            incoming("k.fg", T0 - timedelta(minutes=1), user="carl"),
        ],
        now=later,
    )
    assert (stored.accepted, stored.duplicates, len(stored.event_ids)) == (4, 0, 4)
    install = Install.objects.get(app=app, install_id="install-1")
    assert (install.user_identifier, install.associated_at) == ("ann", later)
    assert (install.first_seen_at, install.last_seen_at) == (T0 - timedelta(minutes=1), later)
    users = {u.identifier: u for u in AppUser.objects.filter(app=app)}
    assert sorted(users) == ["ann", "bob", "carl"]
    assert (users["ann"].attributes, users["ann"].attributes_at) == ({"plan": "silver"}, later)
    assert (users["ann"].first_seen_at, users["ann"].last_seen_at) == (T0, later)
    assert (users["bob"].attributes, users["carl"].attributes, users["carl"].attributes_at) == (
        {"plan": "gold"},
        {},
        None,
    )


def test_a_retried_upload_counts_only_its_new_events(app: App) -> None:
    first = incoming("k.fg", T0, user="ann")
    services.store_events(app.pk, "install-1", [first], now=T0)
    # The same event again (already stored, happened much later than it says now: ignored)
    # with one new event from another user.
    again = IncomingEvent(first.uuid, "k.fg", T0 + timedelta(days=9), "zed", None)
    new = incoming("k.bg", T0 + timedelta(hours=1), user="bob")
    stored = services.store_events(app.pk, "install-1", [again, new], now=T0 + timedelta(hours=1))
    assert (stored.accepted, stored.duplicates) == (1, 1)
    assert Event.objects.filter(app=app).count() == 2
    assert sorted(AppUser.objects.filter(app=app).values_list("identifier", flat=True)) == ["ann", "bob"]
    install = Install.objects.get(app=app, install_id="install-1")
    assert (install.first_seen_at, install.last_seen_at, install.user_identifier) == (
        T0,
        T0 + timedelta(hours=1),
        None,
    )
    # Nothing new at all: nothing is written, not even the install's last_seen_at.
    assert services.store_events(app.pk, "install-1", [new], now=T0 + timedelta(days=2)).accepted == 0
    assert Install.objects.get(app=app, install_id="install-1").last_seen_at == T0 + timedelta(hours=1)


@pytest.mark.django_db(transaction=True)  # closes its connection
def test_the_upload_is_planned_once_per_connection_and_survives_a_reconnect(app: App) -> None:
    from django.db import connection

    def plans() -> list[tuple[int, int]]:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT generic_plans + custom_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'WITH x AS (SELECT %% FROM unnest(%%'"
            )
            return list(cur.fetchall())

    for n in range(7):
        stored = services.store_events(app.pk, "install-1", [incoming("k.fg", T0 + timedelta(seconds=n))])
        assert stored.accepted == 1
    ((runs, custom),) = plans()  # one prepared statement, run seven times
    assert runs == 7 and custom < 7  # PostgreSQL moved to its generic plan: no planning per upload

    # A new connection (Django reconnects after an error or CONN_MAX_AGE) prepares it anew.
    connection.close()
    assert services.store_events(app.pk, "install-1", [incoming("k.fg", T0 + timedelta(minutes=1))]).accepted == 1
    assert plans() == [(1, 1)]
    assert Event.objects.filter(app=app, install_id="install-1").count() == 8


def test_an_upload_naming_no_user_keeps_the_installs_association_and_moves_its_times(app: App) -> None:
    # The statement without the users' steps (no event names a user) beside the full one.
    services.store_events(app.pk, "install-1", [associate("ann", T0, plan="gold")])
    later = T0 + timedelta(hours=1)
    stored = services.store_events(app.pk, "install-1", [incoming("k.fg", later), incoming("k.bg", T0 - timedelta(1))])
    assert (stored.accepted, stored.duplicates) == (2, 0)
    install = Install.objects.get(app=app, install_id="install-1")
    assert (install.user_identifier, install.associated_at) == ("ann", T0)
    assert (install.first_seen_at, install.last_seen_at) == (T0 - timedelta(1), later)
    assert list(AppUser.objects.filter(app=app).values_list("identifier", "last_seen_at")) == [("ann", T0)]
    assert set(Event.objects.filter(app=app, type__in=["k.fg", "k.bg"]).values_list("user_identifier", flat=True)) == {
        None
    }
    # A new install named by plain events only: no association.
    services.store_events(app.pk, "install-2", [incoming("k.fg", later)])
    fresh = Install.objects.get(app=app, install_id="install-2")
    assert (fresh.user_identifier, fresh.associated_at, fresh.first_seen_at) == (None, None, later)


def test_each_stored_row_costs_only_the_indexes_its_queries_use() -> None:
    # The app alone had an index of its own on each events table, beside a unique
    # constraint and indexes that lead with the app: one more entry per stored event.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('kiln_events_event', 'kiln_events_install', 'kiln_events_appuser')"
        )
        rows = cursor.fetchall()
    by_table: dict[str, set[str]] = {}
    for table, name, definition in rows:
        by_table.setdefault(table, set()).add(name)
        assert not definition.endswith("(app_id)"), definition
    assert by_table["kiln_events_event"] == {
        "kiln_events_event_pkey",
        "one_event_per_uuid",
        "event_app_type_time",
        "event_app_time",
    }
    assert by_table["kiln_events_install"] == {"kiln_events_install_pkey", "one_install_per_id"}
