"""The Schedules pages in a real browser: create a schedule, read its cron and next run
times, Run now through a real Celery worker, and open the run's logs; an error run shows
its line; a platform admin switches the app's scheduling off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from console.apps.models import App
from console.schedules.models import Schedule, ScheduleRun
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT = "K.log('report for', K.params.team);\nK.log({rows: 3});\nK.setResponse({team: K.params.team, rows: 3});\n"
BROKEN = "K.log('about to fail');\nvar report = null;\nreport.send();\n"


def widths(page: Page, name: str) -> None:
    """Screenshots at the two widths the console is checked at."""
    for width in (1024, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        snap(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 800})


def submit_in_sight(page: Page) -> bool:
    """Whether the open dialog's submit button lies wholly inside the dialog's visible box
    (a dialog taller than the window scrolls inside itself)."""
    page.wait_for_timeout(300)  # the dialog's opening animation
    return bool(
        page.evaluate(
            """() => {
              const dialog = document.querySelector('.dialog');
              const submit = dialog.querySelector('.dialog-footer [type=submit]');
              const box = dialog.getBoundingClientRect(), button = submit.getBoundingClientRect();
              return dialog.scrollHeight > dialog.clientHeight && button.bottom <= box.bottom && button.top >= box.top;
            }"""
        )
    )


def test_create_a_schedule_see_its_next_runs_run_it_now_and_read_the_logs(
    page: Page,
    kapp: App,
    make_kscript: Callable,
    deploy_app: Callable,
    schedule_queue: str,
    schedule_worker: Any,
) -> None:
    make_kscript(kapp, "Weekly report", REPORT, params=[{"name": "team", "type": "string"}])
    make_kscript(kapp, "Broken job", BROKEN)
    deploy_app(kapp)
    sign_in(page, "olivia")

    page.goto(f"/apps/{kapp.id}/schedules")
    expect(page.get_by_test_id("schedules-empty")).to_be_visible()
    expect(page.get_by_test_id("nav-app-schedules")).to_have_attribute("aria-current", "page")

    # --- the editor: a cron in a time zone, read back as you type -------------------
    page.set_viewport_size({"width": 1280, "height": 640})  # a laptop with a short window
    page.get_by_test_id("new-schedule").click()
    dialog = page.get_by_test_id("schedule-dialog")
    # Taller than the window: it scrolls, and its buttons stay in sight meanwhile.
    expect(dialog).to_be_visible()
    assert submit_in_sight(page)
    snap(page, "schedules-00-editor-short-window")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_test_id("schedule-name").fill("Monday report")
    page.get_by_test_id("schedule-method").select_option("weeklyReport")
    page.get_by_test_id("schedule-kind").select_option("cron")
    page.get_by_test_id("schedule-cron").fill("0 9 * * 1-")
    expect(dialog.get_by_text("Day of week: '' is not a number or a name (SUN…).")).to_be_visible()
    page.get_by_test_id("schedule-cron").fill("0 9 * * 1-5")
    page.get_by_test_id("schedule-timezone").fill("Europe/London")
    expect(page.get_by_test_id("schedule-reading")).to_have_text("every weekday at 09:00 Europe/London")
    runs = page.get_by_test_id("schedule-next-run")
    expect(runs).to_have_count(5)
    for text in runs.all_inner_texts():
        assert text.split(" ")[0] in {"Mon", "Tue", "Wed", "Thu", "Fri"} and text.endswith(", 09:00"), text
    page.get_by_test_id("schedule-param-team").fill("Platform")
    widths(page, "schedules-01-editor")
    page.get_by_test_id("schedule-form-submit").click()

    # --- the schedule's page: its reading and next five runs ------------------------
    expect(page.get_by_test_id("schedule-title")).to_have_text("Monday report")
    expect(page.get_by_test_id("schedule-description")).to_have_text("every weekday at 09:00 Europe/London")
    schedule = Schedule.objects.get(app=kapp)
    assert (schedule.kind, schedule.cron, schedule.timezone, schedule.params) == (
        "cron",
        "0 9 * * 1-5",
        "Europe/London",
        {"team": "Platform"},
    )
    london = ZoneInfo("Europe/London")
    due = schedule.next_due_at.astimezone(london)
    assert (due.weekday() < 5, due.hour, due.minute) == (True, 9, 0)
    expect(page.get_by_test_id("schedule-next-runs").get_by_test_id("schedule-next-run")).to_have_count(5)
    expect(page.get_by_test_id("runs-empty")).to_be_visible()

    # --- Run now: a real worker runs the deployed method ----------------------------
    page.get_by_test_id("run-now").click()
    row = page.get_by_test_id("run-row").first
    expect(row).to_have_attribute("data-status", "ok", timeout=60_000)
    expect(row).to_contain_text("Run now")
    row.get_by_test_id("run-toggle").click()
    details = page.get_by_test_id("run-detail")
    expect(details.get_by_test_id("run-log")).to_have_count(2)
    expect(details.get_by_test_id("run-log").first).to_contain_text("report for Platform")
    expect(details.get_by_test_id("run-log").nth(1)).to_contain_text('{"rows":3}')
    expect(details.get_by_test_id("run-result")).to_contain_text('"team": "Platform"')
    widths(page, "schedules-02-run-with-logs")
    run = ScheduleRun.objects.get(schedule=schedule)
    assert (run.status, run.trigger, run.revision, run.result) == ("ok", "manual", 1, {"team": "Platform", "rows": 3})

    # --- a failing schedule shows its error's line ----------------------------------
    page.get_by_test_id("nav-app-schedules").click()
    page.get_by_test_id("new-schedule").click()
    page.get_by_test_id("schedule-name").fill("Every minute, broken")
    page.get_by_test_id("schedule-method").select_option("brokenJob")
    expect(page.get_by_test_id("schedule-reading")).to_have_text("every minute")
    page.get_by_test_id("schedule-form-submit").click()
    expect(page.get_by_test_id("schedule-title")).to_have_text("Every minute, broken")
    page.get_by_test_id("run-now").click()
    failed = page.get_by_test_id("run-row").first
    expect(failed).to_have_attribute("data-status", "failed", timeout=60_000)
    failed.get_by_test_id("run-toggle").click()
    expect(page.get_by_test_id("run-error-where")).to_have_text("Line 3, column 8")
    expect(page.get_by_test_id("run-detail").get_by_test_id("run-log")).to_have_text(["1about to fail"])

    # --- the list: next run, last status dot, sparkline -----------------------------
    page.get_by_test_id("nav-app-schedules").click()
    rows = page.get_by_test_id("schedule-row")
    expect(rows).to_have_count(2)
    report = page.locator("[data-testid=schedule-row][data-name='Monday report']")
    expect(report.get_by_test_id("schedule-last")).to_have_attribute("data-status", "ok")
    expect(report.get_by_test_id("schedule-spark").locator("rect")).to_have_count(1)
    broken = page.locator("[data-testid=schedule-row][data-name='Every minute, broken']")
    expect(broken.get_by_test_id("schedule-last")).to_have_attribute("data-status", "failed")
    expect(broken.get_by_test_id("schedule-description")).to_have_text("every minute")
    widths(page, "schedules-03-list")

    # Switching a schedule off from the list, then deleting it from its page.
    broken.get_by_test_id("schedule-switch").click()
    expect(broken.get_by_test_id("schedule-next")).to_have_text("Off")
    assert Schedule.objects.get(name="Every minute, broken").next_due_at is None
    broken.get_by_test_id("schedule-open").click()
    page.get_by_test_id("schedule-delete").click()
    page.get_by_test_id("schedule-delete-confirm").click()
    expect(page.get_by_test_id("schedule-row")).to_have_count(1)
    assert list(Schedule.objects.values_list("name", flat=True)) == ["Monday report"]
    assert ScheduleRun.objects.count() == 1


def test_a_platform_admin_switches_scheduling_off_and_the_app_says_so(
    page: Page,
    browser: Browser,
    live_server: Any,
    kapp: App,
    staff: Any,
    make_kscript: Callable,
    make_schedule: Callable,
) -> None:
    make_kscript(kapp, "Tick")
    make_schedule(kapp, "tick", name="Heartbeat")
    sign_in(page, "ada")
    page.get_by_test_id("nav-platform-schedules").click()
    section = page.get_by_test_id("platform-scheduling-app")
    row = section.get_by_test_id("platform-schedule-row")
    for text in ("Heartbeat", "tick", "every minute", _first_due(kapp), "Never run"):
        expect(row).to_contain_text(text)
    page.get_by_role("switch", name="Scheduling enabled for Photo Share").click()
    expect(section.locator("[data-state='saved']")).to_be_visible()
    widths(page, "schedules-04-platform")
    assert kapp.scheduling.enabled is False

    owner = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800}).new_page()
    sign_in(owner, "olivia")
    owner.goto(f"/apps/{kapp.id}/schedules")
    expect(owner.get_by_test_id("scheduling-off")).to_contain_text("switched scheduling off")
    owner.context.close()


def _first_due(app: App) -> str:
    """The list's next-run cell text for the app's only schedule, as the page formats it."""
    due: datetime = Schedule.objects.get(app=app).next_due_at
    return f"{due:%a} {due.day} {due:%b}, {due:%H:%M}"
