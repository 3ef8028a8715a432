"""Stored events older than KILN_EVENT_RETENTION_DAYS are deleted in batches, every app's,
by the hourly task on a real Celery worker; newer events, users and installs stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from console.apps.models import App
from console.events import services
from console.events.intake import IncomingEvent
from console.events.models import AppUser, Event, Install
from console.events.tasks import prune_events_task

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def store(app: App, *ages: timedelta, user: str | None = "ann") -> list[str]:
    """Events that happened `age` before NOW, one upload; returns their uuids."""
    events = [IncomingEvent(str(uuid.uuid4()), "k.fg", NOW - age, user, None) for age in ages]
    services.store_events(app.pk, "install-1", events, now=NOW)
    return [e.uuid for e in events]


def left(app: App) -> set[str]:
    return {str(u) for u in Event.objects.filter(app=app).values_list("uuid", flat=True)}


@pytest.fixture
def retention(settings: Any) -> timedelta:
    settings.KILN_EVENT_RETENTION_DAYS = 30
    return timedelta(days=30)


def test_events_past_the_retention_go_in_batches_and_the_rest_stay(
    app: App, other_app: App, retention: timedelta
) -> None:
    second = timedelta(seconds=1)
    old = store(app, *(retention + second * i for i in range(1, 6)))
    kept = store(app, retention, retention - second, timedelta(0))  # exactly at the cutoff is kept
    other_old = store(other_app, retention + timedelta(days=400))
    other_kept = store(other_app, timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        assert services.prune_events(NOW, batch=2) == 6
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # app: 2 + 2 + 1 (a short batch is the last); other_app: 1; any other app: one that finds none
    assert len(deletes) == 3 + 1 + App.objects.exclude(pk__in=[app.pk, other_app.pk]).count()
    assert left(app) == set(kept) and left(other_app) == set(other_kept)
    assert len(old + other_old) == 6
    # The users and installs the events named are not events: they stay.
    assert AppUser.objects.filter(app=app, identifier="ann").exists()
    assert Install.objects.filter(app=app, install_id="install-1").exists()

    assert services.prune_events(NOW, batch=2) == 0  # nothing more to do
    assert left(app) == set(kept)


def test_the_retention_is_read_from_settings_at_each_prune(app: App, settings: Any) -> None:
    ids = store(app, timedelta(days=10), timedelta(days=100))
    settings.KILN_EVENT_RETENTION_DAYS = 120
    assert services.prune_events(NOW) == 0
    settings.KILN_EVENT_RETENTION_DAYS = 90
    assert services.prune_events(NOW) == 1
    assert left(app) == {ids[0]}


def test_the_hourly_task_prunes_on_a_real_worker(app: App, schedule_queue: str, schedule_worker: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["kiln-event-prune"]
    assert entry["task"] == prune_events_task.name and entry["schedule"] == 3600.0
    assert entry["options"] == settings.CELERY_BEAT_SCHEDULE["kiln-automation-prune"]["options"]  # the KScript queue
    ids = store(app, timedelta(days=1), timedelta(days=89), timedelta(days=91))
    # The worker reads the default retention (90 days) from its own environment.
    result = prune_events_task.apply_async(kwargs={"now": NOW.isoformat()}, queue=schedule_queue, ignore_result=False)
    assert result.get(timeout=60) == 1
    assert left(app) == set(ids[:2])
