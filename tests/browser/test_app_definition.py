"""The app definition card on the settings page: download the JSON, import it into
another app, and see a refused import change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_download_a_definition_and_import_it_into_another_app(page: Page, owner: Any, app: App, tmp_path: Path) -> None:
    users = table_services.create_table(app, "users")
    table_services.add_field(users, "name", "string")
    photos = table_services.create_table(app, "photos")
    table_services.add_field(photos, "owner", "belongs_to", target=users, on_delete="cascade")
    app_services.set_platform_flags(app, kscript_enabled=True)
    method_services.create_kscript(
        app, owner, title="Count users", return_type="number", params=[], code="K.setResponse(1);"
    )
    copy = app_services.create_app(owner, "Copy")
    app_services.set_platform_flags(copy, kscript_enabled=True)

    sign_in(page, owner.username)
    page.goto(f"/apps/{app.pk}/settings")
    card = page.get_by_test_id("definition-card")
    with page.expect_download() as download:
        card.get_by_test_id("definition-download").click()
    assert download.value.suggested_filename == "photo-share.kiln.json"
    document = json.loads(Path(download.value.path()).read_text())
    assert [t["name"] for t in document["tables"]] == ["users", "photos"]
    assert document["kscripts"][0]["title"] == "Count users"

    saved = tmp_path / "photo-share.kiln.json"
    saved.write_text(json.dumps(document))
    page.goto(f"/apps/{copy.pk}/settings")
    card = page.get_by_test_id("definition-card")
    expect(card.get_by_test_id("definition-import")).to_be_disabled()
    card.get_by_test_id("definition-file").set_input_files(str(saved))
    card.get_by_test_id("definition-import").click()
    expect(card.get_by_test_id("definition-change")).to_have_count(5)
    expect(card.get_by_test_id("definition-result")).to_contain_text("created KScript countUsers")
    snap(page, "definition-01-imported")
    assert sorted(Table.objects.filter(app=copy).values_list("name", flat=True)) == ["photos", "users"]

    # The same file again: nothing to change.
    card.get_by_test_id("definition-import").click()
    expect(card.get_by_test_id("definition-nothing")).to_be_visible()

    # A bad file is refused with its place, and nothing changes.
    document["tables"].append({"name": "tags", "fields": [{"name": "select", "type": "string"}]})
    saved.write_text(json.dumps(document))
    card.get_by_test_id("definition-file").set_input_files(str(saved))
    card.get_by_test_id("definition-import").click()
    expect(card.get_by_test_id("definition-error")).to_contain_text("tables[2].fields[0].name")
    expect(card.get_by_test_id("definition-error")).to_contain_text("Nothing was changed.")
    snap(page, "definition-02-refused")
    assert not Table.objects.filter(app=copy, name="tags").exists()

    not_json = tmp_path / "notes.json"
    not_json.write_text("{oops")
    card.get_by_test_id("definition-file").set_input_files(str(not_json))
    card.get_by_test_id("definition-import").click()
    expect(card.get_by_test_id("definition-error")).to_contain_text("notes.json is not a JSON file.")


def test_developers_can_download_but_not_import(page: Page, member: Any, app: App) -> None:
    sign_in(page, member.username)
    page.goto(f"/apps/{app.pk}/settings")
    card = page.get_by_test_id("definition-card")
    expect(card.get_by_test_id("definition-download")).to_be_visible()
    expect(card.get_by_test_id("definition-file")).to_have_count(0)
