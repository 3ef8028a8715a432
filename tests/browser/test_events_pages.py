"""The Events, Users and Automations pages in a real browser: create an automation with a
rule and an audience, post events as the web SDK does (fetch with the app's keys), see the
run through a real Celery worker with its logs, then the events, their chart and the user."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from console.events.models import Automation, AutomationRun
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WELCOME = "var a = K.users.getAttributes(K.params.userId);\nK.log('welcome', a.get('name'));\nK.setResponse(K.params.event.type);\n"


def widths(page: Page, name: str) -> None:
    for width in (1024, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        snap(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 800})


def upload(page: Page, app: App, events: list[dict[str, Any]]) -> Any:
    """As the web SDK sends them: fetch with Basic auth and a JSON array."""
    script = """async ([key, secret, body]) => {
      const r = await fetch('/v1/app-installs/web-install-1/events', {method: 'POST', body,
        headers: {'Authorization': 'Basic ' + btoa(key + ':' + secret), 'Content-Type': 'application/json'}});
      return [r.status, await r.json()];
    }"""
    return page.evaluate(script, [app.api_key, app.secret_key, json.dumps(events)])


def test_create_an_automation_post_events_as_the_sdk_and_see_the_run(
    page: Page, kapp: App, make_kscript: Callable, deploy_app: Callable, schedule_queue: str, schedule_worker: Any
) -> None:
    make_kscript(kapp, "Welcome mail", WELCOME)
    deploy_app(kapp)
    sign_in(page, "olivia")

    page.goto(f"/apps/{kapp.id}/automations")
    expect(page.get_by_test_id("automations-empty").locator(".empty-title")).to_have_text("No automations yet")
    expect(page.get_by_test_id("nav-app-automations")).to_have_attribute("aria-current", "page")
    snap(page, "automations-00-empty")
    page.get_by_test_id("new-automation").click()
    page.get_by_test_id("automation-name").fill("Welcome gold members")
    page.get_by_test_id("rule-event-type").fill("checkout.*")
    page.get_by_test_id("audience-add").click()
    page.get_by_test_id("audience-attribute").fill("plan")
    page.get_by_test_id("audience-value").fill("gold")
    page.get_by_test_id("rule-method").select_option("welcomeMail")
    widths(page, "automations-01-editor")
    page.get_by_test_id("automation-submit").click()
    row = page.get_by_test_id("automation-row")
    expect(row).to_have_attribute("data-name", "Welcome gold members")
    expect(row.get_by_test_id("automation-fired")).to_have_text("0")
    automation = Automation.objects.get(app=kapp)
    assert [(r.event_type, r.audience, r.methods) for r in automation.rules.all()] == [
        ("checkout.*", [{"attribute": "plan", "op": "$eq", "value": "gold"}], ["welcomeMail"])
    ]

    now = int(time.time() * 1000)
    events = [
        {"type": "k.stats.userAssociated", "uuid": str(uuid.uuid4()), "timestamp": now - 2000,
         "data": {"id": "ann", "attributes": {"plan": "gold", "name": "Ann"}}, "userId": "ann"},
        {"type": "checkout.completed", "uuid": str(uuid.uuid4()), "timestamp": now - 1000,
         "data": {"total": 20}, "userId": "ann"},
        {"type": "checkout.completed", "uuid": str(uuid.uuid4()), "timestamp": now, "data": {"total": 5}, "userId": None},
    ]  # fmt: skip
    assert upload(page, kapp, events) == [200, {"accepted": 3, "duplicates": 0}]

    deadline = time.monotonic() + 60
    while not AutomationRun.objects.filter(automation=automation, status="ok").exists():
        assert time.monotonic() < deadline, "the automation did not run"
        time.sleep(0.2)
    page.reload()
    expect(page.get_by_test_id("automation-fired")).to_have_text("1")  # the anonymous checkout is not in the audience
    page.get_by_test_id("automation-show-runs").click()
    run_row = page.get_by_test_id("automation-run-row")
    expect(run_row).to_have_count(1)
    expect(run_row).to_have_attribute("data-status", "ok")
    run_row.click()
    expect(page.get_by_test_id("run-logs")).to_contain_text("welcome")
    expect(page.get_by_test_id("run-logs")).to_contain_text("Ann")
    expect(page.get_by_test_id("run-result")).to_contain_text("checkout.completed")
    widths(page, "automations-02-run")

    page.get_by_test_id("nav-app-events").click()
    expect(page.get_by_test_id("events-chart")).to_be_visible()
    expect(page.get_by_test_id("event-row")).to_have_count(3)
    page.get_by_test_id("events-type").fill("checkout.*")
    page.get_by_test_id("events-apply").click()
    expect(page.get_by_test_id("event-row")).to_have_count(2)
    widths(page, "events-01-list")

    page.get_by_test_id("nav-app-users").click()
    user = page.get_by_test_id("user-row")
    expect(user).to_have_count(1)
    expect(user).to_have_attribute("data-identifier", "ann")
    expect(user).to_contain_text("gold")
    widths(page, "users-01-list")

    page.get_by_test_id("nav-app-automations").click()
    page.get_by_test_id("automation-delete").click()
    page.get_by_test_id("automation-delete-confirm").click()
    expect(page.get_by_test_id("automations-empty")).to_be_visible()
    assert Automation.objects.filter(app=kapp).count() == 0
    assert AutomationRun.objects.count() == 0
