"""The IDE's tools in a real browser: completion and an Insert picker of the app's real
table aliases, fields and method names; a light / dark / system theme and full screen,
both remembered; screenshots at 1024 and 1440 px wide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps import services as app_services
from console.apps.models import App
from console.tables.models import Table
from tests.browser.conftest import sign_in, snap
from tests.browser.test_kscript_ide import replace_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(app: App, owner: Any, client_for: Callable, make_table: Callable[..., Table]) -> dict[str, Any]:
    app_services.set_platform_flags(app, kscript_enabled=True)
    rides = make_table(app, "rides", distance="float", rider="string")
    client = client_for(owner)
    client.post(f"/api/apps/{app.id}/kscripts/", {"title": "Count rides", "code": ""}, format="json")
    method = client.post(
        f"/api/apps/{app.id}/kscripts/", {"title": "Longest ride", "code": "K.setResponse({});\n"}, format="json"
    ).json()
    return {"alias": rides.alias, "method": method, "url": f"/apps/{app.id}/kscripts/{method['id']}"}


def suggestions(page: Page) -> Any:
    page.keyboard.press("Control+Space")
    widget = page.locator(".suggest-widget")
    expect(widget).to_be_visible()
    return widget


def test_completion_and_insert_offer_the_apps_real_names(page: Page, setup: dict[str, Any]) -> None:
    alias = setup["alias"]
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "olivia")
    page.goto(setup["url"])
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 1")

    # Completion: K.select(' offers the table aliases, .filter(' that table's fields.
    # Typing the quote opens it; no Ctrl+Space needed.
    replace_code(page, "var rows = K.select(")
    page.keyboard.type("'")
    opened = page.locator(".suggest-widget")
    expect(opened).to_be_visible()
    expect(opened).to_contain_text(alias)
    page.keyboard.press("Escape")
    replace_code(page, "var rows = K.select('")
    expect(suggestions(page)).to_contain_text(alias)
    snap(page, "kscript-tools-01-alias-completion-1440")
    page.keyboard.press("Escape")
    replace_code(page, f"var rows = K.select('{alias}').filter('")
    widget = suggestions(page)
    expect(widget).to_contain_text("distance")
    expect(widget).to_contain_text("rideID")
    page.keyboard.press("Escape")
    replace_code(page, "include('")
    expect(suggestions(page)).to_contain_text("countRides")
    page.keyboard.press("Escape")

    # Insert: quoted in code, bare inside a string such as SQL.
    replace_code(page, "var n = K.select(")
    page.get_by_test_id("insert").click()
    dialog = page.get_by_test_id("insert-dialog")
    expect(dialog.get_by_test_id("insert-item")).to_have_count(8)  # 1 table, 5 fields, 2 methods
    page.get_by_test_id("insert-search").fill("rides")
    snap(page, "kscript-tools-02-insert-1440")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    # Monaco paints its lines on the next animation frame: wait for them.
    lines = page.locator(".monaco-editor .view-lines")
    expect(lines).to_contain_text(f"var n = K.select('{alias}'")

    replace_code(page, 'var q = K.query("SELECT * FROM ')
    page.keyboard.press("ControlOrMeta+Shift+I")
    page.get_by_test_id("insert-search").fill("dist")
    items = page.get_by_test_id("insert-item")
    expect(items).to_have_count(2)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(lines).to_contain_text('K.query("SELECT * FROM distance')


def test_theme_and_full_screen_are_remembered(page: Page, setup: dict[str, Any]) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, "olivia")
    page.goto(setup["url"])
    editor = page.locator(".ks-editor .monaco-editor")
    expect(editor).to_be_visible()
    expect(page.get_by_test_id("editor-theme")).to_have_value("system")
    snap(page, "kscript-tools-03-ide-1024")

    page.get_by_test_id("editor-theme").select_option("dark")
    expect(page.locator(".ks-editor .monaco-editor.vs-dark")).to_be_visible()
    expect(page.get_by_test_id("kscript-ide")).to_have_attribute("data-theme", "dark")
    snap(page, "kscript-tools-04-dark-1024")

    page.get_by_test_id("fullscreen").click()
    ide = page.get_by_test_id("kscript-ide")
    expect(ide).to_have_attribute("data-fullscreen", "true")
    box = ide.bounding_box()
    assert box is not None and (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 1024, 768)
    expect(page.get_by_test_id("fullscreen")).to_have_attribute("aria-label", "Leave full screen")
    snap(page, "kscript-tools-05-full-screen-dark-1024")

    # Both are remembered in this browser.
    page.reload()
    expect(page.locator(".ks-editor .monaco-editor.vs-dark")).to_be_visible()
    expect(page.get_by_test_id("editor-theme")).to_have_value("dark")
    expect(page.get_by_test_id("kscript-ide")).to_have_attribute("data-fullscreen", "true")
    page.set_viewport_size({"width": 1440, "height": 900})
    snap(page, "kscript-tools-06-full-screen-1440")

    # Esc outside the editor leaves full screen; light is light whatever the system says.
    page.get_by_test_id("tab-history").click()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("kscript-ide")).to_have_attribute("data-fullscreen", "false")
    page.get_by_test_id("editor-theme").select_option("light")
    expect(page.locator(".ks-editor .monaco-editor.vs")).to_be_visible()
    page.emulate_media(color_scheme="dark")
    expect(page.locator(".ks-editor .monaco-editor.vs")).to_be_visible()
    page.get_by_test_id("editor-theme").select_option("system")
    expect(page.locator(".ks-editor .monaco-editor.vs-dark")).to_be_visible()
    page.emulate_media(color_scheme="light")
    expect(page.locator(".ks-editor .monaco-editor.vs")).to_be_visible()
    snap(page, "kscript-tools-07-ide-1440")
