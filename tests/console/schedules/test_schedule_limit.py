"""The per-app cap on schedules (KILN_MAX_SCHEDULES_PER_APP): a clear 400 from the console
API and from an app definition import, nothing saved, and the cap counts per app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.apps import services as app_services
from console.apps.models import App
from console.schedules.models import Schedule
from console.schedules.services import TooManySchedules
from console.tables.appformat import export_app
from tests.console.schedules.test_schedules_api import body, method, url  # noqa: F401 - method is a fixture

# `method` (a fixture): the KScript method cleanUp the schedules run.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("method")]


@pytest.fixture
def limit_two(settings: Any) -> int:
    settings.KILN_MAX_SCHEDULES_PER_APP = 2
    return 2


def names(app: App) -> list[str]:
    return sorted(Schedule.objects.filter(app=app).values_list("name", flat=True))


def test_a_schedule_past_the_cap_is_refused_with_a_400_that_says_why(
    kapp: App, member: Any, client_for: Callable, limit_two: int
) -> None:
    client = client_for(member)
    for name in ("One", "Two"):
        assert client.post(url(kapp), body(name=name), format="json").status_code == 201
    answer = client.post(url(kapp), body(name="Three"), format="json")
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "This app already has 2 schedules, the most one app may have (KILN_MAX_SCHEDULES_PER_APP). "
        "Delete one it no longer needs first."
    }
    assert names(kapp) == ["One", "Two"]

    # Editing one at the cap is fine; deleting one makes room.
    two = Schedule.objects.get(app=kapp, name="Two")
    assert client.patch(url(kapp, f"{two.id}/"), {"enabled": False}, format="json").status_code == 200
    assert client.delete(url(kapp, f"{two.id}/")).status_code == 204
    assert client.post(url(kapp), body(name="Three"), format="json").status_code == 201
    assert names(kapp) == ["One", "Three"]


def test_the_cap_counts_each_app_apart(
    kapp: App, make_kscript: Callable, make_schedule: Callable, other_app: App, limit_two: int
) -> None:
    make_schedule(kapp, "cleanUp", name="One")
    make_schedule(kapp, "cleanUp", name="Two")
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    make_kscript(other_app, "Clean up")
    make_schedule(other_app, "cleanUp", name="One")
    make_schedule(other_app, "cleanUp", name="Two")
    assert names(other_app) == ["One", "Two"]
    with pytest.raises(TooManySchedules):
        make_schedule(kapp, "cleanUp", name="Three")


def test_an_import_past_the_cap_is_refused_before_anything_changes(
    kapp: App, make_schedule: Callable, owner: Any, client_for: Callable, other_app: App, limit_two: int
) -> None:
    for name in ("A", "B", "C"):
        Schedule.objects.create(app=kapp, name=name, method="cleanUp")  # the cap came down after these
    document = export_app(kapp)
    app_services.set_platform_flags(other_app, kscript_enabled=True)
    client = client_for(owner)
    definition = f"/api/apps/{other_app.id}/definition/"

    answer = client.put(definition, document, format="json")
    assert answer.status_code == 400
    assert answer.json() == {
        "schedules": [
            "After this import the app would have 3 schedules (3 new); "
            "one app may have at most 2 (KILN_MAX_SCHEDULES_PER_APP)."
        ]
    }
    assert names(other_app) == [] and not other_app.kscripts.exists()  # the whole import rolled back

    document["schedules"] = document["schedules"][:2]
    assert client.put(definition, document, format="json").status_code == 200
    assert names(other_app) == ["A", "B"]

    # A and B kept (no drop-missing) plus C: three.
    document["schedules"] = export_app(kapp)["schedules"][2:]
    answer = client.put(definition, document, format="json")
    assert answer.status_code == 400
    assert answer.json()["schedules"] == [
        "After this import the app would have 3 schedules (1 new); one app may have at most 2 "
        "(KILN_MAX_SCHEDULES_PER_APP). Schedules the document lacks are kept unless it is imported with drop-missing."
    ]
    assert names(other_app) == ["A", "B"]

    # With drop-missing, swapping schedules at the cap fits: the missing go first.
    document["schedules"] = export_app(kapp)["schedules"][1:]
    answer = client.put(definition + "?drop=true", document, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["changes"][-2:] == ["created schedule C", "deleted schedule A"]
    assert names(other_app) == ["B", "C"]
