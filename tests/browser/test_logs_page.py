"""The Logs page in a real browser: client calls of deployed KScripts (made over HTTP as a
client would) beside a scheduled run, newest first; a failed call opens to its error with
line and column and its K.log lines; filters kept in the URL; at 1024 and 1440 px."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from console.apps.models import App
from console.logs.recorder import recorder
from console.schedules.models import Schedule, ScheduleRun
from tests.browser.conftest import sign_in
from tests.browser.test_schedules import widths

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREET = "K.log('greeting', K.params.name);\nK.setResponse({hello: K.params.name});\n"
FAILS = "K.log('before the fault');\nvar user = null;\nvar name = user.name;\nK.setResponse(name);\n"


def call(base: str, app: App, method: str, **params: str) -> int:
    response = requests.post(
        f"{base}/b2.2/{app.api_key}/{method}.json",
        auth=(app.api_key, app.secret_key),
        data={f"params[{k}]": v for k, v in params.items()},
        timeout=30,
    )
    return int(response.json()["responseCode"])


def test_see_client_calls_and_runs_open_a_failure_and_filter(
    page: Page, live_server: Any, kapp: App, make_kscript: Callable, deploy_app: Callable
) -> None:
    make_kscript(kapp, "Greet", GREET, params=[{"name": "name", "type": "string"}])
    make_kscript(kapp, "Fails", FAILS)
    deploy_app(kapp)
    schedule = Schedule.objects.create(app=kapp, name="Nightly cleanup", method="greet")
    ScheduleRun.objects.create(
        schedule=schedule,
        due_at=timezone.now() - timedelta(minutes=5),
        status="timed_out",
        duration_ms=30_000,
        error={"type": "ScriptTimeout", "message": "script exceeded its time limit"},
        logs=[{"level": "log", "args": ["cleaning"], "line": 1, "script": "greet"}],
        started_at=timezone.now() - timedelta(minutes=5),
    )
    assert [call(live_server.url, kapp, "greet", name=n) for n in ("Ann", "Bo")] == [1, 1]
    assert call(live_server.url, kapp, "fails") == 64
    assert recorder.flush()

    sign_in(page, "olivia")
    page.goto(f"/apps/{kapp.id}/logs")
    expect(page.get_by_test_id("nav-app-logs")).to_have_attribute("aria-current", "page")
    rows = page.get_by_test_id("log-row")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_have_attribute("data-method", "fails")
    expect(rows.nth(0)).to_have_attribute("data-status", "failed")
    expect(rows.nth(3)).to_have_attribute("data-kind", "scheduled")
    expect(rows.nth(0)).to_contain_text("code 64")
    expect(rows.nth(0)).to_contain_text("line 3, column 17")
    names = page.get_by_test_id("logs-method-names").locator("option")
    assert [names.nth(i).get_attribute("value") for i in range(names.count())] == ["fails", "greet"]
    widths(page, "logs-01-list")

    rows.nth(0).click()
    details = page.get_by_test_id("log-details-row").nth(0)
    expect(details.get_by_test_id("run-error-where")).to_have_text("Line 3, column 17")
    expect(details.get_by_test_id("run-log")).to_have_text(["1before the fault"])
    expect(details.get_by_test_id("log-facts")).to_contain_text("Response code 64 (Server error)")
    widths(page, "logs-02-failure-open")

    rows.nth(1).click()  # a successful call: its K.log line, no result kept
    ok = page.get_by_test_id("log-details-row").nth(1)
    expect(ok.get_by_test_id("run-log")).to_have_text(["1greeting Bo"])
    expect(ok.get_by_test_id("run-result")).to_have_count(0)

    page.get_by_test_id("logs-status").select_option("failed")
    page.get_by_test_id("logs-apply").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_attribute("data-kind", "scheduled")
    assert "status=failed" in page.url
    page.get_by_test_id("logs-kind").select_option("client")
    page.get_by_test_id("logs-apply").click()
    expect(rows).to_have_count(1)
    widths(page, "logs-03-filtered")

    page.reload()  # the filter is in the URL
    expect(page.get_by_test_id("logs-kind")).to_have_value("client")
    expect(rows).to_have_count(1)
    page.get_by_test_id("logs-kind").select_option("")
    page.get_by_test_id("logs-status").select_option("")
    page.get_by_test_id("logs-q").fill("time limit")
    page.get_by_test_id("logs-apply").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Nightly cleanup")  # not the previous filter's row
    rows.nth(0).click()
    expect(page.get_by_test_id("log-facts")).to_contain_text("Schedule Nightly cleanup")
    expect(page.get_by_test_id("run-log")).to_have_text(["1cleaning"])


def test_outsiders_get_no_log(page: Page, app: App, outsider: Any) -> None:
    sign_in(page, "oscar")
    page.goto(f"/apps/{app.id}/logs")
    expect(page.get_by_test_id("logs-error")).to_have_text("No such app.")
    expect(page.get_by_test_id("log-row")).to_have_count(0)
