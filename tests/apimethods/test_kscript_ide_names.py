"""The IDE's names of this app: the Insert picker's JSON and the typings' unions of real
table aliases, fields per table and method names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apimethods.actions import services as api_method_services
from apimethods.ide import render_app_dts
from console.apps import services as app_services
from console.apps.models import App
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


def test_symbols_list_aliases_fields_and_methods(
    kapp: App, owner: Any, client_for: Callable, make_table: Callable[..., Table]
) -> None:
    rides = make_table(kapp, "rides", distance="float", note="text")
    users = make_table(kapp, "users", name="string")
    client = client_for(owner)
    client.post(f"/api/apps/{kapp.id}/kscripts/", {"title": "Count rides", "code": ""}, format="json")
    api_method_services.create_api_method(
        kapp, owner, title="All users", definition={"table": "users", "params": [], "actions": [{"type": "select"}]}
    )
    answer = client.get(f"/api/apps/{kapp.id}/kscripts/symbols/")
    assert answer.status_code == 200
    assert answer.json() == {
        "tables": [
            {
                "name": "rides",
                "alias": rides.alias,
                "fields": [
                    {"name": "rideID", "type": "integer"},
                    {"name": "distance", "type": "float"},
                    {"name": "note", "type": "text"},
                    {"name": "timeCreated", "type": "datetime"},
                    {"name": "timeUpdated", "type": "datetime"},
                ],
            },
            {
                "name": "users",
                "alias": users.alias,
                "fields": [
                    {"name": "userID", "type": "integer"},
                    {"name": "name", "type": "string"},
                    {"name": "timeCreated", "type": "datetime"},
                    {"name": "timeUpdated", "type": "datetime"},
                ],
            },
        ],
        "methods": [{"name": "allUsers", "kind": "apimethod"}, {"name": "countRides", "kind": "kscript"}],
    }


def test_typings_offer_the_apps_real_names(
    kapp: App, owner: Any, client_for: Callable, make_table: Callable[..., Table]
) -> None:
    rides = make_table(kapp, "rides", distance="float")
    client = client_for(owner)
    method = client.post(f"/api/apps/{kapp.id}/kscripts/", {"title": "Count rides", "code": ""}, format="json").json()
    dts = client.get(f"/api/apps/{kapp.id}/kscripts/typings.d.ts", {"method": method["id"]}).content.decode()
    assert f'type KTableAlias = "{rides.alias}";' in dts
    assert f'  "{rides.alias}": "rideID" | "distance" | "timeCreated" | "timeUpdated";' in dts
    assert 'type KMethodName = "countRides";' in dts
    assert "  select<T extends KTableAlias>(tableAlias: T): KSelectOn<KTableFields[T]>;" in dts
    assert "declare function include(name: KScriptName): void;" in dts
    # The K API's own declarations are still there, string overloads included.
    assert "  select(tableAlias: string): KSelectAction;" in dts


def test_names_of_an_app_without_tables_or_methods_add_no_overloads() -> None:
    dts = render_app_dts({"tables": [], "methods": []})
    assert "type KTableAlias = never;" in dts
    assert "type KMethodName = never;" in dts
    assert "interface KApi {\n}" in dts
    assert "include" not in dts


def test_names_are_quoted_as_typescript_strings() -> None:
    dts = render_app_dts(
        {
            "tables": [{"name": "odd", "alias": '1_2_o"dd', "fields": [{"name": "a\\b", "type": "string"}]}],
            "methods": [{"name": "x", "kind": "apimethod"}],
        }
    )
    assert 'type KTableAlias = "1_2_o\\"dd";' in dts
    assert '  "1_2_o\\"dd": "a\\\\b";' in dts
    assert "callAPIMethod(title: KMethodName" in dts
    assert "include" not in dts


def test_outsiders_get_no_names(kapp: App, outsider: Any, client_for: Callable) -> None:
    assert client_for(outsider).get(f"/api/apps/{kapp.id}/kscripts/symbols/").status_code == 404
