"""Automations: an event fires each matching rule once, through a real Celery worker (the
schedules' queue), with K.params.userId / installId / event; availability windows,
weekdays, audiences, late events, and definitions checked before anything is stored."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.events import services, triggers
from console.events.intake import IncomingEvent
from console.events.models import Automation, AutomationRule, AutomationRun, Event
from console.events.tasks import match_events_task, run_automation_task
from console.tables.models import Table
from console.tables.queries import record_count
from tests.fixtures.schedules import SCHEDULE_QUEUE, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _own_queue(schedule_queue: str) -> str:
    return schedule_queue


@pytest.fixture
def hits(kapp: App, make_table: Callable[..., Table]) -> Table:
    return make_table(kapp, "hits", who="string")


@pytest.fixture
def on_event(kapp: App, hits: Table, make_kscript: Callable[..., Any], deploy_app: Callable) -> Any:
    """A deployed method that writes a row per run and answers what it was given."""
    code = (
        f"K.insert('{hits.alias}', {{who: K.params.userId}});\n"
        "K.log('fired by', K.params.event.type);\n"
        "K.setResponse({userId: K.params.userId, installId: K.params.installId, event: K.params.event});\n"
    )
    method = make_kscript(kapp, "On event", code, params=[{"name": "userId", "type": "string"}])
    deploy_app(kapp)
    return method


def automation(app: App, *rules: dict[str, Any], **fields: Any) -> Automation:
    values = {"name": fields.pop("name", "Welcome"), "rules": list(rules), **fields}
    return services.create_automation(app, None, values)


def rule(event_type: str, audience: Any = None, methods: tuple[str, ...] = ("onEvent",)) -> dict[str, Any]:
    return {"event_type": event_type, "audience": audience or [], "methods": list(methods)}


def store(app: App, kind: str, *, at: datetime = NOW, user: str | None = None, data: Any = None,
          received: datetime | None = None, uid: str | None = None) -> Event:  # fmt: skip
    event_uuid = uid or str(uuid.uuid4())
    services.store_events(app.id, "inst-1", [IncomingEvent(event_uuid, kind, at, user, data)], now=received or at)
    return Event.objects.get(app=app, uuid=event_uuid)


def runs(auto: Automation) -> list[AutomationRun]:
    return list(AutomationRun.objects.filter(automation=auto).order_by("id"))


def finished(auto: Automation, count: int = 1) -> list[AutomationRun]:
    def check() -> list[AutomationRun]:
        found = runs(auto)
        return found if len([r for r in found if r.status not in ("queued", "running")]) >= count else []

    return wait_for(check, what=f"{count} finished run(s) of {auto.name}")


def test_an_sdk_upload_fires_the_rule_once_through_the_worker(
    kapp: App, on_event: Any, hits: Table, schedule_worker: Any, kiln_server: Callable[..., str]
) -> None:
    auto = automation(kapp, rule("checkout.*"))
    server = kiln_server(KILN_SCHEDULE_QUEUE=SCHEDULE_QUEUE, KILN_CLIENT_HOSTS=".kumulos.com")
    happened = int(datetime.now(UTC).timestamp() * 1000)
    body = json.dumps([{"type": "checkout.completed", "uuid": str(uuid.uuid4()), "timestamp": happened,
                        "data": {"total": 20}, "userId": "ann"}]).encode()  # fmt: skip
    auth = "Basic " + base64.b64encode(f"{kapp.api_key}:{kapp.secret_key}".encode()).decode()
    headers = {"Host": "events.kumulos.com", "Authorization": auth, "Content-Type": "application/json"}
    url = f"{server}/v1/app-installs/inst-9/events"
    assert requests.post(url, data=body, headers=headers, timeout=15).json() == {"accepted": 1, "duplicates": 0}

    (run,) = finished(auto)
    event = Event.objects.get(app=kapp)
    expected_event = {
        "type": "checkout.completed",
        "uuid": str(event.uuid),
        "happenedAt": event.happened_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{happened % 1000:03d}Z",
        "timestamp": happened,
        "installId": "inst-9",
        "data": {"total": 20},
        "user": "ann",
    }
    assert (run.status, run.method, run.revision, run.event_uuid) == ("ok", "onEvent", 1, event.uuid)
    assert run.result == {"userId": "ann", "installId": "inst-9", "event": expected_event}
    assert run.logs == [{"level": "log", "args": ["fired by", "checkout.completed"], "line": 2, "script": "onEvent"}]
    assert record_count(hits) == (1, True)

    # The device retries the upload; a worker gets the match and the run message again.
    assert requests.post(url, data=body, headers=headers, timeout=15).json() == {"accepted": 0, "duplicates": 1}
    assert (
        match_events_task.apply_async(args=[kapp.id, [event.id]], queue=SCHEDULE_QUEUE, ignore_result=False).get(
            timeout=60
        )
        == []
    )
    assert (
        run_automation_task.apply_async(args=[run.id], queue=SCHEDULE_QUEUE, ignore_result=False).get(timeout=60)
        is None
    )
    assert [r.id for r in runs(auto)] == [run.id]
    assert record_count(hits) == (1, True)
    auto.refresh_from_db()
    assert auto.fired_count == 1


def test_each_action_of_each_matching_rule_runs(kapp: App, on_event: Any, hits: Table, schedule_worker: Any) -> None:
    auto = automation(kapp, rule("k.*", methods=("onEvent", "onEvent")), rule("k.fg"), rule("k.bg"))
    store(kapp, "k.fg", user="bob")
    done = finished(auto, 3)
    assert sorted((r.rule.position, r.action, r.status) for r in done) == [(0, 0, "ok"), (0, 1, "ok"), (1, 0, "ok")]
    assert record_count(hits) == (3, True)
    auto.refresh_from_db()
    assert auto.fired_count == 2  # two rules fired; the actions are not firings


def matched(app: App, auto: Automation, *events: Event) -> list[str]:
    """Match in this process (the automation was made after the events, so no message was
    sent for them); the types of the events that fired."""
    triggers.match_events(app.id, [e.id for e in events])
    types = dict(Event.objects.filter(app=app).values_list("id", "type"))
    return [types[r.event_id] for r in runs(auto) if r.event_id is not None]


def test_availability_between_dates_and_on_weekdays(kapp: App, on_event: Any) -> None:
    wednesday = store(kapp, "wed", at=NOW)
    thursday = store(kapp, "thu", at=NOW + timedelta(days=1))
    before = store(kapp, "before", at=NOW - timedelta(days=7))
    after = store(kapp, "after", at=NOW + timedelta(days=8))
    # Late Wednesday in UTC is already Thursday in Auckland.
    late_wed = store(kapp, "wed-late", at=NOW.replace(hour=23))
    auto = automation(
        kapp, rule("*"), available_from=(NOW - timedelta(days=1)).isoformat(),
        available_until=(NOW + timedelta(days=7)).isoformat(), weekdays=[3], timezone="UTC",
    )  # fmt: skip
    assert matched(kapp, auto, wednesday, thursday, before, after, late_wed) == ["wed", "wed-late"]
    # In Auckland (UTC+13 in December) 05:00 UTC on Wednesday is still Wednesday.
    early_wed = store(kapp, "wed-early", at=NOW.replace(hour=5))
    auckland = automation(kapp, rule("*"), name="Auckland", weekdays=[4], timezone="Pacific/Auckland")
    assert matched(kapp, auckland, early_wed, late_wed) == ["wed-late"]


def test_audience_filters_on_user_attributes_or_everyone(kapp: App, on_event: Any) -> None:
    for user, attributes in [
        ("ann", {"age": 25, "plan": "gold"}),
        ("bob", {"age": 40, "plan": "gold"}),
        ("cy", {"age": "25"}),
    ]:
        store(kapp, "k.stats.userAssociated", user=user, data={"id": user, "attributes": attributes})
    events = [store(kapp, "buy", user=u) for u in ("ann", "bob", "cy", "stranger")] + [store(kapp, "buy")]
    young_gold = automation(
        kapp, rule("buy", audience=[{"attribute": "age", "op": "$lt", "value": 30},
                                     {"attribute": "plan", "op": "$eq", "value": "gold"}]),
    )  # fmt: skip
    everyone = automation(kapp, rule("buy"), name="Everyone")
    triggers.match_events(kapp.id, [e.id for e in events])
    assert [r.user_identifier for r in runs(young_gold)] == ["ann"]
    assert [r.user_identifier for r in runs(everyone)] == ["ann", "bob", "cy", "stranger", None]


def test_late_events_fire_anyway_or_are_dropped_past_the_limit(kapp: App, on_event: Any) -> None:
    on_time = store(kapp, "buy", at=NOW - timedelta(minutes=5), received=NOW)
    late = store(kapp, "buy", at=NOW - timedelta(minutes=30), received=NOW)
    strict = automation(kapp, rule("buy"), late_events="drop", late_after_minutes=10)
    lenient = automation(kapp, rule("buy"), name="Lenient", late_events="fire")
    triggers.match_events(kapp.id, [on_time.id, late.id])
    assert [r.event_id for r in runs(strict)] == [on_time.id]
    assert sorted(r.event_id for r in runs(lenient)) == sorted([on_time.id, late.id])


def test_a_switched_off_automation_fires_nothing(kapp: App, on_event: Any) -> None:
    event = store(kapp, "buy")
    auto = automation(kapp, rule("buy"), enabled=False)
    assert triggers.match_events(kapp.id, [event.id]) == []
    assert runs(auto) == []


def test_an_edit_keeps_what_fired_so_nothing_fires_twice(kapp: App, on_event: Any) -> None:
    event = store(kapp, "buy")
    auto = automation(kapp, rule("buy"))
    triggers.match_events(kapp.id, [event.id])
    services.update_automation(auto, {"name": "Welcome", "rules": [rule("b*")]})
    assert triggers.match_events(kapp.id, [event.id]) == []
    assert len(runs(auto)) == 1


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name": " "}, "name", "Give the automation a name of at most 100 characters."),
        ({"rules": []}, "rules", "Give the automation 1 to 20 rules."),
        ({"rules": [rule("buy", methods=("nope",))]}, "rules", "Rule 1: this app has no KScript method called nope."),
        ({"rules": [rule("")]}, "rules", "Rule 1: name the event type that triggers it (wildcards: k.*)."),
        (
            {"rules": [rule("buy", audience=[{"attribute": "age", "op": "$ne", "value": 1}])]},
            "rules",
            "Rule 1: the operator of age must be one of $eq, $lt, $gt, $lte, $gte.",
        ),
        ({"weekdays": [0]}, "weekdays", "Give ISO weekdays, 1 (Monday) to 7 (Sunday); none for every day."),
        (
            {"timezone": "Mars/Olympus"},
            "timezone",
            "'Mars/Olympus' is not an IANA time zone name (e.g. Europe/London, UTC).",
        ),
        (
            {"late_events": "drop"},
            "late_after_minutes",
            "Give how many minutes old an event may be and still fire (1 or more).",
        ),
        (
            {"available_from": "2026-02-01T00:00:00Z", "available_until": "2026-01-01T00:00:00Z"},
            "available_until",
            "The end of the availability comes before its start.",
        ),
    ],
)
def test_a_bad_definition_is_refused_and_nothing_is_stored(
    kapp: App, on_event: Any, values: dict[str, Any], field: str, message: str
) -> None:
    good = {"name": "Welcome", "rules": [rule("buy")]}
    with pytest.raises(ValidationError) as caught:
        services.create_automation(kapp, None, {**good, **values})
    assert caught.value.detail == {field: [message]}
    assert (Automation.objects.count(), AutomationRule.objects.count()) == (0, 0)


def test_the_sweeper_marks_runs_of_a_dead_worker_lost(kapp: App, on_event: Any) -> None:
    event = store(kapp, "buy")
    auto = automation(kapp, rule("buy"))
    (run_id,) = triggers.match_events(kapp.id, [event.id])
    AutomationRun.objects.filter(pk=run_id).update(status="running", started_at=NOW, deadline_at=NOW)
    assert triggers.sweep(NOW + timedelta(minutes=5)) == 1
    (run,) = runs(auto)
    assert (run.status, run.error["type"]) == ("lost", "Lost")
    # A message for it delivered later does nothing.
    assert triggers.execute_run(run_id) is None
