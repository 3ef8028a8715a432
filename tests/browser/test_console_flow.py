"""The console's main paths in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_create_app_see_keys_rotate_secret_sign_out(page: Page, owner: Any) -> None:
    page.goto("/")
    expect(page.get_by_label("Username")).to_be_visible()
    snap(page, "01-sign-in")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
    snap(page, "02-sign-in-error")

    sign_in(page, "olivia")
    snap(page, "03-apps-empty")
    page.get_by_test_id("new-app").click()
    page.get_by_test_id("new-app-name").fill("Ride Log")
    snap(page, "04-new-app-dialog")
    page.get_by_test_id("new-app-submit").click()

    expect(page.get_by_test_id("api-key")).to_be_visible()
    app = App.objects.get(name="Ride Log")
    expect(page.get_by_test_id("api-key")).to_have_text(app.api_key)
    expect(page.get_by_test_id("secret-key")).not_to_contain_text(app.secret_key)
    page.get_by_test_id("reveal-secret").click()
    expect(page.get_by_test_id("secret-key")).to_have_text(app.secret_key)
    snap(page, "05-app-settings-keys")

    old_secret = app.secret_key
    page.get_by_test_id("rotate-secret").click()
    snap(page, "06-rotate-confirm")
    page.get_by_test_id("rotate-secret-confirm").click()
    expect(page.get_by_test_id("secret-key")).not_to_have_text(old_secret)
    app.refresh_from_db()
    assert app.secret_key != old_secret
    expect(page.get_by_test_id("secret-key")).to_have_text(app.secret_key)
    snap(page, "07-rotated")

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_label("Username")).to_be_visible()
    page.goto("/apps")
    expect(page.get_by_label("Username")).to_be_visible()


def test_staff_flips_the_kscript_switch_on_the_platform_page(page: Page, staff: Any, app: App) -> None:
    sign_in(page, "ada")
    page.goto("/platform")
    switch = page.get_by_role("switch", name="KScript enabled for Photo Share")
    expect(switch).not_to_be_checked()
    switch.click()
    expect(page.locator("[data-state='saved']").first).to_be_visible()
    expect(switch).to_be_checked()
    snap(page, "08-platform")
    app.refresh_from_db()
    assert app.kscript_enabled is True


def test_a_developer_sees_keys_but_not_owner_controls(page: Page, member: Any, app: App) -> None:
    sign_in(page, "devon")
    page.goto(f"/apps/{app.id}/settings")
    expect(page.get_by_test_id("api-key")).to_have_text(app.api_key)
    expect(page.get_by_test_id("rotate-secret")).to_have_count(0)
    expect(page.get_by_test_id("delete-app")).to_have_count(0)
    snap(page, "09-developer-settings")
