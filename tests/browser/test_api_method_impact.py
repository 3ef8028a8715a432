"""The table designer's rename and delete dialogs name the drag-and-drop API methods the
change would break (the impact endpoint), before anything is applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods.actions import services as api_services
from console.apps.models import App
from console.tables.models import Table
from tests.browser.conftest import sign_in
from tests.browser.conftest import snap as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def snap(page: Page, name: str) -> None:
    page.wait_for_timeout(250)  # the dialog's entry animation
    save_screenshot(page, name)


@pytest.fixture
def methods(app: App, owner: Any, make_table: Callable[..., Table]) -> dict[str, Any]:
    users = make_table(app, "users", name="string")
    photos = make_table(app, "photos", title="string", rating="float", photographer=("belongs_to", users, "cascade"))
    by_title = api_services.create_api_method(
        app,
        owner,
        title="Photos by title",
        definition={
            "table": "photos",
            "params": [{"field": "title"}],
            "actions": [
                {"type": "select", "filters": [{"field": "title", "op": "contains", "value": {"param": "title"}}]}
            ],
        },
    )
    top = api_services.create_api_method(
        app,
        owner,
        title="Best rating",
        definition={"table": "photos", "actions": [{"type": "aggregate", "function": "max", "field": "rating"}]},
    )
    return {"photos": photos, "by_title": by_title.method, "top": top.method}


def test_deleting_and_renaming_a_field_names_the_methods_it_breaks(
    page: Page, app: App, methods: dict[str, Any]
) -> None:
    photos = methods["photos"]
    sign_in(page)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}")

    page.locator("[aria-label='Delete field title']").click()
    dialog = page.get_by_test_id("delete-field-dialog")
    impact = dialog.get_by_test_id("api-method-impact")
    expect(impact.get_by_test_id("api-method-impact-method")).to_have_count(1)
    method = impact.locator("[data-name='photosByTitle']")
    expect(method).to_contain_text("photosByTitle")
    expect(method).to_contain_text("actions[0].filters[0]")
    expect(method.locator("a")).to_have_attribute("href", f"/apps/{app.pk}/api/{methods['by_title'].pk}")
    expect(impact).to_contain_text("Deleting photos.title breaks 1 API method")
    snap(page, "impact-10-delete-field-1024")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Renaming: said once the name changes, and only when something breaks.
    page.locator("[aria-label='Edit field title']").click()
    dialog = page.get_by_test_id("edit-field-dialog")
    impact = dialog.get_by_test_id("api-method-impact")
    expect(impact).to_have_attribute("data-count", "1")
    expect(impact).to_be_hidden()
    page.get_by_test_id("edit-field-name").fill("caption")
    expect(impact).to_be_visible()
    expect(impact).to_contain_text("Renaming photos.title breaks 1 API method")
    snap(page, "impact-11-rename-field-1024")
    page.get_by_test_id("edit-field-name").fill("title")
    expect(impact).to_be_hidden()
    page.keyboard.press("Escape")

    # A field no method uses says so when deleted, and nothing when renamed.
    page.locator("[aria-label='Delete field photographer']").click()
    none = page.get_by_test_id("delete-field-dialog").get_by_test_id("api-method-impact-none")
    expect(none).to_have_text("No API method uses photos.photographer.")
    page.keyboard.press("Escape")
    # Nothing was changed by looking.
    assert sorted(photos.fields.values_list("name", flat=True)) == ["photographer", "rating", "title"]


def test_renaming_and_deleting_a_table_names_every_method_using_it(
    page: Page, app: App, methods: dict[str, Any]
) -> None:
    photos = methods["photos"]
    sign_in(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}")

    page.get_by_test_id("rename-table").click()
    impact = page.get_by_test_id("api-method-impact")
    expect(impact.get_by_test_id("api-method-impact-method")).to_have_count(2)
    expect(impact).to_contain_text("Renaming photos breaks 2 API methods")
    expect(impact.locator("[data-name='bestRating']")).to_contain_text("actions[0].field")
    snap(page, "impact-12-rename-table-1440")
    page.keyboard.press("Escape")

    page.get_by_test_id("delete-table").click()
    dialog = page.get_by_test_id("delete-table-dialog")
    expect(dialog.get_by_test_id("api-method-impact-method")).to_have_count(2)
    expect(dialog.get_by_test_id("api-method-impact")).to_contain_text("Deleting photos breaks 2 API methods")
    snap(page, "impact-13-delete-table-1440")
    page.keyboard.press("Escape")
    assert Table.objects.filter(pk=photos.pk).exists()


def test_a_type_change_names_the_methods_the_new_type_breaks(page: Page, app: App, methods: dict[str, Any]) -> None:
    photos = methods["photos"]
    sign_in(page)
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}")
    page.locator("[aria-label='Edit field title']").click()
    dialog = page.get_by_test_id("edit-field-dialog")
    page.get_by_test_id("edit-field-type").select_option("integer")
    impact = dialog.get_by_test_id("api-method-type-impact")
    expect(impact).to_be_visible()
    expect(impact).to_contain_text("Making photos.title Integer breaks 1 API method")
    expect(impact.locator("[data-name='photosByTitle']")).to_contain_text(
        "'contains' compares text; photos.title is integer."
    )
    snap(page, "impact-14-retype-field-1024")
    # Text keeps `contains` working: nothing to say.
    page.get_by_test_id("edit-field-type").select_option("text")
    expect(dialog.get_by_test_id("api-method-type-impact")).to_have_attribute("data-count", "0")
    expect(dialog.get_by_test_id("api-method-type-impact")).to_be_hidden()
    page.keyboard.press("Escape")
    assert photos.fields.get(name="title").type == "string"
