"""Layout in a real browser at 1024 and 1440 px: the app settings page fits the window,
the copy button stands clear of the curl command, toasts stack clear of form buttons."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1024, 1440]


def _boxes_overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_app_settings_fit_the_window_and_toasts_stay_clear_of_buttons(
    page: Page, owner: Any, app: App, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/settings")
    expect(page.get_by_test_id("api-key")).to_have_text(app.api_key)
    # Nothing wider than the window.
    wide = page.evaluate(
        """(w) => [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > w)
        .slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide
    # The copy button sits above the curl command, not on it.
    copy = page.get_by_test_id("copy-curl").bounding_box()
    curl = page.get_by_test_id("curl-example").locator("code").bounding_box()
    assert copy is not None and curl is not None
    assert not _boxes_overlap(copy, curl)
    assert copy["y"] + copy["height"] <= curl["y"]

    # Several toasts, the same message twice: one copy of it, stacked in the corner,
    # clear of the page's buttons, each dismissable.
    for _ in range(2):
        page.get_by_test_id("copy-api-key").click()
    page.get_by_test_id("copy-curl").click()
    toasts = page.get_by_test_id("toast")
    expect(toasts.filter(has_text="API key")).to_have_count(1)
    expect(toasts).to_have_count(2)
    page.wait_for_timeout(300)
    snap(page, f"layout-settings-toasts-{width}")
    region = page.get_by_test_id("toasts").bounding_box()
    assert region is not None
    for testid in ("copy-api-key", "copy-curl", "reveal-secret"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box is not None and not _boxes_overlap(box, region), testid
    page.get_by_test_id("rename-submit").scroll_into_view_if_needed()
    save = page.get_by_test_id("rename-submit").bounding_box()
    region = page.get_by_test_id("toasts").bounding_box()
    assert save is not None and region is not None and not _boxes_overlap(save, region)
    toasts.first.get_by_role("button", name="Dismiss notification").click()
    expect(toasts).to_have_count(1)


def test_the_settings_curl_command_runs_as_shown(page: Page, owner: Any, app: App) -> None:
    import json
    import shlex
    import subprocess

    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/settings")
    shown = page.get_by_test_id("curl-example").locator("code").inner_text()
    assert "YOUR_SECRET_KEY" in shown and '"params"' in shown
    # As a developer would run it: the placeholder swapped for the real secret.
    command = shlex.split(shown.replace("\\\n", " ").replace("YOUR_SECRET_KEY", app.secret_key))
    assert command[0] == "curl"
    out = subprocess.run([*command, "-s"], capture_output=True, text=True, timeout=30, check=True).stdout
    envelope = json.loads(out)
    # Signed in and understood: only the placeholder method is missing.
    assert envelope["responseCode"] == 4, envelope
    assert envelope["requestedMethod"] == "yourMethod"
