"""Data-browser page tokens (`after`) come back from the browser: a hostile one is a clear
400, never a 500 (issue 10: a token nested 1,000 deep), and a good one still pages."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables import services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

INVALID = {"after": ["This page token is not valid; start from the first page."]}


def token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.fixture
def things(app: App, make_table: Callable[..., Table]) -> Table:
    table = make_table(app, "things", label="string", size="integer", ratio="float", seen="datetime", blob="data")
    for i in range(1, 5):
        services.insert_record(table, {"label": f"t{i}", "size": i, "ratio": i / 2, "seen": 1_600_000_000 + i})
    return table


def browse(client: Any, app: App, table: Table, query: str) -> Any:
    return client.get(f"/api/apps/{app.pk}/tables/{table.pk}/records/?{query}")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1000 + "]" * 1000,  # the shape
        '{"a":' * 1000 + "1" + "}" * 1000,
        "[" + "[" * 1000 + "]" * 1000 + ", 1]",  # a deep sort value
        "[" * 100 + "]" * 100,  # deep enough to parse, still no token
    ],
    ids=["arrays-1000", "objects-1000", "deep-sort-value", "arrays-100"],
)
@pytest.mark.parametrize("sort", ["thingID", "label"])
def test_a_deeply_nested_token_is_a_400(
    client_for: Callable, owner: Any, app: App, things: Table, text: str, sort: str
) -> None:
    response = browse(client_for(owner), app, things, f"sort={sort}&after={token(text)}")
    assert (response.status_code, response.json()) == (400, INVALID)


@pytest.mark.parametrize(
    "sort, text",
    [
        ("thingID", '[1, "2"]'),  # the record id must be a number
        ("thingID", "[1, true]"),
        ("thingID", "[1, 1e3]"),
        ("thingID", f"[1, {2**63}]"),  # beyond bigint
        ("thingID", "[1]"),
        ("thingID", "[1, 2, 3]"),
        ("thingID", '{"a": 1}'),
        ("size", '["big", 1]'),  # a value of another type than the sort field's
        ("size", "[true, 1]"),
        ("size", f"[{2**63}, 1]"),
        ("size", "[[1, 2], 1]"),
        ("size", '[{"dt": "2020-01-01T00:00:00"}, 1]'),
        ("label", "[5, 1]"),
        ("label", '["a\\u0000b", 1]'),  # PostgreSQL text cannot hold NUL
        ("label", '[{"x": 1}, 1]'),
        ("ratio", '["0.5", 1]'),
        ("seen", '[{"dt": "yesterday"}, 1]'),
        ("seen", "[1600000000, 1]"),
        ("blob", '[{"b": "not base64!"}, 1]'),
        ("blob", '["AAAA", 1]'),
    ],
)
def test_a_token_of_the_wrong_shape_or_type_is_a_400(
    client_for: Callable, owner: Any, app: App, things: Table, sort: str, text: str
) -> None:
    response = browse(client_for(owner), app, things, f"sort={sort}&after={token(text)}")
    assert (response.status_code, response.json()) == (400, INVALID)


@pytest.mark.parametrize("sort", ["thingID", "label", "size", "ratio", "seen", "blob"])
def test_tokens_the_browser_was_given_still_page_through_every_row(
    client_for: Callable, owner: Any, app: App, things: Table, sort: str
) -> None:
    client = client_for(owner)
    seen: list[int] = []
    after = ""
    while True:
        page = browse(client, app, things, f"sort={sort}&limit=3&after={after}")
        assert page.status_code == 200, page.json()
        body = page.json()
        seen += [r["thingID"] for r in body["records"]]
        if not body["next"]:
            break
        after = body["next"]
    assert sorted(seen) == [1, 2, 3, 4] and len(seen) == 4


def test_a_float_token_accepts_a_whole_number(client_for: Callable, owner: Any, app: App, things: Table) -> None:
    body = browse(client_for(owner), app, things, f"sort=ratio&after={token('[1, 2]')}").json()
    assert [r["ratio"] for r in body["records"]] == [1.5, 2.0]
    assert json.dumps(body["records"][0]["label"]) == '"t3"'
