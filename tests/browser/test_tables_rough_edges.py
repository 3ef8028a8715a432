"""Data browser and designer rough edges (issue 13) in a real browser: CSV DateTime forms and
missing parents in the preview, the lossy type change that asks, cascade counts, and the
sort and filter kept in the URL and the export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from console.tables import queries, services
from console.tables.models import Table
from tests.browser.conftest import sign_in
from tests.browser.conftest import snap as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def snap(page: Page, name: str) -> None:
    page.wait_for_timeout(250)  # dialogs finish their entry animation
    save_screenshot(page, name)


def rows(page: Page) -> Any:
    return page.get_by_test_id("record-row")


@pytest.fixture
def photo_app(app: App, make_table: Callable[..., Table]) -> tuple[Table, Table]:
    users = make_table(app, "users", name="string", score="float")
    photos = make_table(app, "photos", title="string", taken="datetime", photographer=("belongs_to", users, "cascade"))
    for name, score in [("ann", 4.75), ("bob", 2.0), ("cy", 1.5)]:
        services.insert_record(users, {"name": name, "score": score})
    for title, photographer in [("a", 1), ("b", 1), ("c", 2), ("d", 1)]:
        services.insert_record(photos, {"title": title, "photographer": photographer})
    return users, photos


def test_csv_preview_reads_datetime_forms_and_names_missing_parents_in_a_dialog_that_fits(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table], tmp_path: Path
) -> None:
    _, photos = photo_app
    bad = tmp_path / "photos.csv"
    long_title = "a-very-long-title-without-spaces-" * 6
    bad.write_text(
        "title,taken,photographer\n"
        f"{long_title},2024-03-05 10:20:30,1\n"
        "Dunes,2024-03-05T10:20:30+02:00,99\n"
        "Pier,1700000000,7\n"
    )
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}/data")
    page.get_by_test_id("import-csv").click()
    page.get_by_test_id("csv-file").set_input_files(str(bad))
    expect(page.get_by_test_id("csv-datetime-formats")).to_have_text(
        "taken read as epoch seconds and YYYY-MM-DD HH:MM:SS (UTC) and ISO 8601"
    )
    errors = page.get_by_test_id("csv-error")
    expect(errors).to_have_text(
        ["row 3 · photographerThere is no record 99 in users.", "row 4 · photographerThere is no record 7 in users."]
    )
    expect(page.get_by_test_id("csv-import")).to_be_disabled()
    # The dialog never scrolls sideways: its buttons stay inside the window.
    panel = page.get_by_test_id("csv-dialog")
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth")
    box = page.get_by_test_id("csv-import").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1024
    snap(page, "tables-rough-01-csv-missing-parents-1024")
    page.set_viewport_size({"width": 1440, "height": 900})
    snap(page, "tables-rough-02-csv-missing-parents-1440")
    page.get_by_test_id("csv-cancel").click()
    assert queries.record_count(photos) == (4, True)


def test_a_lossy_type_change_says_how_many_values_change_and_asks(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table]
) -> None:
    users, _ = photo_app
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{users.pk}")
    page.locator("[data-testid='field-row'][data-field='score'] [data-testid='edit-field']").click()
    page.get_by_test_id("edit-field-type").select_option("integer")
    page.get_by_test_id("edit-field-submit").click()
    effect = page.get_by_test_id("type-change-effect")
    expect(effect).to_contain_text("2 values of score will change as Integer")
    expect(effect.locator("li")).to_have_text(["#1: 4.75 → 5", "#3: 1.5 → 2"])
    expect(page.get_by_test_id("edit-field-submit")).to_have_text("Change 2 values")
    snap(page, "tables-rough-03-lossy-type-change")
    assert users.fields.get(name="score").type == "float"  # asked, not applied
    page.get_by_test_id("edit-field-submit").click()
    expect(page.locator("[data-testid='field-row'][data-field='score'] [data-testid='field-type']")).to_have_text(
        "Integer"
    )
    assert [r["score"] for r in queries.browse(users, queries.BrowseRequest())["records"]] == [5, 2, 2]


def test_the_delete_dialog_counts_what_a_cascade_takes_all_the_way_down(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table], make_table: Callable[..., Table]
) -> None:
    users, photos = photo_app
    comments = make_table(app, "comments", body="string", photo=("belongs_to", photos, "cascade"))
    flags = make_table(app, "flags", comment=("belongs_to", comments, "set_empty"))
    first_photo = queries.browse(photos, queries.BrowseRequest())["records"][0]
    for _ in range(2):
        comment = services.insert_record(comments, {"body": "nice", "photo": first_photo["photoID"]})
    services.insert_record(flags, {"comment": comment["commentID"]})
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{users.pk}/data")
    rows(page).first.get_by_test_id("delete-record").click()
    expect(page.get_by_test_id("delete-effect")).to_contain_text(
        ["3 records in photos linked by photographer are deleted too"]
    )
    expect(page.get_by_test_id("delete-effect-deeper")).to_have_text(
        [
            "…and 2 records in comments linked by photo are deleted too…and 1 record in flags linked by comment loses the link",
            "…and 1 record in flags linked by comment loses the link",
        ]
    )
    snap(page, "tables-rough-04b-deep-cascade-counts")


def test_cascade_counts_and_sort_and_filter_survive_reload_and_reach_the_export(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table]
) -> None:
    users, photos = photo_app
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{users.pk}/data")
    expect(rows(page)).to_have_count(3)
    rows(page).first.get_by_test_id("delete-record").click()
    expect(page.get_by_test_id("delete-effect")).to_have_text(
        ["3 records in photos linked by photographer are deleted too"]
    )
    snap(page, "tables-rough-04-cascade-counts")
    page.get_by_test_id("delete-record-dialog").get_by_role("button", name="Cancel").click()
    assert queries.record_count(photos) == (4, True)

    page.goto(f"/apps/{app.pk}/tables/{photos.pk}/data")
    expect(rows(page)).to_have_count(4)
    page.locator("[data-testid='sort'][data-field='title']").click()
    page.locator("[data-testid='sort'][data-field='title']").click()  # descending
    page.get_by_test_id("filter-field").select_option("photographer")
    page.get_by_test_id("filter-op").select_option("eq")
    page.get_by_test_id("filter-value").fill("1")
    page.get_by_test_id("filter-apply").click()
    expect(rows(page).locator("[data-field='title']")).to_have_text(["d", "b", "a"])
    assert page.url.endswith("?filter_field=photographer&filter_op=eq&filter_value=1&sort=title&direction=desc")
    page.reload()
    expect(rows(page).locator("[data-field='title']")).to_have_text(["d", "b", "a"])
    expect(page.get_by_test_id("filter-value")).to_have_value("1")
    snap(page, "tables-rough-05-filter-in-url")
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in exported] == ["photoID", "1", "2", "4"]


def test_the_on_delete_rule_changes_in_the_edit_field_dialog(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table]
) -> None:
    _, photos = photo_app
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}")
    page.locator("[data-testid='field-row'][data-field='photographer'] [data-testid='edit-field']").click()
    expect(page.get_by_test_id("edit-field-on-delete")).to_have_value("cascade")
    page.get_by_test_id("edit-field-on-delete").select_option("prevent")
    snap(page, "tables-rough-06-on-delete-editable")
    page.get_by_test_id("edit-field-submit").click()
    expect(page.get_by_test_id("edit-field-dialog")).to_be_hidden()
    expect(page.get_by_test_id("belongs-to-item")).to_contain_text(
        "The parent cannot be deleted while these records exist"
    )
    assert photos.fields.get(name="photographer").on_delete == "prevent"
    page.locator("[data-testid='field-row'][data-field='photographer'] [data-testid='edit-field']").click()
    expect(page.get_by_test_id("edit-field-on-delete")).to_have_value("prevent")


def test_a_unique_index_is_added_and_refuses_a_duplicate_in_kilns_words(
    page: Page, owner: Any, app: App, photo_app: tuple[Table, Table]
) -> None:
    users, _ = photo_app
    services.insert_record(users, {"name": "ann"})
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{users.pk}")
    page.get_by_test_id("new-index-column").first.select_option("name")
    page.get_by_test_id("new-index-unique").check()
    page.get_by_test_id("new-index-submit").click()
    expect(page.get_by_test_id("new-index-error")).to_have_text(
        "More than one record has the same values (name = ann); make them unique first."
    )
    assert users.indexes.count() == 0
    services.delete_record(users, 4)
    page.get_by_test_id("new-index-submit").click()
    expect(page.get_by_test_id("index-unique")).to_have_count(1)
    snap(page, "tables-rough-07-unique-index")
    assert list(users.indexes.values_list("fields", "unique")) == [(["name"], True)]
