"""The schedules console API as owner, developer, outsider and platform admin: the
editor's checks, the reading and next run times, Run now, the per-app switch and the
app definition's "schedules" section."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from console.apps import services as app_services
from console.apps.models import App
from console.schedules.models import AppScheduling, Schedule, ScheduleRun
from console.tables.appformat import export_app, import_app

pytestmark = pytest.mark.django_db

CLEANUP = "K.log('cleaning', K.params.days); K.setResponse({days: K.params.days});"


@pytest.fixture
def method(kapp: App, make_kscript: Callable[..., Any]) -> Any:
    return make_kscript(kapp, "Clean up", CLEANUP, params=[{"name": "days", "type": "integer"}])


def url(app: App, suffix: str = "") -> str:
    return f"/api/apps/{app.id}/schedules/{suffix}"


def body(**overrides: Any) -> dict[str, Any]:
    values = {"name": "Nightly", "method": "cleanUp", "kind": "cron", "cron": "0 9 * * 1-5"}
    values.update({"timezone": "Europe/London", "params": {"days": "7"}, "enabled": True})
    values.update(overrides)
    return values


def test_a_developer_creates_a_cron_schedule_and_sees_its_reading_and_next_runs(
    kapp: App, method: Any, member: Any, client_for: Callable
) -> None:
    before = datetime.now(UTC)
    answer = client_for(member).post(url(kapp), body(), format="json")
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    schedule = Schedule.objects.get(app=kapp)
    assert {k: data[k] for k in ("id", "name", "method", "kind", "cron", "timezone", "params", "enabled")} == {
        "id": schedule.id,
        "name": "Nightly",
        "method": "cleanUp",
        "kind": "cron",
        "cron": "0 9 * * 1-5",
        "timezone": "Europe/London",
        "params": {"days": "7"},
        "enabled": True,
    }
    assert data["description"] == "every weekday at 09:00 Europe/London"
    assert data["method_deployed"] is False and data["deployed_revision"] is None
    assert data["last_run"] is None and data["recent"] == []
    london = ZoneInfo("Europe/London")
    runs = [datetime.fromisoformat(t) for t in data["next_runs"]]
    assert len(runs) == 5 and runs == sorted(runs) and runs[0] > before
    assert all((t.astimezone(london).weekday(), t.astimezone(london).hour, t.minute) < (5, 9, 1) for t in runs)
    assert all(t.astimezone(london).hour == 9 and t.astimezone(london).minute == 0 for t in runs)
    assert datetime.fromisoformat(data["next_due_at"]) == runs[0] == schedule.next_due_at


def test_every_minute_is_due_at_the_next_whole_minute(kapp: App, method: Any, owner: Any, client_for: Callable) -> None:
    before = datetime.now(UTC)
    answer = client_for(owner).post(url(kapp), body(kind="minute", cron="ignored", timezone="UTC"), format="json")
    assert answer.status_code == 201
    data = answer.json()
    assert data["cron"] == "" and data["description"] == "every minute"
    due = datetime.fromisoformat(data["next_due_at"])
    assert due.second == 0 and due.microsecond == 0 and before < due <= before + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"method": "noSuchMethod"}, {"method": ["This app has no KScript method called noSuchMethod."]}),
        ({"cron": "0 25 * * *"}, {"cron": ["Hour: 25 is outside 0–23."]}),
        (
            {"timezone": "Europe/Londres"},
            {"timezone": ["'Europe/Londres' is not an IANA time zone name (e.g. Europe/London, UTC)."]},
        ),
        (
            {"cron": "* *", "timezone": "Nowhere"},
            {
                "cron": ["Give 5 fields (minute hour day-of-month month day-of-week); this has 2."],
                "timezone": ["'Nowhere' is not an IANA time zone name (e.g. Europe/London, UTC)."],
            },
        ),
        ({"params": {"days": "seven"}}, {"params": ["Parameter 'days' must be an integer"]}),
        ({"params": {"weeks": 1}}, {"params": ["cleanUp has no parameter called weeks."]}),
        ({"params": {"days": [1, 2]}}, {"params": ["days: give a string, a number or a boolean."]}),
        ({"name": "   "}, {"name": ["Give the schedule a name."]}),
        ({"kind": "fortnightly"}, {"kind": ['"fortnightly" is not a valid choice.']}),
    ],
)
def test_a_bad_definition_is_refused_by_field_and_nothing_is_saved(
    kapp: App, method: Any, owner: Any, client_for: Callable, overrides: dict[str, Any], errors: dict[str, Any]
) -> None:
    answer = client_for(owner).post(url(kapp), body(**overrides), format="json")
    assert answer.status_code == 400
    assert answer.json() == errors
    assert not Schedule.objects.exists()


def test_names_are_unique_per_app_whatever_the_case(kapp: App, method: Any, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    assert client.post(url(kapp), body(), format="json").status_code == 201
    answer = client.post(url(kapp), body(name="NIGHTLY"), format="json")
    assert answer.status_code == 400
    assert answer.json() == {"name": ["Another schedule of this app is called NIGHTLY."]}
    assert Schedule.objects.count() == 1


def test_outsiders_get_404_and_change_nothing(
    kapp: App, method: Any, owner: Any, outsider: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp", name="Nightly", params={"days": 3})
    client = client_for(outsider)
    assert client.get(url(kapp)).status_code == 404
    assert client.post(url(kapp), body(name="Mine"), format="json").status_code == 404
    assert client.get(url(kapp, f"{schedule.id}/")).status_code == 404
    assert client.put(url(kapp, f"{schedule.id}/"), body(name="Taken"), format="json").status_code == 404
    assert client.patch(url(kapp, f"{schedule.id}/"), {"enabled": False}, format="json").status_code == 404
    assert client.delete(url(kapp, f"{schedule.id}/")).status_code == 404
    assert client.post(url(kapp, f"{schedule.id}/run/")).status_code == 404
    assert client.get(url(kapp, f"{schedule.id}/runs/")).status_code == 404
    assert client_for(None).get(url(kapp)).status_code == 403
    schedule.refresh_from_db()
    assert (schedule.name, schedule.enabled, schedule.params) == ("Nightly", True, {"days": 3})
    assert Schedule.objects.count() == 1 and not ScheduleRun.objects.exists()


def test_a_schedule_of_another_app_is_not_found_through_this_one(
    kapp: App,
    other_app: App,
    method: Any,
    owner: Any,
    client_for: Callable,
    make_kscript: Callable,
    make_schedule: Callable,
) -> None:
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    make_kscript(other_app, "Clean up", CLEANUP, params=[{"name": "days", "type": "integer"}])
    theirs = make_schedule(other_app, "cleanUp")
    assert client_for(owner).get(url(kapp, f"{theirs.id}/")).status_code == 404
    assert client_for(owner).delete(url(kapp, f"{theirs.id}/")).status_code == 404
    assert Schedule.objects.filter(pk=theirs.pk).exists()


def test_developers_edit_switch_off_and_delete(
    kapp: App, method: Any, member: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp", name="Nightly")
    client = client_for(member)
    answer = client.put(
        url(kapp, f"{schedule.id}/"), body(name="Weekly", cron="@weekly", timezone="UTC"), format="json"
    )
    assert answer.status_code == 200
    assert (answer.json()["name"], answer.json()["description"]) == ("Weekly", "every Sunday at 00:00 UTC")
    answer = client.patch(url(kapp, f"{schedule.id}/"), {"enabled": False}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["enabled"], answer.json()["next_due_at"], answer.json()["name"]) == (False, None, "Weekly")
    schedule.refresh_from_db()
    assert schedule.next_due_at is None and schedule.cron == "@weekly"
    assert client.delete(url(kapp, f"{schedule.id}/")).status_code == 204
    assert not Schedule.objects.exists()


def test_a_failed_edit_changes_nothing(
    kapp: App, method: Any, owner: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp", name="Nightly", params={"days": 3})
    due = schedule.next_due_at
    answer = client_for(owner).put(url(kapp, f"{schedule.id}/"), body(cron="0 0 31 2 *"), format="json")
    assert answer.status_code == 400
    assert answer.json() == {"cron": ["0 0 31 2 * never matches a date (e.g. 30 February)."]}
    schedule.refresh_from_db()
    assert (schedule.kind, schedule.cron, schedule.params, schedule.next_due_at) == ("minute", "", {"days": 3}, due)


def test_preview_reads_a_timing_without_saving(kapp: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    answer = client.post(
        url(kapp, "preview/"), {"kind": "cron", "cron": "*/15 * * * *", "timezone": "UTC"}, format="json"
    )
    assert answer.status_code == 200
    data = answer.json()
    assert data["description"] == "every 15 minutes"
    times = [datetime.fromisoformat(t) for t in data["next_runs"]]
    assert [t - times[0] for t in times] == [timedelta(minutes=15 * i) for i in range(5)]
    assert times[0].minute % 15 == 0 and times[0].second == 0
    bad = client.post(url(kapp, "preview/"), {"kind": "cron", "cron": "0 9 * * 1-", "timezone": "UTC"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"cron": ["Day of week: '' is not a number or a name (SUN…)."]}
    assert not Schedule.objects.exists()


def test_time_zones_are_listed_for_the_editor(kapp: App, member: Any, client_for: Callable) -> None:
    zones = client_for(member).get(url(kapp, "timezones/")).json()
    assert "Europe/London" in zones and "UTC" in zones and zones == sorted(zones)


def test_run_now_queues_one_run_and_refuses_a_second_while_it_waits(
    kapp: App, method: Any, member: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp")
    client = client_for(member)
    answer = client.post(url(kapp, f"{schedule.id}/run/"))
    assert answer.status_code == 202
    run = ScheduleRun.objects.get(schedule=schedule)
    assert (answer.json()["id"], answer.json()["status"], answer.json()["trigger"]) == (run.id, "queued", "manual")
    again = client.post(url(kapp, f"{schedule.id}/run/"))
    assert again.status_code == 409
    assert again.json()["detail"].endswith("is still queued.")
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1


def test_a_suspended_app_runs_nothing_now(
    kapp: App, method: Any, owner: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp")
    app_services.set_platform_flags(kapp, suspended=True)
    answer = client_for(owner).post(url(kapp, f"{schedule.id}/run/"))
    assert answer.status_code == 403
    assert not ScheduleRun.objects.exists()


def test_platform_admins_switch_scheduling_off_and_see_every_apps_schedules(
    kapp: App, method: Any, owner: Any, staff: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp", name="Nightly")
    # Not for app owners.
    refused = client_for(owner).patch(f"/api/platform/apps/{kapp.id}/scheduling/", {"enabled": False}, format="json")
    assert refused.status_code == 403
    assert client_for(owner).get("/api/platform/schedules/").status_code == 403
    assert not AppScheduling.objects.exists()

    admin = client_for(staff)
    answer = admin.patch(f"/api/platform/apps/{kapp.id}/scheduling/", {"enabled": False}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["scheduling_enabled"], [s["name"] for s in answer.json()["schedules"]]) == (
        False,
        ["Nightly"],
    )
    listed = {a["id"]: a for a in admin.get("/api/platform/schedules/").json()}
    assert listed[kapp.id]["scheduling_enabled"] is False
    assert [s["id"] for s in listed[kapp.id]["schedules"]] == [schedule.id]

    app_view = client_for(owner).get(url(kapp)).json()
    assert app_view["scheduling_enabled"] is False
    run_now = client_for(owner).post(url(kapp, f"{schedule.id}/run/"))
    assert run_now.status_code == 403
    assert run_now.json() == {"detail": "A platform admin switched scheduling off for this app."}
    assert not ScheduleRun.objects.exists()

    # Switched back on, due times start over from now.
    before = datetime.now(UTC)
    assert admin.patch(f"/api/platform/apps/{kapp.id}/scheduling/", {"enabled": True}, format="json").status_code == 200
    schedule.refresh_from_db()
    assert schedule.next_due_at is not None and before < schedule.next_due_at <= before + timedelta(minutes=1)


def test_the_list_shows_last_status_and_recent_durations_oldest_first(
    kapp: App, method: Any, owner: Any, client_for: Callable, make_schedule: Callable, deploy_app: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp")
    deploy_app(kapp)
    base = datetime(2026, 5, 4, 9, tzinfo=UTC)
    for i in range(25):
        ScheduleRun.objects.create(
            schedule=schedule, due_at=base + timedelta(minutes=i), status="ok" if i % 5 else "failed", duration_ms=i
        )
    data = client_for(owner).get(url(kapp)).json()
    assert (data["scheduling_enabled"], data["suspended"], data["kscript_enabled"]) == (True, False, True)
    (listed,) = data["schedules"]
    assert [r["duration_ms"] for r in listed["recent"]] == list(range(5, 25))
    assert (
        listed["last_run"]["status"] == "ok"
        and listed["last_run"]["due_at"] == (base + timedelta(minutes=24)).isoformat()
    )
    assert (listed["method_deployed"], listed["deployed_revision"]) == (True, 1)


def test_history_pages_newest_first_and_a_run_shows_its_logs(
    kapp: App, method: Any, owner: Any, client_for: Callable, make_schedule: Callable
) -> None:
    schedule = make_schedule(kapp, "cleanUp")
    base = datetime(2026, 5, 4, 9, tzinfo=UTC)
    runs = [
        ScheduleRun.objects.create(schedule=schedule, due_at=base + timedelta(minutes=i), status="ok", logs=[{"n": i}])
        for i in range(60)
    ]
    client = client_for(owner)
    first = client.get(url(kapp, f"{schedule.id}/runs/")).json()
    assert [r["id"] for r in first["runs"]] == [r.id for r in reversed(runs[10:])] and first["more"] is True
    assert "logs" not in first["runs"][0]
    second = client.get(url(kapp, f"{schedule.id}/runs/?before={first['runs'][-1]['id']}")).json()
    assert [r["id"] for r in second["runs"]] == [r.id for r in reversed(runs[:10])] and second["more"] is False
    detail = client.get(url(kapp, f"{schedule.id}/runs/{runs[3].id}/")).json()
    assert detail["logs"] == [{"n": 3}] and detail["status"] == "ok"
    assert client.get(url(kapp, f"{schedule.id}/runs/?before=x")).status_code == 400


def test_schedules_travel_in_the_app_definition_by_name(
    kapp: App, method: Any, make_schedule: Callable, other_app: App
) -> None:
    make_schedule(
        kapp, "cleanUp", name="Nightly", kind="cron", cron="0 3 * * *", timezone="Europe/Paris", params={"days": 30}
    )
    make_schedule(kapp, "cleanUp", name="Often", enabled=False)
    document = export_app(kapp)
    assert document["schedules"] == [
        {
            "name": "Nightly",
            "method": "cleanUp",
            "kind": "cron",
            "cron": "0 3 * * *",
            "timezone": "Europe/Paris",
            "params": {"days": 30},
            "enabled": True,
        },
        {"name": "Often", "method": "cleanUp", "kind": "minute", "timezone": "UTC", "params": {}, "enabled": False},
    ]
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    changes = import_app(other_app, document)
    assert changes[-2:] == ["created schedule Nightly", "created schedule Often"]
    assert export_app(other_app)["schedules"] == document["schedules"]
    assert import_app(other_app, document) == []  # identical: left alone

    document["schedules"][0]["cron"] = "0 4 * * *"
    document["schedules"] = document["schedules"][:1]
    assert import_app(other_app, document, drop_missing=True) == ["updated schedule Nightly", "deleted schedule Often"]
    assert [s.cron for s in Schedule.objects.filter(app=other_app)] == ["0 4 * * *"]


def test_a_bad_schedule_in_a_definition_imports_nothing(kapp: App, method: Any, other_app: App) -> None:
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    document = export_app(kapp)
    document["schedules"] = [{"name": "Bad", "method": "cleanUp", "kind": "cron", "cron": "0 9 * *"}]
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        import_app(other_app, document)
    assert caught.value.detail == {
        "schedules[0].cron": ["Give 5 fields (minute hour day-of-month month day-of-week); this has 4."]
    }
    assert not Schedule.objects.filter(app=other_app).exists()
    assert not other_app.kscripts.exists()  # the kscripts section rolled back with it
