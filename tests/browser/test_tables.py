"""The table designer and the data browser in a real browser, through the UI only."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from console.apps.models import App
from console.tables import csvio, queries, services
from console.tables.models import Table
from tests.browser.conftest import sign_in
from tests.browser.conftest import snap as save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def snap(page: Page, name: str) -> None:
    # Let dialogs and toasts finish their entry animation first.
    page.wait_for_timeout(250)
    save_screenshot(page, name)


def create_table(page: Page, name: str) -> None:
    page.get_by_test_id("nav-app-tables").click()
    page.get_by_test_id("new-table").first.click()
    page.get_by_test_id("new-table-name").fill(name)
    page.get_by_test_id("new-table-submit").click()
    expect(page.get_by_test_id("table-title")).to_have_text(name)


def add_field(page: Page, name: str, field_type: str, target: str | None = None, on_delete: str | None = None) -> None:
    page.get_by_test_id("new-field-name").fill(name)
    page.get_by_test_id("new-field-type").select_option(field_type)
    if target is not None:
        page.get_by_test_id("new-field-target").select_option(label=target)
    if on_delete is not None:
        page.get_by_test_id("new-field-on-delete").select_option(on_delete)
    page.get_by_test_id("new-field-submit").click()
    expect(page.locator(f"[data-testid='field-row'][data-field='{name}']")).to_be_visible()


def rows(page: Page) -> Any:
    return page.get_by_test_id("record-row")


def filter_titles(page: Page, op: str, value: str, *, expected: str, screenshot: str) -> None:
    """Filter the photos grid by title, see the one matching photo, then clear the filter."""
    page.get_by_test_id("filter-op").select_option(op)
    if op == "in":
        expect(page.get_by_test_id("filter-value")).to_have_attribute("placeholder", "values, separated by commas")
    page.get_by_test_id("filter-value").fill(value)
    page.get_by_test_id("filter-apply").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator("[data-field='title']")).to_have_text(expected)
    snap(page, screenshot)
    page.get_by_test_id("filter-clear").click()
    expect(rows(page)).to_have_count(2)


def test_design_two_related_tables_fill_them_browse_and_cascade_a_delete(page: Page, owner: Any, app: App) -> None:
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables")
    expect(page.get_by_test_id("tables-empty")).to_be_visible()
    snap(page, "tables-01-empty")

    create_table(page, "photos")
    snap(page, "tables-02-new-table-designer")
    add_field(page, "title", "string")
    add_field(page, "taken", "datetime")
    add_field(page, "public", "boolean")

    create_table(page, "comments")
    add_field(page, "body", "text")
    page.get_by_test_id("new-field-name").fill("photo")
    page.get_by_test_id("new-field-type").select_option("belongs_to")
    page.get_by_test_id("new-field-target").select_option(label="photos")
    page.get_by_test_id("new-field-on-delete").select_option("cascade")
    snap(page, "tables-03-add-belongs-to")
    page.get_by_test_id("new-field-submit").click()
    relation = page.locator("[data-testid='field-row'][data-field='photo'] [data-testid='field-relation']")
    expect(relation).to_contain_text("photos")
    expect(relation).to_contain_text("cascade")
    expect(page.get_by_test_id("system-field-row").first).to_have_attribute("data-field", "commentID")
    # The index PostgreSQL keeps for the link is listed, marked automatic, not deletable.
    automatic = page.locator("[data-testid='index-row'][data-automatic='true']")
    expect(automatic).to_have_count(1)
    expect(automatic.get_by_test_id("index-note")).to_contain_text("Belongs To link photo → photos")
    expect(automatic.get_by_test_id("index-automatic")).to_have_text("automatic")
    expect(automatic.get_by_test_id("delete-index")).to_have_count(0)
    snap(page, "tables-04-comments-designer")

    page.get_by_role("link", name="photos").first.click()
    expect(page.get_by_test_id("has-many-item")).to_contain_text("comments")
    photos = Table.objects.get(app=app, name="photos")
    expect(page.get_by_test_id("table-alias")).to_have_text(photos.alias)
    snap(page, "tables-05-photos-designer")

    # Records in photos.
    page.get_by_test_id("tab-data").click()
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    snap(page, "tables-06-photos-empty-grid")
    for title, taken, public in [("Beach", "2024-05-01T10:30:00", True), ("Dunes", "1965-03-02T08:00:00", False)]:
        page.get_by_test_id("add-record").click()
        dialog = page.get_by_test_id("record-dialog")
        dialog.get_by_label("title").fill(title)
        dialog.get_by_label("taken").fill(taken)
        if public:
            dialog.get_by_role("switch", name="public").click()
        if title == "Beach":
            snap(page, "tables-07-record-dialog")
        page.get_by_test_id("record-save").click()
        expect(dialog).to_be_hidden()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("grid-count")).to_have_text("2 records")
    # The pre-1970 date came back as the same local time.
    expect(rows(page).nth(1).locator("[data-field='taken']")).to_contain_text("1965")
    snap(page, "tables-08-photos-grid")

    # Sort by title, descending (second click), then filter.
    page.locator("[data-testid='sort'][data-field='title']").click()
    expect(rows(page).first.locator("[data-field='title']")).to_have_text("Beach")
    page.locator("[data-testid='sort'][data-field='title']").click()
    expect(rows(page).first.locator("[data-field='title']")).to_have_text("Dunes")
    page.get_by_test_id("filter-field").select_option("title")
    filter_titles(page, "contains", "eac", expected="Beach", screenshot="tables-09-photos-filtered")
    # "is one of": a comma-separated list, spaces after the commas allowed
    filter_titles(page, "in", "Dunes, Nowhere", expected="Dunes", screenshot="tables-09a-photos-one-of")

    # A comment linked to Dunes through the picker.
    page.get_by_test_id("nav-app-tables").click()
    expect(page.get_by_test_id("table-row")).to_have_count(2)
    expect(page.locator("[data-table='photos'] [data-testid='table-row-count']")).to_have_text("2 records")
    snap(page, "tables-09b-tables-list")
    page.locator("[data-testid='table-row'][data-table='comments'] [data-testid='browse-table']").click()
    page.get_by_test_id("add-record").click()
    dialog = page.get_by_test_id("record-dialog")
    dialog.get_by_label("body").fill("Lovely light on the dunes.")
    page.get_by_test_id("field-photo").click()
    picker = page.get_by_test_id("record-picker")
    expect(picker.get_by_test_id("record-picker-row")).to_have_count(2)
    picker.get_by_test_id("record-picker-search").fill("Dun")
    expect(picker.get_by_test_id("record-picker-row")).to_have_count(1)
    snap(page, "tables-10-record-picker")
    picker.get_by_test_id("record-picker-choose").click()
    expect(picker).to_be_hidden()
    expect(dialog).to_contain_text("Dunes")
    snap(page, "tables-11-comment-linked")
    page.get_by_test_id("record-save").click()
    expect(rows(page)).to_have_count(1)
    photo_cell = rows(page).first.locator("[data-field='photo']")
    expect(photo_cell.locator(".id-chip")).to_have_text("#2")
    expect(photo_cell.get_by_test_id("parent-label")).to_have_text("Dunes")
    snap(page, "tables-12-comments-grid")

    # Deleting the parent photo cascades to the comment.
    rows(page).first.locator("[data-field='photo'] a").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator("[data-field='title']")).to_have_text("Dunes")
    rows(page).first.get_by_test_id("delete-record").click()
    expect(page.get_by_test_id("delete-record-dialog")).to_contain_text("1 record in comments linked by photo is deleted too")
    snap(page, "tables-13-delete-parent")
    page.get_by_test_id("delete-record-confirm").click()
    expect(page.get_by_test_id("grid-empty")).to_be_visible()
    page.goto(f"/apps/{app.pk}/tables")
    page.locator("[data-testid='table-row'][data-table='comments'] [data-testid='browse-table']").click()
    expect(page.get_by_test_id("grid-empty")).to_contain_text("comments has no records yet")
    snap(page, "tables-14-comments-after-cascade")


def test_bad_names_show_their_message_beside_the_field(page: Page, owner: Any, app: App) -> None:
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables")
    page.get_by_test_id("new-table").first.click()
    page.get_by_test_id("new-table-name").fill("bad name!")
    page.get_by_test_id("new-table-submit").click()
    expect(page.get_by_test_id("new-table-name-error")).to_be_visible()
    expect(page.get_by_test_id("new-table-name")).to_have_attribute("aria-invalid", "true")
    snap(page, "tables-20-bad-table-name")
    page.get_by_test_id("new-table-name").fill("photos")
    page.get_by_test_id("new-table-submit").click()
    expect(page.get_by_test_id("table-title")).to_have_text("photos")

    page.get_by_test_id("new-field-name").fill("Title")
    page.get_by_test_id("new-field-submit").click()
    error = page.get_by_test_id("new-field-name-error")
    expect(error).to_contain_text("lowerCamelCase")
    snap(page, "tables-21-bad-field-name")
    page.get_by_test_id("new-field-name").fill("photoID")
    page.get_by_test_id("new-field-submit").click()
    expect(error).to_contain_text("already has a field")
    assert not Table.objects.get(app=app, name="photos").fields.exists()


def test_csv_import_previews_refuses_bad_rows_then_imports(
    page: Page, owner: Any, app: App, make_table: Callable[..., Table], tmp_path: Any
) -> None:
    people = make_table(app, "people", name="string", age="integer", member="boolean")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,age,member\nAnn,31,yes\nBob,old,no\nCy,40,maybe\n")
    good = tmp_path / "good.csv"
    good.write_text("name,age,member\nAnn,31,yes\nBob,45,no\nCy,40,true\n")

    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{people.pk}/data")
    page.get_by_test_id("import-csv").click()
    snap(page, "tables-30-csv-choose")
    page.get_by_test_id("csv-file").set_input_files(str(bad))
    expect(page.get_by_test_id("csv-preview-errors")).to_contain_text("2 problems")
    expect(page.get_by_test_id("csv-error")).to_have_count(2)
    # The failing cells show the file's text, not an empty dash.
    expect(page.get_by_test_id("csv-bad-value")).to_have_text(["old", "maybe"])
    expect(page.get_by_test_id("csv-import")).to_be_disabled()
    snap(page, "tables-31-csv-preview-errors")

    page.get_by_test_id("csv-again").click()
    page.get_by_test_id("csv-file").set_input_files(str(good))
    expect(page.get_by_test_id("csv-preview-row")).to_have_count(3)
    expect(page.get_by_test_id("csv-import")).to_have_text("Import 3 rows")
    snap(page, "tables-32-csv-preview")
    page.get_by_test_id("csv-import").click()
    expect(page.get_by_test_id("csv-done")).to_contain_text("Imported 3 rows")
    snap(page, "tables-33-csv-done")
    page.get_by_test_id("csv-close").click()
    expect(rows(page)).to_have_count(3)
    expect(page.get_by_test_id("grid-count")).to_have_text("3 records")
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert exported[0] == "peopleID,timeCreated,timeUpdated,name,age,member"
    assert exported[1].endswith(",Ann,31,true") and len(exported) == 4


def test_a_big_grid_pages_with_tokens_and_every_type_has_its_editor(
    page: Page, owner: Any, app: App, make_table: Callable[..., Table]
) -> None:
    owners = make_table(app, "owners", name="string")
    services.insert_record(owners, {"name": "Grace"})
    things = make_table(
        app,
        "things",
        label="string",
        notes="text",
        amount="integer",
        price="float",
        active="boolean",
        seen="datetime",
        blob="data",
        owner=("belongs_to", owners, "set_empty"),
    )
    lines = ["label,notes,amount,price,active,seen,blob,owner"]
    blob = base64.b64encode(b"\x89PNG fake bytes").decode()
    for i in range(1, 1001):
        lines.append(
            f"thing {i:04},note {i},{i * 7},{i / 4},{'true' if i % 2 else 'false'},{1700000000 + i * 3600},{blob},1"
        )
    for chunk in (lines, [lines[0], *(line.replace("thing ", "item ") for line in lines[1:])]):
        job = csvio.start_import(things, "\n".join(chunk) + "\n")
        assert csvio.job_shape(job)["status"] == "done"

    sign_in(page)
    label_requests: list[str] = []
    page.on("request", lambda r: label_requests.append(r.url) if "filter_op=in" in r.url else None)
    page.goto(f"/apps/{app.pk}/tables/{things.pk}/data")
    expect(rows(page)).to_have_count(50)
    # 50 rows linking to owners: their labels come in one request, not one per row.
    expect(rows(page).first.locator("[data-field='owner']").get_by_test_id("parent-label")).to_have_text("Grace")
    assert len(label_requests) == 1 and f"/tables/{owners.pk}/records/" in label_requests[0]
    expect(page.get_by_test_id("grid-count")).to_have_text("2,000 records")
    snap(page, "tables-40-big-grid")
    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("grid-range")).to_have_text("Rows 51–100 · page 2")
    page.get_by_test_id("page-next").click()
    expect(page.get_by_test_id("grid-range")).to_have_text("Rows 101–150 · page 3")
    page.get_by_test_id("page-prev").click()
    expect(page.get_by_test_id("grid-range")).to_have_text("Rows 51–100 · page 2")
    expect(rows(page).first).to_have_attribute("data-record-id", "51")
    page.get_by_test_id("page-size").select_option("200")
    expect(rows(page)).to_have_count(200)
    expect(page.get_by_test_id("grid-range")).to_have_text("Rows 1–200 · page 1")

    page.locator("[data-testid='sort'][data-field='amount']").click()
    page.locator("[data-testid='sort'][data-field='amount']").click()
    expect(rows(page).first.locator("[data-field='amount']")).to_have_text("7000")
    snap(page, "tables-41-big-grid-sorted")
    page.get_by_test_id("grid-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    expect(rows(page).first.locator("[data-field='owner'] .id-chip")).to_have_text("#1")
    expect(rows(page).first.locator("[data-field='owner']").get_by_test_id("parent-label")).to_have_text("Grace")
    snap(page, "tables-43-big-grid-scrolled-right")
    page.set_viewport_size({"width": 760, "height": 900})
    snap(page, "tables-44-big-grid-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.emulate_media(color_scheme="dark")
    snap(page, "tables-45-big-grid-dark")
    page.emulate_media(color_scheme="light")

    with page.expect_download() as download:
        rows(page).first.get_by_test_id("download-data").click()
    assert Path(download.value.path()).read_bytes() == b"\x89PNG fake bytes"

    rows(page).first.get_by_test_id("edit-record").click()
    dialog = page.get_by_test_id("record-dialog")
    expect(dialog.get_by_label("notes")).to_have_value("note 1000")
    expect(dialog).to_contain_text("Grace")
    expect(dialog.get_by_test_id("field-blob-download")).to_be_visible()
    dialog.get_by_label("amount").fill("seven")
    page.get_by_test_id("record-save").click()
    expect(page.get_by_test_id("field-amount-error")).to_have_text("Enter a whole number.")
    snap(page, "tables-42-every-type-editor")
    dialog.get_by_label("amount").fill("7001")
    page.get_by_test_id("record-save").click()
    expect(dialog).to_be_hidden()
    expect(rows(page).first.locator("[data-field='amount']")).to_have_text("7001")

    page.get_by_test_id("add-record").click()
    expect(page.get_by_test_id("record-dialog").get_by_role("switch", name="active")).not_to_be_checked()
    snap(page, "tables-46-every-type-new-record")
    page.get_by_test_id("record-cancel").click()
    page.get_by_test_id("tab-structure").click()
    expect(page.get_by_test_id("field-row")).to_have_count(8)
    snap(page, "tables-47-every-type-designer")


def test_integers_beyond_2_53_are_shown_edited_and_saved_exactly(
    page: Page, owner: Any, app: App, make_table: Callable[..., Table]
) -> None:
    # Given a 64-bit integer a JS number would round (2^60 + 1 reads as ...976)
    ledger = make_table(app, "ledger", label="string", amount="integer")
    big = 2**60 + 1
    record = services.insert_record(ledger, {"label": "big", "amount": big})
    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{ledger.pk}/data")
    # Then the grid and the editor show every digit
    expect(rows(page).first.locator("[data-field='amount']")).to_have_text(str(big))
    rows(page).first.get_by_test_id("edit-record").click()
    dialog = page.get_by_test_id("record-dialog")
    expect(dialog.get_by_label("amount")).to_have_value(str(big))
    # And saving another field leaves it as it was; a new big value is stored exactly
    dialog.get_by_label("label").fill("still big")
    page.get_by_test_id("record-save").click()
    expect(dialog).to_be_hidden()
    expect(rows(page).first.locator("[data-field='label']")).to_have_text("still big")
    record_id = record[ledger.id_field]
    assert queries.get_record(ledger, record_id)["amount"] == big
    rows(page).first.get_by_test_id("edit-record").click()
    dialog.get_by_label("amount").fill(str(-(2**62) - 3))
    page.get_by_test_id("record-save").click()
    expect(dialog).to_be_hidden()
    expect(rows(page).first.locator("[data-field='amount']")).to_have_text(str(-(2**62) - 3))
    assert queries.get_record(ledger, record_id)["amount"] == -(2**62) - 3


def test_fields_are_renamed_and_retyped_indexes_added_and_a_parent_table_deleted(
    page: Page, owner: Any, app: App, make_table: Callable[..., Table]
) -> None:
    photos = make_table(app, "photos", title="string", rating="string")
    make_table(app, "comments", body="text", photo=("belongs_to", photos, "cascade"))
    services.insert_record(photos, {"title": "Beach", "rating": "great"})

    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{photos.pk}")
    rating = page.locator("[data-testid='field-row'][data-field='rating']")
    rating.get_by_test_id("edit-field").click()
    page.get_by_test_id("edit-field-name").fill("stars")
    page.get_by_test_id("edit-field-type").select_option("integer")
    page.get_by_test_id("edit-field-submit").click()
    expect(page.get_by_test_id("edit-field-type-error")).to_contain_text(
        "Cannot change rating to Integer: the value 'great' does not convert. Nothing was changed."
    )
    snap(page, "tables-50-retype-error")
    # Nothing was half-applied: the rename went back with the failed type change.
    assert sorted(photos.fields.values_list("name", flat=True)) == ["rating", "title"]
    page.get_by_test_id("edit-field-type").select_option("text")
    page.get_by_test_id("edit-field-submit").click()
    stars = page.locator("[data-testid='field-row'][data-field='stars']")
    expect(stars.get_by_test_id("field-type")).to_have_text("Text")

    page.get_by_test_id("new-index-column").first.select_option("title")
    page.get_by_test_id("new-index-more").click()
    page.get_by_test_id("new-index-column").nth(1).select_option("timeCreated")
    page.get_by_test_id("new-index-submit").click()
    expect(page.get_by_test_id("index-row")).to_contain_text("title + timeCreated")
    snap(page, "tables-51-composite-index")
    page.get_by_test_id("index-row").get_by_test_id("delete-index").click()
    page.get_by_test_id("delete-index-confirm").click()
    expect(page.get_by_test_id("index-row")).to_have_count(0)

    page.get_by_test_id("rename-table").click()
    page.get_by_test_id("rename-table-name").fill("pictures")
    page.get_by_test_id("rename-table-submit").click()
    expect(page.get_by_test_id("table-title")).to_have_text("pictures")
    expect(page.get_by_test_id("system-field-row").first).to_have_attribute("data-field", "pictureID")
    expect(page.get_by_test_id("table-alias")).to_have_text(Table.objects.get(pk=photos.pk).alias)

    page.get_by_test_id("delete-table").click()
    dialog = page.get_by_test_id("delete-table-dialog")
    expect(dialog.get_by_test_id("delete-table-children")).to_have_text("comments.photo")
    snap(page, "tables-52-delete-parent-table")
    page.get_by_test_id("delete-table-confirm").click()
    expect(page.get_by_test_id("table-row")).to_have_count(1)
    comments = Table.objects.get(app=app, name="comments")
    assert comments.fields.get(name="photo").type == "integer"


def test_a_long_import_runs_in_a_worker_and_reports_progress(
    page: Page, owner: Any, app: App, make_table: Callable[..., Table], tmp_path: Any, celery_worker_process: Any
) -> None:
    points = make_table(app, "points", x="integer", y="float")
    big = tmp_path / "points.csv"
    big.write_text("x,y\n" + "".join(f"{i},{i / 3}\n" for i in range(1500)))

    sign_in(page)
    page.goto(f"/apps/{app.pk}/tables/{points.pk}/data")
    page.get_by_test_id("import-csv").click()
    page.get_by_test_id("csv-file").set_input_files(str(big))
    expect(page.get_by_test_id("csv-summary")).to_contain_text("1,500 rows")
    expect(page.get_by_test_id("csv-preview-row")).to_have_count(20)
    page.get_by_test_id("csv-import").click()
    # More than 1,000 rows: the answer is "pending" and the dialog polls the import.
    expect(page.get_by_test_id("csv-progress")).to_be_visible()
    snap(page, "tables-34-csv-progress")
    expect(page.get_by_test_id("csv-done")).to_contain_text("Imported 1,500 rows", timeout=60_000)
    page.get_by_test_id("csv-close").click()
    expect(page.get_by_test_id("grid-count")).to_have_text("1,500 records")
