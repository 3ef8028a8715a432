"""The impact of a field's type change: only the API methods that would no longer fit the
tables are named, each with why; a bad request says what it needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_type_change_names_only_the_methods_it_breaks_and_why(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    search = make_method(
        "Search",
        table="photos",
        params=[{"field": "title"}],
        actions=[{"type": "select", "filters": [{"field": "title", "op": "contains", "value": {"param": "title"}}]}],
    ).method
    make_method(
        "Exact",
        table="photos",
        params=[{"field": "title"}],
        actions=[{"type": "select", "filters": [{"field": "title", "op": "=", "value": {"param": "title"}}]}],
    )
    best = make_method(
        "Best", table="photos", actions=[{"type": "aggregate", "function": "max", "field": "rating"}]
    ).method
    client = client_for(member)
    url = f"/api/apps/{app.id}/apimethods/impact/"
    # `contains` needs text; `=` works on integers too.
    assert client.get(url, {"table": "photos", "field": "title", "type": "integer"}).json() == [
        {
            "id": search.id,
            "name": "search",
            "places": ["actions[0].filters[0].op"],
            "problems": {"actions[0].filters[0].op": ["'contains' compares text; photos.title is integer."]},
        }
    ]
    assert client.get(url, {"table": "photos", "field": "title", "type": "text"}).json() == []
    [broken] = client.get(url, {"table": "photos", "field": "rating", "type": "boolean"}).json()
    assert (broken["id"], broken["places"]) == (best.id, ["actions[0].field"])
    assert "max needs a number or date field" in broken["problems"]["actions[0].field"][0]
    assert client.get(url, {"table": "photos", "field": "rating", "type": "integer"}).json() == []
    # A rename or drop of the same field still names every method using it.
    assert [m["name"] for m in client.get(url, {"table": "photos", "field": "title"}).json()] == ["exact", "search"]


def test_a_type_change_needs_a_field_and_a_known_type(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table]
) -> None:
    client = client_for(member)
    url = f"/api/apps/{app.id}/apimethods/impact/"
    for query in ({"table": "photos", "type": "integer"}, {"table": "photos", "field": "title", "type": "number"}):
        response = client.get(url, query)
        assert response.status_code == 400
        assert response.json()["type"][0].startswith("Name the field and one of its types: string, text")
