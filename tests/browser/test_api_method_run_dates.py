"""The API method editor's Run shows DateTime values as dates in the console's one date
format (the epoch seconds they travel as on hover), in records, related records and a
latest-date aggregate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods.actions import services as api_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAY_1 = 1_462_060_800  # 2016-05-01 00:00:00 UTC


def test_run_shows_dates_as_dates_with_the_seconds_on_hover(
    page: Page, app: App, owner: Any, make_table: Callable[..., Table]
) -> None:
    users = make_table(app, "users", name="string", born="datetime")
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    ann = table_services.insert_record(users, {"name": "Ann", "born": MAY_1})["userID"]
    table_services.insert_record(photos, {"title": "Sunset", "photographer": ann})
    listed = api_services.create_api_method(
        app,
        owner,
        title="Photos",
        definition={"table": "photos", "actions": [{"type": "select", "related": [{"field": "photographer"}]}]},
    ).method
    latest = api_services.create_api_method(
        app,
        owner,
        title="Latest birth",
        definition={"table": "users", "actions": [{"type": "aggregate", "function": "max", "field": "born"}]},
    ).method

    sign_in(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/apps/{app.pk}/api/{listed.pk}")
    page.get_by_test_id("run").click()
    records = page.get_by_test_id("run-records").first
    expect(records).to_contain_text("Sunset")
    # timeCreated and timeUpdated of the photo: dates, not seconds.
    dates = records.locator("> tbody > tr > td > [data-testid='run-date']")
    expect(dates).to_have_count(2)
    first = dates.first
    seconds = first.get_attribute("title") or ""
    assert seconds.endswith("(epoch seconds)") and float(seconds.split()[0]) > MAY_1
    assert not (first.inner_text()).isdigit()
    # The related photographer's birth date, inside its expandable record.
    records.locator("details summary").first.click()
    born = records.locator("details [data-testid='run-date'][title^='1462060800']")
    expect(born).to_have_text("May 1, 2016, 00:00:00")
    expect(born).to_have_attribute("datetime", "2016-05-01T00:00:00.000Z")
    snap(page, "api-run-dates-1440")

    page.goto(f"/apps/{app.pk}/api/{latest.pk}")
    page.get_by_test_id("run").click()
    value = page.get_by_test_id("run-value")
    expect(value).to_have_text("May 1, 2016, 00:00:00")
    expect(value.get_by_test_id("run-date")).to_have_attribute("title", "1462060800 (epoch seconds)")


def test_run_inputs_are_typed_and_say_which_value_does_not_convert(
    page: Page, app: App, owner: Any, make_table: Callable[..., Table]
) -> None:
    make_table(app, "users", name="string", bio="text")
    paged = api_services.create_api_method(
        app,
        owner,
        title="Paged users",
        definition={
            "table": "users",
            "params": [{"name": "limit", "type": "integer"}, {"field": "bio"}],
            "actions": [{"type": "select", "limit": {"param": "limit"}}],
        },
    ).method
    sign_in(page)
    page.goto(f"/apps/{app.pk}/api/{paged.pk}")
    limit = page.get_by_test_id("run-param-limit")
    expect(limit).to_have_attribute("inputmode", "numeric")
    expect(page.get_by_test_id("run-param-bio")).to_have_js_property("tagName", "TEXTAREA")
    limit.fill("ten")
    page.get_by_test_id("run").click()
    error = page.get_by_test_id("api-run").locator(".field-error").first
    expect(error).to_be_visible()
    expect(error).to_contain_text("whole number")
    expect(page.get_by_test_id("run-time")).to_have_count(0)  # nothing ran
    limit.fill("2")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-result")).to_have_text("No records.")
    expect(error).to_be_hidden()
