"""Run tells the console which values of its result are dates (they travel as epoch
seconds), so the result table can show them as dates: DateTime fields of the returned
records and of their related records, and a minimum or maximum of a DateTime field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

MAY_1 = 1_462_060_800  # 2016-05-01 00:00:00 UTC


def run(client: Any, app: App, method_id: int, **params: Any) -> Any:
    response = client.post(f"/api/apps/{app.id}/apimethods/{method_id}/run/", {"params": params}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_records_and_their_related_records_name_their_date_fields(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    ann = table_services.insert_record(photo_tables["users"], {"name": "Ann", "born": MAY_1})["userID"]
    table_services.insert_record(photo_tables["photos"], {"title": "Sunset", "photographer": ann})
    method = make_method(
        "Photos",
        table="photos",
        actions=[
            {
                "type": "select",
                "related": [{"field": "photographer"}, {"table": "comments", "field": "photo"}],
            }
        ],
    ).method
    body = run(client_for(member), app, method.id)
    assert body["ok"] is True
    dated = {"timeCreated": "datetime", "timeUpdated": "datetime"}
    assert body["result_types"] == {
        **dated,
        "photographer": {**dated, "born": "datetime"},
        "comments": dated,
    }
    assert body["result"][0]["photographer"]["born"] == MAY_1


def test_a_latest_date_is_a_date_and_a_count_is_not(
    app: App, member: Any, client_for: Callable, photo_tables: dict[str, Table], make_method: Callable
) -> None:
    table_services.insert_record(photo_tables["users"], {"name": "Ann", "born": MAY_1})
    latest = make_method(
        "Latest birth", table="users", actions=[{"type": "aggregate", "function": "max", "field": "born"}]
    ).method
    counted = make_method("Users", table="users", actions=[{"type": "aggregate", "function": "count"}]).method
    client = client_for(member)
    body = run(client, app, latest.id)
    assert (body["result"], body["result_types"]) == (MAY_1, "datetime")
    body = run(client, app, counted.id)
    assert (body["result"], body["result_types"]) == (1, None)
