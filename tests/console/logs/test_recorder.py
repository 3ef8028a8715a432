"""The call log never costs a client call its answer: a bounded buffer that drops and
counts when PostgreSQL is slow, a writer that survives a lost connection, room for logs
bounded separately, and pruning by age."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings
from django.db import connection

from console.apps.models import App
from console.logs import recorder as recorder_module
from console.logs.models import CallRecord
from console.logs.recorder import CallRecorder, Entry, recorder
from console.logs.tasks import prune_call_log_task

pytestmark = pytest.mark.django_db(transaction=True)


def entry(app: App, n: int = 0, *, logs: Any = None, at: float | None = None) -> Entry:
    return (app.pk, at or time.time(), f"method{n}", "kscript", 1, 1.5, logs, 0, None)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def table_locked() -> Iterator[Callable[[], None]]:
    """Locks the call log table from another connection (PostgreSQL as slow as it gets for
    the writer); calling the fixture's value releases it."""
    params = connection.get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items() if k not in {"cursor_factory", "context"}})
    other.execute(f'LOCK TABLE "{CallRecord._meta.db_table}" IN ACCESS EXCLUSIVE MODE')
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            other.commit()
            released = True

    yield release
    release()
    other.close()


@pytest.fixture
def local_recorder() -> Iterator[Callable[..., CallRecorder]]:
    made: list[CallRecorder] = []

    def build(**options: Any) -> CallRecorder:
        made.append(CallRecorder(**options))
        return made[-1]

    yield build
    for each in made:
        each.stop()


def test_a_full_buffer_drops_and_counts_while_postgresql_is_slow(
    app: App, table_locked: Callable[[], None], local_recorder: Callable[..., CallRecorder]
) -> None:
    log = local_recorder(capacity=5, flush_every_s=3600)  # the test decides when it writes
    for n in range(8):
        log.record(entry(app, n))
    assert (log.pending(), log.dropped) == (5, 3)

    writing = threading.Thread(target=log.flush)  # takes the 5 and waits on the lock
    writing.start()
    wait_until(lambda: log.pending() == 0, "the writer to take the buffered entries")
    for n in range(8, 16):
        log.record(entry(app, n))  # returns at once though the writer is stuck
    assert (log.pending(), log.dropped) == (5, 6)
    assert writing.is_alive()

    table_locked()
    writing.join(10)
    assert log.flush()
    assert CallRecord.objects.filter(app=app).count() == 10
    assert (log.written, log.dropped) == (10, 6)


def test_a_client_call_is_answered_while_the_log_table_is_locked(
    kapp: App,
    make_kscript: Callable[..., Any],
    deploy_app: Callable[[App], Any],
    wsgi_server: str,
    table_locked: Callable[[], None],
) -> None:
    make_kscript(kapp, "Ping", "K.log('pong'); K.setResponse(1);", returns="number")
    deploy_app(kapp)
    for _ in range(3):
        body = requests.post(
            f"{wsgi_server}/b2.2/{kapp.api_key}/ping.json", auth=(kapp.api_key, kapp.secret_key), timeout=30
        ).json()
        assert (body["responseCode"], body["payload"]) == (1, 1)
    table_locked()
    assert recorder.flush()
    assert list(CallRecord.objects.filter(app=kapp).values_list("method", "code")) == [("ping", 1)] * 3


def test_the_writer_survives_losing_its_connection(app: App, local_recorder: Callable[..., CallRecorder]) -> None:
    log = local_recorder(flush_every_s=0.02)
    log.record(entry(app, 1))
    wait_until(lambda: log.written == 1, "the first write")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [recorder_module.APPLICATION_NAME],
        )
        assert cursor.fetchone() == (True,)
    log.record(entry(app, 2))
    wait_until(lambda: log.written + log.dropped == 2, "the second entry to be written or dropped")
    log.record(entry(app, 3))
    wait_until(lambda: log.written + log.dropped == 3, "the third entry")
    assert log.written >= 2  # the write after the lost one reconnected
    methods = set(CallRecord.objects.filter(app=app).values_list("method", flat=True))
    assert {"method1", "method3"} <= methods


def test_entries_beyond_the_log_slots_keep_their_facts_but_not_their_lines(
    app: App, local_recorder: Callable[..., CallRecorder]
) -> None:
    from runtime.result import LogEntry

    lines = (LogEntry("log", ("one",), 1, "m"), LogEntry("log", ("two",), 2, "m"))
    log = local_recorder(log_slots=1, flush_every_s=3600)
    log.record(entry(app, 1, logs=lines))
    log.record(entry(app, 2, logs=lines))
    assert log.flush()
    first, second = CallRecord.objects.filter(app=app).order_by("method")
    assert [line["args"] for line in first.logs] == [["one"], ["two"]]
    assert first.logs_dropped == 0
    assert second.logs_dropped == 2
    assert [line["args"] for line in second.logs] == [
        ["Kiln did not keep this call's logs: too many calls were waiting to be logged."]
    ]
    # The slot is free again once its entry is written.
    log.record(entry(app, 3, logs=lines))
    assert log.flush()
    assert CallRecord.objects.get(app=app, method="method3").logs_dropped == 0


def test_calls_older_than_the_retention_are_pruned_by_the_hourly_task(
    app: App, local_recorder: Callable[..., CallRecorder], settings: Any
) -> None:
    settings.KILN_LOG_RETENTION_DAYS = 3
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    log = local_recorder(flush_every_s=3600)
    for n, days in enumerate([10, 4, 3.01, 2.99, 0]):
        log.record(entry(app, n, at=(now - timedelta(days=days)).timestamp()))
    assert log.flush()

    assert prune_call_log_task(now.isoformat()) == 3
    assert sorted(CallRecord.objects.filter(app=app).values_list("method", flat=True)) == ["method3", "method4"]
    assert prune_call_log_task(now.isoformat()) == 0


def test_pruning_goes_in_batches(app: App, local_recorder: Callable[..., CallRecorder]) -> None:
    from console.logs.services import prune_calls

    old = (datetime.now(UTC) - timedelta(days=settings.KILN_LOG_RETENTION_DAYS + 1)).timestamp()
    log = local_recorder(flush_every_s=3600)
    for n in range(5):
        log.record(entry(app, n, at=old))
    log.record(entry(app, 9))
    assert log.flush()
    assert prune_calls(batch=2) == 5
    assert list(CallRecord.objects.filter(app=app).values_list("method", flat=True)) == ["method9"]


def test_the_prune_runs_hourly_from_beat() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["kiln-call-log-prune"]
    assert (entry["task"], entry["schedule"]) == ("console.logs.prune_call_log_task", 3600.0)
    assert settings.KILN_LOG_RETENTION_DAYS == 7


def test_odd_values_never_fail_their_batch(app: App, local_recorder: Callable[..., CallRecorder]) -> None:
    from runtime.result import LogEntry

    log = local_recorder(flush_every_s=3600)
    log.record((app.pk, time.time(), "nul", "kscript", 1, 1.0, (LogEntry("log", ("a\x00b",), 1, "nul"),), 0, None))
    log.record((app.pk, time.time(), "nan", "kscript", 1, 1.0, (LogEntry("log", (float("nan"),), 1, "nan"),), 0, None))
    error = {"type": "ScriptError", "message": "bad \x00 byte"}
    log.record((app.pk, time.time(), "x" * 300, "a-kind-too-long", 64, 1.0, None, 0, error))
    log.record(entry(app, 1))
    assert log.flush()
    assert (log.written, log.dropped) == (4, 0)
    stored = {r.method[:3]: r for r in CallRecord.objects.filter(app=app)}
    assert stored["nul"].logs[0]["args"] == ["a\ufffdb"]
    assert stored["nan"].logs[0]["args"] == ["The logged values could not be stored."]
    assert (stored["xxx"].method, stored["xxx"].method_type) == ("x" * 100, "a-kind-too")
    assert stored["xxx"].error["message"] == "bad \ufffd byte"
    assert "met" in stored
