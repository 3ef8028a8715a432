"""CSV export neutralises spreadsheet formulas (OWASP's CSV injection) in text cells only,
and a file Kiln exported imports back to the very same values."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables import csvio, queries, services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

# The shapes, plus the other starts OWASP lists (tab, carriage return).
FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.fixture
def things(app: App, make_table: Callable[..., Table]) -> Table:
    return make_table(app, "things", label="string", note="text", count="integer", ratio="float", blob="data")


def exported(client: Any, app: App, table: Table) -> list[list[str]]:
    response = client.get(f"/api/apps/{app.pk}/tables/{table.pk}/csv/")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text, newline="")))


def test_formula_cells_of_text_fields_are_exported_with_a_leading_quote(
    client_for: Callable, owner: Any, app: App, things: Table
) -> None:
    for formula in FORMULAS:
        services.insert_record(things, {"label": formula, "note": formula})
    rows = exported(client_for(owner), app, things)
    assert rows[0][3:5] == ["label", "note"]
    assert [row[3:5] for row in rows[1:]] == [["'" + f, "'" + f] for f in FORMULAS]


def test_numbers_stay_numbers_and_data_stays_base64(client_for: Callable, owner: Any, app: App, things: Table) -> None:
    # b"\xfb\xef" is "++8=" in base64: a Data cell can start with +, but cannot hold a call.
    services.insert_record(things, {"label": "-5", "count": -5, "ratio": -2.5, "blob": "++8="})
    rows = exported(client_for(owner), app, things)
    assert rows[0][3:] == ["label", "note", "count", "ratio", "blob"]
    assert rows[1][3:] == ["'-5", "", "-5", "-2.5", "++8="]


def test_ordinary_text_is_left_alone_and_a_leading_quote_is_doubled(
    client_for: Callable, owner: Any, app: App, things: Table
) -> None:
    for label in ["plain", "a=b", " =not a formula", "'quoted'", "'=already"]:
        services.insert_record(things, {"label": label})
    rows = exported(client_for(owner), app, things)
    assert [row[3] for row in rows[1:]] == ["plain", "a=b", " =not a formula", "''quoted'", "''=already"]


def test_an_exported_file_imports_back_to_the_same_values(
    client_for: Callable, owner: Any, app: App, things: Table
) -> None:
    labels = [*FORMULAS, "plain", "'quoted'", "'=already", "''", "'", "-5"]
    for label in labels:
        services.insert_record(things, {"label": label, "note": label, "count": -7, "ratio": -0.5, "blob": "++8="})
    text = "".join(csvio.export_rows(things))
    job = csvio.start_import(things, text)
    assert (job.status, job.imported_rows) == ("done", len(labels))
    imported = [queries.get_record(things, record_id) for record_id in range(len(labels) + 1, 2 * len(labels) + 1)]
    assert [(r["label"], r["note"], r["count"], r["ratio"]) for r in imported] == [
        (label, label, -7, -0.5) for label in labels
    ]
    assert {r["blob"] for r in imported} == {"++8="}


def test_a_quote_before_other_text_in_a_foreign_file_is_kept() -> None:
    assert csvio.restore_formula("'quoted'") == "'quoted'"
    assert csvio.restore_formula("'") == "'"
    assert csvio.restore_formula("'=1+1") == "=1+1"
    assert csvio.restore_formula("''x") == "'x"
