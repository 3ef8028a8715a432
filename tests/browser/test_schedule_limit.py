"""The schedule editor at the per-app cap: the console form says why nothing was created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from console.schedules.models import Schedule
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_schedule_past_the_cap_is_refused_in_the_form(
    page: Page, kapp: App, make_kscript: Callable, make_schedule: Callable, settings: Any
) -> None:
    settings.KILN_MAX_SCHEDULES_PER_APP = 1
    make_kscript(kapp, "Nightly cleanup")
    make_schedule(kapp, "nightlyCleanup", name="Nightly")
    sign_in(page, "olivia")

    page.goto(f"/apps/{kapp.id}/schedules")
    expect(page.get_by_test_id("schedule-row")).to_have_count(1)
    page.get_by_test_id("new-schedule").click()
    page.get_by_test_id("schedule-name").fill("Hourly")
    page.get_by_test_id("schedule-form-submit").click()
    error = page.get_by_test_id("schedule-form-error")
    expect(error).to_have_text(
        "This app already has 1 schedule, the most one app may have (KILN_MAX_SCHEDULES_PER_APP). "
        "Delete one it no longer needs first."
    )
    expect(page.get_by_test_id("schedule-dialog")).to_be_visible()  # still open, nothing lost
    expect(page.get_by_test_id("schedule-name")).to_have_value("Hourly")
    snap(page, "schedules-limit-refused")
    assert list(Schedule.objects.filter(app=kapp).values_list("name", flat=True)) == ["Nightly"]
