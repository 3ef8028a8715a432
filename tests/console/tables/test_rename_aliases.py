"""A table's alias names it by its numbers: every name the table ever had still reaches it
from KScript (K.select/K.insert/… and K.query alike), so deployed code survives a rename
(real V8, PostgreSQL and Kiln's WSGI app)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table
from console.tables.scripting import load_tables

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def players(app: App, make_table: Callable[..., Table]) -> Table:
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = make_table(app, "players", nick="string", score="integer")
    table_services.insert_record(table, {"nick": "ann", "score": 7})
    return table


def call(app: App, server: str, method: str) -> dict[str, Any]:
    response = requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.json",
        auth=(app.api_key, app.secret_key),
        data={"installId": "install-1"},
        timeout=30,
    )
    assert response.status_code == 200
    return response.json()


def test_deployed_code_keeps_working_after_renames(app: App, owner: Any, players: Table, wsgi_server: str) -> None:
    alias = players.alias
    assert alias == f"{app.pk}_{players.number}_players"
    code = (
        f"K.insert('{alias}', {{nick: 'bob', score: 3}});"
        f"var rows = K.select('{alias}').sort('score', 'ASC').run();"
        f"var total = K.query('SELECT SUM(score) AS total FROM {alias}');"
        "K.setResponse({rows: rows.map(function (r) { return r.nick + ':' + r.score; }), total: total[0].total});"
    )
    method_services.create_kscript(app, owner, title="Board", return_type="objects", params=[], code=code)
    method_services.deploy_app(app, owner)
    assert call(app, wsgi_server, "board")["payload"] == {"rows": ["bob:3", "ann:7"], "total": 10}

    table_services.rename_table(players, "gamers")
    first = call(app, wsgi_server, "board")
    assert first["responseCode"] == 1
    assert first["payload"] == {"rows": ["bob:3", "bob:3", "ann:7"], "total": 13}

    # A second rename: the first name, the second and the current one all still work.
    table_services.rename_table(Table.objects.get(pk=players.pk), "athletes")
    second = call(app, wsgi_server, "board")
    assert second["responseCode"] == 1
    assert second["payload"] == {"rows": ["bob:3", "bob:3", "bob:3", "ann:7"], "total": 16}
    assert Table.objects.get(pk=players.pk).former_names == ["players", "gamers"]


def test_every_alias_maps_to_the_same_table_and_only_those(app: App, players: Table) -> None:
    table_services.rename_table(players, "gamers")
    table_services.rename_table(Table.objects.get(pk=players.pk), "players")  # back to the first name
    table = Table.objects.get(pk=players.pk)
    assert table.former_names == ["players", "gamers"]
    assert table.aliases == [f"{app.pk}_{table.number}_players", f"{app.pk}_{table.number}_gamers"]
    tables = load_tables(app.pk)
    assert set(tables) == {a.lower() for a in table.aliases}
    assert tables[table.aliases[0].lower()] is tables[table.aliases[1].lower()]
    assert tables[table.aliases[1].lower()].name == "players"


def test_a_name_the_table_never_had_is_still_refused(app: App, owner: Any, players: Table, wsgi_server: str) -> None:
    table_services.rename_table(players, "gamers")
    other = f"{app.pk}_{players.number}_strangers"
    code = f"K.setResponse(K.select('{other}').run());"
    method_services.create_kscript(app, owner, title="Strangers", return_type="objects", params=[], code=code)
    method_services.deploy_app(app, owner)
    # K.select gives the script a failure value, as for any alias of no table.
    assert call(app, wsgi_server, "strangers")["payload"] == {"error": f"No table with the alias {other!r} in this app."}
    assert other.lower() not in load_tables(app.pk)
