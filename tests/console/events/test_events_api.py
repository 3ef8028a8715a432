"""The console API of events, users and automations as owner, developer and outsider:
recent events with filters and pages, counts per type per day, users with attributes,
and the automation editor with its checks and run history."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.events import services, triggers
from console.events.intake import IncomingEvent
from console.events.models import Automation, AutomationRule, AutomationRun

pytestmark = pytest.mark.django_db


def store(app: App, kind: str, at: datetime, user: str | None = None, data: Any = None) -> str:
    uid = str(uuid.uuid4())
    services.store_events(app.id, "inst-1", [IncomingEvent(uid, kind, at, user, data)], now=at)
    return uid


def today(hour: int) -> datetime:
    return datetime.combine(datetime.now(UTC).date(), time(hour), tzinfo=UTC)


def test_recent_events_filtered_by_type_and_time_and_paged(app: App, member: Any, client_for: Callable) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(60):
        store(app, "k.fg" if i % 2 else "product.viewed", base + timedelta(minutes=i), data={"i": i})
    client = client_for(member)
    first = client.get(f"/api/apps/{app.id}/events/").json()
    assert [e["data"]["i"] for e in first["events"]] == list(range(59, 9, -1))
    rest = client.get(f"/api/apps/{app.id}/events/", {"before": first["next"]}).json()
    assert [e["data"]["i"] for e in rest["events"]] == list(range(9, -1, -1)) and rest["next"] is None
    filtered = client.get(
        f"/api/apps/{app.id}/events/",
        {"type": "k.*", "since": "2026-01-01T00:50:00Z", "until": "2026-01-01T00:55:00+00:00"},
    ).json()
    assert [(e["type"], e["data"]["i"]) for e in filtered["events"]] == [("k.fg", 55), ("k.fg", 53), ("k.fg", 51)]
    assert set(filtered["events"][0]) == {
        "id",
        "uuid",
        "type",
        "happened_at",
        "received_at",
        "install_id",
        "user",
        "data",
    }
    bad = client.get(f"/api/apps/{app.id}/events/", {"since": "yesterday"})
    assert (bad.status_code, bad.json()) == (400, {"since": ["Give an ISO 8601 date and time."]})


def test_counts_per_type_per_day(app: App, owner: Any, client_for: Callable) -> None:
    store(app, "k.fg", today(1))
    store(app, "k.fg", today(2))
    store(app, "buy", today(3))
    store(app, "k.fg", today(1) - timedelta(days=1))
    store(app, "k.fg", today(1) - timedelta(days=30))  # before the window
    answer = client_for(owner).get(f"/api/apps/{app.id}/events/counts/", {"days": 7}).json()
    day, yesterday = today(0).date().isoformat(), (today(0) - timedelta(days=1)).date().isoformat()
    assert answer == {
        "since": (today(0) - timedelta(days=6)).date().isoformat(),
        "counts": [
            {"day": yesterday, "type": "k.fg", "count": 1},
            {"day": day, "type": "buy", "count": 1},
            {"day": day, "type": "k.fg", "count": 2},
        ],
    }
    bad = client_for(owner).get(f"/api/apps/{app.id}/events/counts/", {"days": 0})
    assert (bad.status_code, bad.json()) == (400, {"days": ["Give a number of days from 1 to 90."]})


def test_users_with_attributes_most_recent_first(app: App, member: Any, client_for: Callable) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    store(app, "k.stats.userAssociated", at, "ann", {"id": "ann", "attributes": {"plan": "gold"}})
    store(app, "k.fg", at + timedelta(hours=1), "bob")
    answer = client_for(member).get(f"/api/apps/{app.id}/users/").json()
    assert answer == {
        "users": [
            {"identifier": "bob", "attributes": {}, "first_seen_at": "2026-01-01T01:00:00+00:00",
             "last_seen_at": "2026-01-01T01:00:00+00:00"},
            {"identifier": "ann", "attributes": {"plan": "gold"}, "first_seen_at": "2026-01-01T00:00:00+00:00",
             "last_seen_at": "2026-01-01T00:00:00+00:00"},
        ],
        "more": False,
    }  # fmt: skip
    assert [
        u["identifier"] for u in client_for(member).get(f"/api/apps/{app.id}/users/", {"search": "AN"}).json()["users"]
    ] == ["ann"]


@pytest.fixture
def method(kapp: App, make_kscript: Callable[..., Any]) -> Any:
    return make_kscript(kapp, "Welcome mail", "K.setResponse(K.params.userId);")


def definition(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Welcome",
        "enabled": True,
        "available_from": None,
        "available_until": "2027-01-01T00:00:00Z",
        "weekdays": [1, 2, 3, 4, 5],
        "timezone": "Europe/London",
        "late_events": "drop",
        "late_after_minutes": 30,
        "rules": [{"event_type": "k.stats.userAssociated", "audience": [{"attribute": "plan", "op": "$eq", "value": "gold"}],
                   "methods": ["WELCOMEMAIL"]}],
    }  # fmt: skip
    values.update(overrides)
    return values


def test_a_developer_creates_edits_and_deletes_an_automation(
    kapp: App, method: Any, member: Any, client_for: Callable
) -> None:
    client = client_for(member)
    created = client.post(f"/api/apps/{kapp.id}/automations/", definition(), format="json")
    assert created.status_code == 201, created.json()
    automation = Automation.objects.get(app=kapp)
    data = created.json()
    assert {k: v for k, v in data.items() if k not in ("created_at", "updated_at")} == {
        "id": automation.id,
        "name": "Welcome",
        "enabled": True,
        "available_from": None,
        "available_until": "2027-01-01T00:00:00+00:00",
        "weekdays": [1, 2, 3, 4, 5],
        "timezone": "Europe/London",
        "late_events": "drop",
        "late_after_minutes": 30,
        "fired_count": 0,
        "rules": [{"event_type": "k.stats.userAssociated", "audience": [{"attribute": "plan", "op": "$eq", "value": "gold"}],
                   "methods": ["welcomeMail"], "methods_deployed": [False]}],
    }  # fmt: skip
    rule_id = AutomationRule.objects.get().id
    changed = client.put(
        f"/api/apps/{kapp.id}/automations/{automation.id}/",
        definition(name="Hello", rules=[{"event_type": "k.*", "methods": ["welcomeMail"]}]),
        format="json",
    )
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["rules"][0]["audience"]) == ("Hello", [])
    assert AutomationRule.objects.get().id == rule_id  # rewritten in place: what fired stays fired
    assert client.get(f"/api/apps/{kapp.id}/automations/").json()[0]["name"] == "Hello"
    assert client.delete(f"/api/apps/{kapp.id}/automations/{automation.id}/").status_code == 204
    assert (Automation.objects.count(), AutomationRule.objects.count()) == (0, 0)


def test_a_bad_automation_is_a_400_by_field_and_nothing_is_stored(
    kapp: App, method: Any, owner: Any, client_for: Callable
) -> None:
    answer = client_for(owner).post(
        f"/api/apps/{kapp.id}/automations/", definition(rules=[{"event_type": "x", "methods": ["nope"]}]), format="json"
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"rules": ["Rule 1: this app has no KScript method called nope."]},
    )
    assert Automation.objects.count() == 0


def test_outsiders_see_nothing_and_change_nothing(kapp: App, method: Any, outsider: Any, client_for: Callable) -> None:
    automation = services.create_automation(kapp, None, definition())
    store(kapp, "k.fg", datetime(2026, 1, 1, tzinfo=UTC))
    client = client_for(outsider)
    for path in ("events/", "events/counts/", "users/", "automations/", f"automations/{automation.id}/",
                 f"automations/{automation.id}/runs/"):  # fmt: skip
        assert client.get(f"/api/apps/{kapp.id}/{path}").status_code == 404, path
    assert client.post(f"/api/apps/{kapp.id}/automations/", definition(name="Mine"), format="json").status_code == 404
    assert client.delete(f"/api/apps/{kapp.id}/automations/{automation.id}/").status_code == 404
    assert list(Automation.objects.values_list("name", flat=True)) == ["Welcome"]
    assert client_for(None).get(f"/api/apps/{kapp.id}/events/").status_code == 403


def test_run_history_of_an_automation(kapp: App, method: Any, member: Any, client_for: Callable) -> None:
    automation = services.create_automation(kapp, None, definition(weekdays=[], late_events="fire", available_until=None,
                                                                  rules=[{"event_type": "buy", "methods": ["welcomeMail"]}]))  # fmt: skip
    uid = store(kapp, "buy", datetime(2026, 1, 1, tzinfo=UTC), "ann")
    event_id = kapp.events.get().id
    (run_id,) = triggers.match_events(kapp.id, [event_id])
    AutomationRun.objects.filter(pk=run_id).update(status="ok", logs=[{"level": "log", "args": ["hi"]}], result="ann")
    client = client_for(member)
    listing = client.get(f"/api/apps/{kapp.id}/automations/{automation.id}/runs/").json()
    assert [(r["id"], r["status"], r["rule"], r["action"], r["method"], r["event_uuid"], r["user"], r["install_id"])
            for r in listing["runs"]] == [(run_id, "ok", 0, 0, "welcomeMail", uid, "ann", "inst-1")]  # fmt: skip
    assert "logs" not in listing["runs"][0] and listing["more"] is False
    detail = client.get(f"/api/apps/{kapp.id}/automations/{automation.id}/runs/{run_id}/").json()
    assert (detail["logs"], detail["result"]) == ([{"level": "log", "args": ["hi"]}], "ann")
    assert client.get(f"/api/apps/{kapp.id}/automations/").json()[0]["fired_count"] == 1


def test_automations_round_trip_through_the_app_definition(
    kapp: App, method: Any, owner: Any, make_kscript: Callable[..., Any]
) -> None:
    from console.apps import services as app_services
    from console.tables.appformat import export_app, import_app

    services.create_automation(kapp, None, definition())
    document = export_app(kapp)
    assert document["automations"] == [
        {
            "name": "Welcome",
            "enabled": True,
            "available_from": None,
            "available_until": "2027-01-01T00:00:00+00:00",
            "weekdays": [1, 2, 3, 4, 5],
            "timezone": "Europe/London",
            "late_events": "drop",
            "late_after_minutes": 30,
            "rules": [
                {
                    "event_type": "k.stats.userAssociated",
                    "audience": [{"attribute": "plan", "op": "$eq", "value": "gold"}],
                    "methods": ["welcomeMail"],
                }
            ],
        }
    ]
    fresh = app_services.set_platform_flags(app_services.create_app(owner, "Copy"), kscript_enabled=True)
    changes = import_app(fresh, document)
    assert "created automation Welcome" in changes
    assert export_app(fresh)["automations"] == document["automations"]
    assert import_app(fresh, document) == []  # the same again changes nothing
    document["automations"][0]["rules"][0]["methods"] = ["missing"]
    with pytest.raises(ValidationError) as caught:
        import_app(fresh, document)
    assert caught.value.detail == {"automations[0].rules": ["Rule 1: this app has no KScript method called missing."]}
    assert export_app(fresh)["automations"][0]["rules"][0]["methods"] == ["welcomeMail"]


def test_deleting_the_app_deletes_its_events_in_one_statement_without_reading_them(kapp: App, method: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from console.apps import services as app_services
    from console.events.models import AppUser, Event, Install

    automation = services.create_automation(kapp, None, definition(weekdays=[], late_events="fire", available_until=None,
                                                                  rules=[{"event_type": "*", "methods": ["welcomeMail"]}]))  # fmt: skip
    for i in range(5):
        store(kapp, "k.fg", datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i), "ann")
    triggers.match_events(kapp.id, list(kapp.events.values_list("id", flat=True)))
    assert AutomationRun.objects.filter(automation=automation).count() == 5
    with CaptureQueriesContext(connection) as queries:
        app_services.delete_app(kapp)
    on_events = [q["sql"] for q in queries.captured_queries if f'"{Event._meta.db_table}"' in q["sql"]]
    assert len(on_events) == 1 and on_events[0].startswith("DELETE"), on_events
    assert (Event.objects.count(), AppUser.objects.count(), Install.objects.count(), AutomationRun.objects.count()) == (
        0,
        0,
        0,
        0,
    )
