"""Run It! live in a real browser: a logging loop's lines appear while it runs, with the
time it has taken, and Stop (which stands in for Run It! meanwhile) ends it — over the
runs WebSocket of a real daphne, the way `./kiln run` serves it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TICKING = "for (var i = 1; ; i++) {\n  K.log('tick', i);\n  var t = Date.now();\n  while (Date.now() - t < 150) {}\n}\n"


@pytest.fixture
def ticking(app: App, owner: Any, daphne_on_test_db: str, settings: Any) -> int:
    # The shell page tells the browser where WebSockets are, as `./kiln run` sets KILN_WS_URL:
    # the page's own host name (the session cookie goes there too), daphne's port.
    settings.KILN_WS_URL = "ws://{host}:" + daphne_on_test_db.rsplit(":", 1)[1]
    app_services.set_platform_flags(app, kscript_enabled=True)
    revision = method_services.create_kscript(
        app, owner, title="Ticking", return_type="objects", params=[], code=TICKING
    )
    return revision.method_id


def test_a_logging_loop_shows_its_lines_live_and_stop_ends_it(page: Page, app: App, ticking: int) -> None:
    sign_in(page, "olivia")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/apps/{app.id}/kscripts/{ticking}")
    expect(page.locator(".monaco-editor")).to_be_visible()

    page.get_by_test_id("run").click()
    status = page.get_by_test_id("run-status")
    expect(status).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id("run")).to_be_hidden()
    expect(page.get_by_test_id("run-log").nth(2)).to_have_text("2tick 3")
    expect(page.get_by_test_id("run-elapsed")).to_have_text(re.compile(r"^\d+\.\d s$"))
    expect(page.get_by_test_id("run-live-note")).to_be_hidden()
    snap(page, "kscript-live-01-running-1440")
    page.set_viewport_size({"width": 1024, "height": 768})
    expect(page.get_by_test_id("run-log").nth(5)).to_be_visible()
    snap(page, "kscript-live-02-running-1024")

    page.get_by_test_id("run-stop").click()
    expect(status).to_have_attribute("data-state", "stopped", timeout=5000)
    expect(page.get_by_test_id("run-error")).to_contain_text("Stopped by olivia")
    expect(page.get_by_test_id("run-stop")).to_be_hidden()
    expect(page.get_by_test_id("run")).to_be_visible()
    # The answer keeps the lines the run showed.
    expect(page.get_by_test_id("run-log").first).to_have_text("2tick 1")
    snap(page, "kscript-live-03-stopped-1024")

    # Esc stops a run too (outside the editor, whose Esc is its own).
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-log").first).to_have_text("2tick 1")
    page.get_by_test_id("run-panel").click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    expect(status).to_have_attribute("data-state", "stopped", timeout=5000)
    page.set_viewport_size({"width": 1440, "height": 900})
    snap(page, "kscript-live-04-stopped-1440")


def test_without_the_websocket_a_run_still_answers_and_says_why_it_shows_no_live_lines(
    page: Page, app: App, owner: Any, settings: Any
) -> None:
    from tests.fixtures.servers import free_port

    settings.KILN_WS_URL = f"ws://{{host}}:{free_port()}"  # nothing listens there
    app_services.set_platform_flags(app, kscript_enabled=True)
    code = "K.log('hello'); var t = Date.now(); while (Date.now() - t < 1500) {}\nK.setResponse('done');"
    revision = method_services.create_kscript(app, owner, title="Slow", return_type="objects", params=[], code=code)
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/kscripts/{revision.method_id}")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-live-note")).to_contain_text("Live logs and Stop are not available")
    expect(page.get_by_test_id("run-stop")).to_be_disabled()
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("run-log")).to_have_text("1hello")
    expect(page.get_by_test_id("run-result")).to_have_text('"done"')
