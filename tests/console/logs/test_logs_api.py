"""The Logs page's API: client calls beside scheduled and automation runs (read from their
own histories), newest first; filters; keyset pages across the three; entries with their
logs; the app's members only; bad input answered in DRF's shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.apps.models import App
from console.events.models import Automation, AutomationRule, AutomationRun
from console.logs.models import CallRecord
from console.schedules.models import Schedule, ScheduleRun

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def call(app: App, minutes: float, method: str = "greet", code: int = 1, **fields: Any) -> CallRecord:
    return CallRecord.objects.create(
        app=app, at=at(minutes), method=method, method_type="kscript", code=code, duration_ms=2.5, **fields
    )


@pytest.fixture
def schedule(app: App) -> Schedule:
    return Schedule.objects.create(app=app, name="Nightly", method="cleanup")


@pytest.fixture
def automation(app: App) -> tuple[Automation, AutomationRule]:
    automation = Automation.objects.create(app=app, name="On sign-up")
    return automation, AutomationRule.objects.create(automation=automation, event_type="signup", methods=["welcome"])


def scheduled(schedule: Schedule, minutes: float, status: str = "ok", **fields: Any) -> ScheduleRun:
    return ScheduleRun.objects.create(schedule=schedule, due_at=at(minutes), status=status, **fields)


def automated(automation: tuple[Automation, AutomationRule], minutes: float, status: str = "ok", **f: Any) -> Any:
    run = AutomationRun.objects.create(
        automation=automation[0], rule=automation[1], method="welcome", event_uuid=uuid.uuid4(), status=status, **f
    )
    AutomationRun.objects.filter(pk=run.pk).update(queued_at=at(minutes))  # auto_now_add
    return run


def listed(client: Any, app: App, query: str = "") -> list[tuple[str, str, str]]:
    response = client.get(f"/api/apps/{app.pk}/logs/{query}")
    assert response.status_code == 200, response.content
    return [(e["kind"], e["method"], e["status"]) for e in response.json()["entries"]]


@pytest.fixture
def history(app: App, schedule: Schedule, automation: Any) -> None:
    error = {"type": "ScriptError", "message": "user is null", "line": 3, "column": 17}
    call(app, 1)
    scheduled(schedule, 2, "failed", error={"type": "ScriptTimeout", "message": "script exceeded its time limit"})
    call(app, 3, "fails", 64, error=error, logs=[{"level": "log", "args": ["x"], "line": 1, "script": "fails"}])
    automated(automation, 4)
    call(app, 5, "allPhotos", 128, error={"type": "DatabaseError", "message": "relation missing"})
    scheduled(schedule, 6, "skipped", error={"type": "Skipped", "message": "the app is suspended"})


def test_the_log_lists_calls_and_runs_newest_first(history: None, app: App, member: Any, client_for: Callable) -> None:
    body = client_for(member).get(f"/api/apps/{app.pk}/logs/").json()
    assert (body["next"], body["retention_days"], body["methods"]) == (None, 7, [])
    assert listed(client_for(member), app) == [
        ("scheduled", "cleanup", "skipped"),
        ("client", "allPhotos", "failed"),
        ("automation", "welcome", "ok"),
        ("client", "fails", "failed"),
        ("scheduled", "cleanup", "failed"),
        ("client", "greet", "ok"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?kind=client", [("client", "allPhotos", "failed"), ("client", "fails", "failed"), ("client", "greet", "ok")]),
        ("?kind=automation", [("automation", "welcome", "ok")]),
        ("?method=cleanup&status=failed", [("scheduled", "cleanup", "failed")]),
        ("?status=ok", [("automation", "welcome", "ok"), ("client", "greet", "ok")]),
        (
            "?status=failed",
            [("client", "allPhotos", "failed"), ("client", "fails", "failed"), ("scheduled", "cleanup", "failed")],
        ),
        ("?q=NULL", [("client", "fails", "failed")]),
        ("?q=timeout", [("scheduled", "cleanup", "failed")]),
        (
            "?since=2026-12-01T12:02:00Z&until=2026-12-01T12:05:00Z",
            [("automation", "welcome", "ok"), ("client", "fails", "failed"), ("scheduled", "cleanup", "failed")],
        ),
        ("?kind=scheduled&q=nothing+like+this", []),
    ],
)
def test_filters(history: None, app: App, owner: Any, client_for: Callable, query: str, expected: list[Any]) -> None:
    assert listed(client_for(owner), app, query) == expected


def test_pages_follow_each_other_across_sources_with_equal_times(
    app: App, schedule: Schedule, automation: Any, owner: Any, client_for: Callable
) -> None:
    for n in range(60):
        call(app, n // 2, f"m{n}")  # two calls a minute
    for n in range(30):
        scheduled(schedule, n)
        automated(automation, n)
    client = client_for(owner)
    seen: list[tuple[str, int]] = []
    pages = 0
    url = f"/api/apps/{app.pk}/logs/"
    while url:
        body = client.get(url).json()
        seen += [(e["kind"], e["id"]) for e in body["entries"]]
        pages += 1
        url = f"/api/apps/{app.pk}/logs/?before={body['next']}" if body["next"] else ""
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    # Newest first: minute 29 holds an automation run, a scheduled run and two calls (ties
    # go by kind, then id, newest first).
    first = client.get(f"/api/apps/{app.pk}/logs/").json()["entries"][:4]
    assert [e["kind"] for e in first] == ["automation", "scheduled", "client", "client"]
    assert first[2]["id"] > first[3]["id"]
    assert {e["at"] for e in first} == {at(29).isoformat()}


def test_an_entry_shows_its_logs_and_error(
    history: None, app: App, member: Any, client_for: Callable, schedule: Schedule
) -> None:
    client = client_for(member)
    failed = CallRecord.objects.get(method="fails")
    body = client.get(f"/api/apps/{app.pk}/logs/client/{failed.pk}/").json()
    assert (body["code"], body["code_text"], body["status"]) == (64, "Server error", "failed")
    assert (body["error"]["line"], body["error"]["column"]) == (3, 17)
    assert body["logs"] == [{"level": "log", "args": ["x"], "line": 1, "script": "fails"}]
    run = ScheduleRun.objects.get(status="failed")
    body = client.get(f"/api/apps/{app.pk}/logs/scheduled/{run.pk}/").json()
    assert (body["kind"], body["method"], body["source"], body["error"]["type"]) == (
        "scheduled",
        "cleanup",
        "Nightly",
        "ScriptTimeout",
    )
    run = AutomationRun.objects.get()
    body = client.get(f"/api/apps/{app.pk}/logs/automation/{run.pk}/").json()
    assert (body["kind"], body["method"], body["source"], body["logs"]) == ("automation", "welcome", "On sign-up", [])


def test_outsiders_and_strangers_see_nothing(
    history: None, app: App, outsider: Any, client_for: Callable, owner: Any
) -> None:
    entry = CallRecord.objects.get(method="fails")
    assert client_for(outsider).get(f"/api/apps/{app.pk}/logs/").status_code == 404
    assert client_for(outsider).get(f"/api/apps/{app.pk}/logs/client/{entry.pk}/").status_code == 404
    assert client_for(None).get(f"/api/apps/{app.pk}/logs/").status_code == 403
    # Another app's entry is not found through this app.
    from console.apps import services as app_services

    mine = app_services.create_app(outsider, "Other")
    assert client_for(outsider).get(f"/api/apps/{mine.pk}/logs/client/{entry.pk}/").status_code == 404
    assert client_for(owner).get(f"/api/apps/{app.pk}/logs/elsewhere/{entry.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?status=maybe", "status"),
        ("?kind=cron", "kind"),
        ("?since=yesterday", "since"),
        ("?before=garbage", "before"),
        ("?before=1796126400000000,client,x", "before"),
        ("?before=1796126400000000,elsewhere,3", "before"),
        ("?before=99999999999999999999999,client,3", "before"),
    ],
)
def test_bad_filters_are_refused_by_name(app: App, owner: Any, client_for: Callable, query: str, field: str) -> None:
    response = client_for(owner).get(f"/api/apps/{app.pk}/logs/{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_deleting_an_app_deletes_its_calls(app: App, owner: Any) -> None:
    from console.apps import services as app_services

    other = app_services.create_app(owner, "Other")
    call(app, 1)
    call(other, 1)
    app_services.delete_app(app)
    assert list(CallRecord.objects.values_list("app_id", flat=True)) == [other.pk]
