"""CSV import/export through the API, and app definitions exported and imported."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from console.apps import services as app_services
from console.apps.models import App
from console.tables import appformat, csvio, queries, services
from console.tables.models import CsvImport, Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def csv_url(app: App, table: Table, rest: str = "") -> str:
    return f"/api/apps/{app.pk}/tables/{table.pk}/csv/{rest}"


def test_preview_shows_rows_and_per_row_errors(client_for: Callable, owner: Any, app: App, users: Table) -> None:
    text = "name,age\nann,30\nbob,old\n,\ncy,7,extra\n"
    body = client_for(owner).post(csv_url(app, users, "preview/"), {"csv": text}, format="json").json()
    assert body["columns"] == ["name", "age"]
    assert body["rows"][:2] == [{"name": "ann", "age": 30}, {"name": "bob", "age": None}]
    assert body["errors"] == [
        {"row": 3, "field": "age", "value": "old", "message": "Expected a whole number, not 'old'."},
        {"row": 5, "field": None, "value": None, "message": "Expected 2 cells, found 3."},
    ]


@pytest.mark.parametrize(
    "text, field, value",
    [
        ("age\n 12.5 \n", "age", " 12.5 "),  # the raw text, spaces and all
        ('name,age\nann,"7,5"\n', "age", "7,5"),
        ("name\n" + "x" * 256 + "\n", "name", "x" * csvio.ERROR_VALUE_CHARS + "…"),  # a long cell is cut short
    ],
)
def test_a_preview_error_carries_the_raw_text_of_its_cell(
    client_for: Callable, owner: Any, app: App, users: Table, text: str, field: str, value: str
) -> None:
    body = client_for(owner).post(csv_url(app, users, "preview/"), {"csv": text}, format="json").json()
    assert [(e["row"], e["field"], e["value"]) for e in body["errors"]] == [(2, field, value)]
    assert body["rows"] == [{c: None for c in body["columns"]} | ({"name": "ann"} if "ann" in text else {})]


def test_an_import_with_one_bad_row_imports_nothing(client_for: Callable, owner: Any, app: App, users: Table) -> None:
    text = "name,age\n" + "".join(f"p{i},{i}\n" for i in range(50)) + "bad,x\n"
    response = client_for(owner).post(csv_url(app, users, "imports/"), {"csv": text}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["imported_rows"]) == ("failed", 0)
    assert body["errors"] == [{"row": 52, "field": "age", "value": "x", "message": "Expected a whole number, not 'x'."}]
    assert queries.record_count(users) == (0, True)


def test_the_preview_names_belongs_to_values_without_a_parent(
    client_for: Callable, owner: Any, app: App, users: Table, make_table: Callable
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    services.insert_record(users, {"name": "ann"})
    text = "title,photographer\na,1\nb,1\n\nc,99\nd,\ne,7\n"
    body = client_for(owner).post(csv_url(app, photos, "preview/"), {"csv": text}, format="json").json()
    assert body["errors"] == [
        {"row": 5, "field": "photographer", "value": "99", "message": "There is no record 99 in users."},
        {"row": 7, "field": "photographer", "value": "7", "message": "There is no record 7 in users."},
    ]
    job = client_for(owner).post(csv_url(app, photos, "imports/"), {"csv": text}, format="json").json()
    assert (job["status"], job["imported_rows"], job["errors"]) == ("failed", 0, body["errors"])
    assert queries.record_count(photos) == (0, True)


def test_a_parent_gone_between_check_and_import_is_named_by_row_and_field(
    app: App, users: Table, make_table: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    services.insert_record(users, {"name": "ann"})
    # As if someone deleted record 99 after the file was checked: PostgreSQL refuses the row.
    monkeypatch.setattr(csvio, "_check_parents", lambda *args: None)
    job = csvio.start_import(photos, "title,photographer\na,1\n\nb,1\nc,99\n")
    assert job.status == CsvImport.Status.FAILED
    assert job.errors == [
        {"row": 5, "field": "photographer", "value": "99", "message": "There is no record 99 in users."}
    ]
    assert queries.record_count(photos) == (0, True)


def test_datetime_cells_read_as_epoch_seconds_plain_or_iso_8601(
    client_for: Callable, owner: Any, app: App, make_table: Callable
) -> None:
    events = make_table(app, "events", at="datetime")
    text = "at\n1700000000\n2024-03-05 10:20:30\n2024-03-05T10:20:30+02:00\n2024-03-05T10:20:30Z\n2024-03-05\n\n"
    client = client_for(owner)
    body = client.post(csv_url(app, events, "preview/"), {"csv": text}, format="json").json()
    assert body["errors"] == []
    assert body["datetime_formats"] == {"at": ["epoch seconds", "YYYY-MM-DD HH:MM:SS (UTC)", "ISO 8601"]}
    assert [r["at"] for r in body["rows"]] == [1700000000, 1709634030, 1709626830, 1709634030, 1709596800]
    assert client.post(csv_url(app, events, "imports/"), {"csv": text}, format="json").json()["status"] == "done"
    assert [r["at"] for r in queries.browse(events, queries.BrowseRequest())["records"]] == [
        1700000000,
        1709634030,
        1709626830,
        1709634030,
        1709596800,
    ]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("2024-02-30 10:00:00", "'2024-02-30 10:00:00' is not a real date and time."),
        ("05/03/2024", "Expected a date and time (epoch seconds, YYYY-MM-DD HH:MM:SS or ISO 8601), not '05/03/2024'."),
    ],
)
def test_a_datetime_cell_in_no_known_form_is_a_row_error(
    client_for: Callable, owner: Any, app: App, make_table: Callable, cell: str, message: str
) -> None:
    events = make_table(app, "events", at="datetime")
    body = client_for(owner).post(csv_url(app, events, "preview/"), {"csv": f"at\n0\n{cell}\n"}, format="json").json()
    assert body["errors"] == [{"row": 3, "field": "at", "value": cell, "message": message}]
    assert body["datetime_formats"] == {"at": ["epoch seconds"]}


def test_a_good_import_lands_every_row_and_reports_progress(
    client_for: Callable, owner: Any, app: App, users: Table
) -> None:
    client = client_for(owner)
    text = "NAME,age,userID,timeCreated\n" + "".join(f"p{i},{i},999,0\n" for i in range(30))
    job = client.post(csv_url(app, users, "imports/"), {"csv": text}, format="json").json()
    assert (job["status"], job["imported_rows"], job["progress"]) == ("done", 30, 1.0)
    assert client.get(csv_url(app, users, f"imports/{job['id']}/")).json()["status"] == "done"
    assert queries.record_count(users) == (30, True)


def test_a_large_import_is_queued_for_the_worker_and_runs_once(
    app: App, users: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    from console.tables.tasks import import_csv_task

    queued: list[int] = []
    monkeypatch.setattr(import_csv_task, "delay", queued.append)  # after commit; no worker here
    text = "name\n" + "x\n" * (csvio.SYNC_ROWS + 1)
    job = csvio.start_import(users, text)
    assert job.status == CsvImport.Status.PENDING and queued == [job.pk]
    csvio.run_import(job.pk)  # what the task does
    csvio.run_import(job.pk)  # a second delivery changes nothing
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == ("done", csvio.SYNC_ROWS + 1)
    assert queries.record_count(users) == (csvio.SYNC_ROWS + 1, True)


def test_an_unknown_column_is_refused(client_for: Callable, owner: Any, app: App, users: Table) -> None:
    response = client_for(owner).post(csv_url(app, users, "preview/"), {"csv": "nickname\nx\n"}, format="json")
    assert (response.status_code, response.json()) == (400, {"csv": ["Column 'nickname' is not a field of users."]})


def test_export_streams_csv_that_imports_again(
    client_for: Callable, owner: Any, app: App, users: Table, monkeypatch: Any
) -> None:
    monkeypatch.setattr(csvio, "EXPORT_BATCH", 2)
    for i in range(5):
        services.insert_record(users, {"name": f"p,{i}", "age": i})
    response = client_for(owner).get(csv_url(app, users))
    text = b"".join(response.streaming_content).decode()
    lines = text.splitlines()
    assert lines[0] == "userID,timeCreated,timeUpdated,name,age" and len(lines) == 6
    assert lines[1].startswith("1,") and lines[1].endswith(',"p,0",0')
    # IDs and times in the file are left to the database.
    assert csvio.start_import(users, text).status == "done"
    assert queries.record_count(users) == (10, True)
    assert queries.get_record(users, 6)["name"] == "p,0"


@pytest.fixture
def designed(app: App, users: Table, make_table: Callable) -> App:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "set_empty"))
    services.add_field(photos, "parent", "belongs_to", target=photos, on_delete="prevent")
    services.add_index(users, ["name", "age"])
    return app


def test_export_describes_tables_fields_relations_and_indexes(designed: App) -> None:
    assert appformat.export_app(designed) == {
        "format": "kiln-app",
        "version": 1,
        "app": {"name": "Photo Share"},
        "tables": [
            {
                "name": "users",
                "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": "integer"}],
                "indexes": [{"fields": ["name", "age"]}],
            },
            {
                "name": "photos",
                "fields": [
                    {"name": "title", "type": "string"},
                    {"name": "photographer", "type": "belongs_to", "belongs_to": "users", "on_delete": "set_empty"},
                    {"name": "parent", "type": "belongs_to", "belongs_to": "photos", "on_delete": "prevent"},
                ],
                "indexes": [],
            },
        ],
        "kscripts": [],
        "api_methods": [],
        "schedules": [],
        "automations": [],
    }


def test_export_then_import_into_a_new_app_round_trips(designed: App, owner: Any, tmp_path: Path, capsys: Any) -> None:
    call_command("app_export", str(designed.pk))
    path = tmp_path / "app.json"
    path.write_text(capsys.readouterr().out)
    fresh = app_services.create_app(owner, "Copy")
    call_command("app_import", str(fresh.pk), str(path))
    exported = appformat.export_app(fresh)
    assert exported["tables"] == json.loads(path.read_text())["tables"]
    photos = Table.objects.get(app=fresh, name="photos")
    assert photos.alias == f"{fresh.pk}_1_photos" or photos.alias == f"{fresh.pk}_2_photos"


def test_import_alters_an_existing_app_to_match(designed: App) -> None:
    document = appformat.export_app(designed)
    document["tables"][0]["fields"][1]["type"] = "string"  # age: integer → string
    document["tables"][0]["fields"].append({"name": "email", "type": "text"})
    document["tables"].append({"name": "tags", "fields": [{"name": "label", "type": "string"}]})
    changes = appformat.import_app(designed, document)
    assert changes == [
        "created table tags",
        "changed users.age to string",
        "added field users.email",
        "added field tags.label",
    ]
    assert appformat.import_app(designed, document) == []


def test_a_failing_import_changes_nothing(designed: App) -> None:
    before = appformat.export_app(designed)
    document = json.loads(json.dumps(before))
    document["tables"].append({"name": "tags", "fields": []})
    document["tables"][0]["fields"].append({"name": "select", "type": "string"})
    with pytest.raises(Exception) as error:
        appformat.import_app(designed, document)
    assert "tables[0].fields[2].name" in str(error.value.detail)
    assert appformat.export_app(designed) == before


def test_import_command_reports_errors_without_changing_anything(designed: App, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("app_import", str(designed.pk), str(path))


def test_import_through_the_api_is_for_owners(client_for: Callable, owner: Any, member: Any, designed: App) -> None:
    document = appformat.export_app(designed)
    document["tables"].append({"name": "tags", "fields": []})
    url = f"/api/apps/{designed.pk}/definition/"
    assert client_for(member).put(url, document, format="json").status_code == 403
    response = client_for(owner).put(url, document, format="json")
    assert response.json() == {"changes": ["created table tags"]}


def test_export_honours_the_data_browsers_filter(client_for: Callable, owner: Any, app: App, users: Table) -> None:
    for name, age in [("ann", 30), ("bob", 12), ("cy", 41), ("di", None)]:
        services.insert_record(users, {"name": name, "age": age})
    client = client_for(owner)
    response = client.get(csv_url(app, users), {"filter_field": "age", "filter_op": "gte", "filter_value": "30"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [line.split(",")[0] + "," + line.split(",", 3)[3] for line in lines] == [
        "userID,name,age",
        "1,ann,30",
        "3,cy,41",
    ]
    response = client.get(csv_url(app, users), {"filter_field": "age", "filter_op": "is_null"})
    assert [line.split(",")[0] for line in b"".join(response.streaming_content).decode().splitlines()] == [
        "userID",
        "4",
    ]
    bad = client.get(csv_url(app, users), {"filter_field": "height", "filter_op": "eq", "filter_value": "1"})
    assert (bad.status_code, bad.json()) == (400, {"filter_field": ["users has no field called 'height'."]})
