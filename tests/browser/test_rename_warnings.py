"""The rename dialogs in a real browser: the table designer lists the KScript methods that
use the table's aliases (and says old aliases keep working); a method's details dialog
warns that a new title renames what clients call and names the deployed name that goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods import services as method_services
from console.apps.models import App
from console.tables.models import Table
from tests.browser.conftest import sign_in
from tests.browser.conftest import snap as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def snap(page: Page, name: str) -> None:
    page.wait_for_timeout(250)  # the dialog's entry animation
    save_screenshot(page, name)


def test_table_rename_dialog_lists_the_methods_using_the_table(
    page: Page, kapp: App, owner: Any, make_table: Callable[..., Table], make_kscript: Any
) -> None:
    players = make_table(kapp, "players", nick="string")
    board = make_kscript(kapp, "Board", f"K.setResponse(K.select('{players.alias}').run());")
    make_kscript(kapp, "Unrelated", "K.setResponse(1);")
    method_services.deploy_app(kapp, owner)
    later = make_kscript(kapp, "Later", "K.setResponse(1);")
    method_services.save_draft(later, owner, code=f"K.select('{players.alias}').run();", base_revision=1)

    sign_in(page)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"/apps/{kapp.pk}/tables/{players.pk}")
    page.get_by_test_id("rename-table").click()
    usage = page.get_by_test_id("table-usage")
    expect(usage.get_by_test_id("table-usage-method")).to_have_count(2)
    expect(usage.locator("[data-name='board']")).to_contain_text("board")
    expect(usage.locator("[data-name='board']")).to_contain_text("deployed")
    expect(usage.locator("[data-name='board']")).to_contain_text("saved, not deployed")
    expect(usage.locator("[data-name='later']")).to_contain_text("your unsaved draft")
    expect(usage.locator("[data-name='board'] a")).to_have_attribute("href", f"/apps/{kapp.pk}/kscripts/{board.pk}")
    expect(usage).to_contain_text(f"Code using {players.alias} keeps working")
    snap(page, "rename-10-table-usage-1024")

    page.get_by_test_id("rename-table-name").fill("gamers")
    page.get_by_test_id("rename-table-submit").click()
    expect(page.get_by_test_id("table-title")).to_have_text("gamers")
    page.get_by_test_id("rename-table").click()
    usage = page.get_by_test_id("table-usage")
    gamers_alias = f"{kapp.pk}_{players.number}_gamers"
    expect(usage).to_contain_text(f"Code using {gamers_alias} or a former alias ({players.alias}) keeps working")
    expect(usage.get_by_test_id("table-usage-method")).to_have_count(2)
    page.set_viewport_size({"width": 1440, "height": 900})
    snap(page, "rename-11-table-usage-after-rename-1440")
    assert Table.objects.get(pk=players.pk).former_names == ["players"]


def test_unused_table_says_so(page: Page, kapp: App, make_table: Callable[..., Table]) -> None:
    teams = make_table(kapp, "teams")
    sign_in(page)
    page.goto(f"/apps/{kapp.pk}/tables/{teams.pk}")
    page.get_by_test_id("rename-table").click()
    expect(page.get_by_test_id("table-usage-none")).to_have_text("No KScript method uses this table's aliases.")


def test_method_title_change_warns_about_the_deployed_name(
    page: Page, kapp: App, owner: Any, make_kscript: Any
) -> None:
    make_kscript(kapp, "List players")
    method_services.deploy_app(kapp, owner)

    sign_in(page)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"/apps/{kapp.pk}/kscripts")
    page.locator("[data-testid='kscript-row'][data-name='listPlayers']").get_by_test_id("kscript-edit").click()
    warning = page.get_by_test_id("method-rename-warning")
    page.wait_for_timeout(300)  # the deployed names arrive
    expect(warning).to_be_hidden()  # the same title: nothing to warn about
    page.get_by_test_id("kscript-title").fill("Top players")
    expect(warning).to_be_visible()
    expect(page.get_by_test_id("method-rename-retired")).to_have_text(
        "The next deploy removes listPlayers: from then on clients must call topPlayers, "
        "and apps still calling the old name get an error."
    )
    snap(page, "rename-20-method-title-warning-1024")
    page.get_by_test_id("kscript-form-submit").click()
    expect(page.locator("[data-testid='kscript-row'][data-name='topPlayers']")).to_be_visible()

    # Saved but not deployed: the dialog still names what the live deployment serves.
    page.locator("[data-testid='kscript-row'][data-name='topPlayers']").get_by_test_id("kscript-edit").click()
    expect(page.get_by_test_id("method-rename-retired")).to_contain_text("The next deploy removes listPlayers")
    page.get_by_test_id("kscript-title").fill("List players")
    expect(page.get_by_test_id("method-rename-warning")).to_be_hidden()
