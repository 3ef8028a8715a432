"""Platform admin in a real browser at 1024 and 1440 px: suspending an app asks first,
users are edited and disabled (and then signed out), anyone changes their own password."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from console.apps.models import App
from tests.browser.conftest import sign_in, snap
from tests.fixtures.accounts import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = [1024, 1440]


@pytest.mark.parametrize("width", WIDTHS)
def test_suspending_an_app_asks_first_and_cancel_changes_nothing(page: Page, staff: Any, app: App, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ada")
    page.goto("/platform")
    switch = page.get_by_role("switch", name="Suspended for Photo Share")
    switch.click()
    dialog = page.get_by_test_id("suspend-dialog")
    expect(dialog).to_contain_text("Suspend Photo Share?")
    expect(dialog).to_contain_text("code 16")
    expect(dialog).to_contain_text("schedules and automations do not run")
    expect(switch).not_to_be_checked()
    page.wait_for_timeout(200)
    snap(page, f"admin-suspend-confirm-{width}")
    dialog.get_by_test_id("dialog-cancel").click()
    expect(dialog).to_have_count(0)
    expect(switch).not_to_be_checked()
    app.refresh_from_db()
    assert app.suspended is False

    switch.click()
    page.get_by_test_id("suspend-confirm").click()
    expect(switch).to_be_checked()
    row = page.locator(f"[data-app-id='{app.id}']").filter(has=page.get_by_test_id("suspend-switch"))
    expect(row.first).to_contain_text("Suspended")
    app.refresh_from_db()
    assert app.suspended is True
    # Reactivating needs no confirmation.
    switch.click()
    expect(page.get_by_test_id("suspend-dialog")).to_have_count(0)
    expect(switch).not_to_be_checked()
    expect(page.locator("[data-state='saved']").first).to_be_visible()
    app.refresh_from_db()
    assert app.suspended is False


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_edits_and_disables_a_user_who_is_then_signed_out(
    browser: Browser, live_server: Any, page: Page, staff: Any, owner: Any, width: int
) -> None:
    # Olivia is signed in in a browser of her own.
    other = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    olivia = other.new_page()
    sign_in(olivia, "olivia")

    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ada")
    page.goto("/platform")
    row = page.locator("[data-username='olivia']")
    row.get_by_test_id("edit-user").click()
    page.get_by_test_id("edit-user-email").fill("olivia@photo.example")
    page.get_by_test_id("edit-user-username").fill("olivia.b")
    page.wait_for_timeout(200)
    snap(page, f"admin-edit-user-{width}")
    page.get_by_test_id("edit-user-submit").click()
    row = page.locator("[data-username='olivia.b']")
    expect(row).to_contain_text("olivia@photo.example")
    owner.refresh_from_db()
    assert (owner.username, owner.email) == ("olivia.b", "olivia@photo.example")

    # Her own row has no Disable button and her staff box is locked.
    mine = page.locator("[data-username='ada']")
    expect(mine.get_by_test_id("disable-user")).to_have_count(0)
    mine.get_by_test_id("edit-user").click()
    expect(page.get_by_test_id("edit-user-staff")).to_be_disabled()
    page.get_by_test_id("edit-user-cancel").click()

    row.get_by_test_id("disable-user").click()
    expect(page.get_by_test_id("user-active-dialog")).to_contain_text("signed out everywhere")
    page.wait_for_timeout(200)
    snap(page, f"admin-disable-user-confirm-{width}")
    page.get_by_test_id("user-active-confirm").click()
    expect(row.get_by_test_id("user-status")).to_have_text("Disabled")
    expect(row).to_have_attribute("data-active", "false")
    page.wait_for_timeout(200)
    snap(page, f"admin-users-{width}")
    owner.refresh_from_db()
    assert owner.is_active is False

    # Her next request finds no session; signing in again is refused.
    olivia.reload()
    expect(olivia.get_by_label("Username")).to_be_visible()
    olivia.get_by_label("Username").fill("olivia.b")
    olivia.get_by_label("Password").fill(PASSWORD)
    olivia.get_by_role("button", name="Sign in").click()
    expect(olivia.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
    other.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_user_changes_their_own_password(page: Page, owner: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "olivia")
    page.get_by_test_id("change-password").click()
    page.get_by_test_id("current-password").fill("not my password")
    page.get_by_test_id("new-password").fill("a brand new passphrase 7")
    page.get_by_test_id("repeat-password").fill("a brand new passphrase 7")
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-dialog")).to_contain_text("The current password is wrong.")
    page.wait_for_timeout(200)
    snap(page, f"admin-password-wrong-{width}")
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)

    page.get_by_test_id("current-password").fill(PASSWORD)
    page.get_by_test_id("repeat-password").fill("a brand new passphrase 8")
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-dialog")).to_contain_text("The two new passwords differ.")
    page.get_by_test_id("repeat-password").fill("a brand new passphrase 7")
    page.get_by_test_id("password-submit").click()
    expect(page.get_by_test_id("password-dialog")).to_have_count(0)
    expect(page.get_by_test_id("toast").filter(has_text="Password changed.")).to_be_visible()
    owner.refresh_from_db()
    assert owner.check_password("a brand new passphrase 7")
    assert owner.password.startswith("bcrypt_sha256$$2b$")
    # Still signed in here.
    page.reload()
    expect(page.get_by_test_id("current-user")).to_have_text("olivia")


def test_a_disabled_user_cannot_sign_in_even_with_the_right_password(page: Page, owner: Any) -> None:
    get_user_model().objects.filter(pk=owner.pk).update(is_active=False)
    page.goto("/login")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")


def test_a_platform_admin_who_develops_the_app_enables_kscript_on_its_kscript_page(
    page: Page, staff: Any, owner: Any, app: App
) -> None:
    from console.apps import services as app_services
    from console.apps.models import Role

    app_services.add_member(app, "ada", Role.DEVELOPER)
    sign_in(page, "olivia")  # an owner who is no platform admin: asked to ask one
    page.goto(f"/apps/{app.id}/kscripts")
    disabled = page.get_by_test_id("kscript-disabled")
    expect(disabled).to_contain_text("Ask one to enable KScript for Photo Share")
    expect(page.get_by_test_id("enable-kscript")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, "ada")
    page.goto(f"/apps/{app.id}/kscripts")
    expect(disabled).to_contain_text("which you are")
    snap(page, "platform-enable-kscript-01-offered")
    page.get_by_test_id("enable-kscript").click()
    expect(page.get_by_test_id("toast")).to_contain_text("KScript enabled for Photo Share.")
    expect(page.get_by_test_id("kscript-empty")).to_be_visible()
    expect(page.get_by_test_id("new-kscript")).to_be_visible()
    snap(page, "platform-enable-kscript-02-enabled")
    app.refresh_from_db()
    assert app.kscript_enabled
