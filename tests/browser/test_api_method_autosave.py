"""The API method editor autosaves with the KScript IDE's autosave: a save on top of an
older revision than the latest asks whether to overwrite theirs or load it, and each
choice ends as it says (revisions checked in the database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods.actions import services as api_services
from apimethods.models import ApiMethodRevision
from console.apps.models import App
from console.tables.models import Table
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

USERS = {"table": "users", "actions": [{"type": "select"}]}


def latest(method: Any) -> ApiMethodRevision:
    method.refresh_from_db()
    return method.revisions.select_related("author").get(number=method.latest_revision)


def test_a_conflict_offers_overwrite_or_load_theirs(
    page: Page, app: App, owner: Any, member: Any, make_table: Callable[..., Table]
) -> None:
    make_table(app, "users", name="string")
    method = api_services.create_api_method(app, owner, title="Users", definition=USERS).method
    sign_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/apps/{app.pk}/api/{method.pk}")
    status = page.get_by_test_id("save-status")
    expect(status).to_have_attribute("data-state", "saved")

    # Someone else saves revision 2 while the page still edits revision 1.
    api_services.save_api_method(method, member, base_revision=1, title="Members", definition=USERS)
    page.get_by_test_id("api-editor-title").fill("Users list")
    dialog = page.get_by_test_id("conflict-dialog")
    expect(dialog).to_contain_text("devon saved revision 2")
    expect(status).to_have_attribute("data-state", "conflict")
    snap(page, "api-autosave-10-conflict")
    dialog.get_by_test_id("conflict-overwrite").click()
    expect(status).to_have_attribute("data-state", "saved")
    expect(status).to_contain_text("rev 3")
    mine = latest(method)
    assert (mine.number, mine.title, mine.author.username) == (3, "Users list", "olivia")

    # Again, and this time their revision is loaded: nothing more is saved.
    api_services.save_api_method(method, member, base_revision=3, title="Members", definition=USERS)
    page.get_by_test_id("api-editor-title").fill("All users")
    expect(dialog).to_contain_text("devon saved revision 4")
    dialog.get_by_test_id("conflict-reload").click()
    expect(page.get_by_test_id("api-editor-title")).to_have_value("Members")
    expect(status).to_contain_text("rev 4")
    page.wait_for_timeout(1500)  # past the autosave delay
    assert latest(method).number == 4
