"""The rename dialogs' warnings: which KScript methods use a table's aliases (deployed,
saved, the user's draft), and which deployed name a method's title change retires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apimethods import services as method_services
from apimethods.models import KScriptMethod
from console.apps.models import App
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db


@pytest.fixture
def players(kapp: App, make_table: Callable[..., Table]) -> Table:
    return make_table(kapp, "players", nick="string")


def save(method: KScriptMethod, owner: Any, *, title: str | None = None, code: str | None = None) -> None:
    latest = method.revisions.get(number=method.latest_revision)
    method_services.save_kscript(
        method,
        owner,
        base_revision=method.latest_revision,
        title=title or latest.title,
        return_type=latest.return_type,
        params=latest.params,
        code=latest.code if code is None else code,
    )


def test_usage_lists_deployed_saved_and_draft_uses_of_any_alias(
    kapp: App,
    owner: Any,
    member: Any,
    players: Table,
    make_table: Callable[..., Table],
    make_kscript: Any,
    client_for: Any,
) -> None:
    teams = make_table(kapp, "teams", name="string")
    first_alias = players.alias
    board = make_kscript(kapp, "Board", f"K.setResponse(K.select('{first_alias}').run());")
    make_kscript(kapp, "Teams", f"K.setResponse(K.select('{teams.alias}').run());")
    # A longer alias that merely starts with this one is another table's, not a use.
    make_kscript(kapp, "Lookalike", f"K.setResponse(K.select('{first_alias}_old').run());")
    method_services.deploy_app(kapp, owner)
    table_services.rename_table(players, "gamers")
    players = Table.objects.get(pk=players.pk)
    # The deployed method is renamed and its saved code moved to the new alias (upper case).
    save(board, owner, title="Leader board", code=f"K.setResponse(K.query('SELECT * FROM {players.alias.upper()}'));")
    later = make_kscript(kapp, "Later", "K.setResponse(1);")
    method_services.save_draft(later, owner, code=f"K.select('{first_alias}').run();", base_revision=1)

    answer = client_for(owner).get(f"/api/apps/{kapp.pk}/tables/{players.pk}/usage/")
    assert answer.status_code == 200
    assert answer.json() == {
        "aliases": [f"{kapp.pk}_{players.number}_gamers", first_alias],
        "methods": [
            {"id": board.pk, "name": "board", "title": "Leader board", "where": ["deployed"]},
            {"id": later.pk, "name": "later", "title": "Later", "where": ["draft"]},
            {"id": board.pk, "name": "leaderBoard", "title": "Leader board", "where": ["saved"]},
        ],
    }
    # Drafts are their author's: another developer sees the saved and deployed uses only.
    theirs = client_for(member).get(f"/api/apps/{kapp.pk}/tables/{players.pk}/usage/").json()
    assert [m["name"] for m in theirs["methods"]] == ["board", "leaderBoard"]


def test_usage_is_hidden_from_outsiders(kapp: App, outsider: Any, players: Table, client_for: Any) -> None:
    assert client_for(outsider).get(f"/api/apps/{kapp.pk}/tables/{players.pk}/usage/").status_code == 404
    assert client_for(None).get(f"/api/apps/{kapp.pk}/tables/{players.pk}/usage/").status_code in (401, 403)


def test_names_give_the_deployed_name_a_title_change_retires(
    kapp: App, owner: Any, make_kscript: Any, client_for: Any
) -> None:
    method = make_kscript(kapp, "List players")
    url = f"/api/apps/{kapp.pk}/kscripts/{method.pk}/names/"
    assert client_for(owner).get(url).json() == {"name": "listPlayers", "deployed": []}
    method_services.deploy_app(kapp, owner)
    assert client_for(owner).get(url).json() == {"name": "listPlayers", "deployed": ["listPlayers"]}
    save(method, owner, title="Top players")
    assert client_for(owner).get(url).json() == {"name": "topPlayers", "deployed": ["listPlayers"]}
    # Another method now has the old name: it will keep serving it, so it is not this one's.
    other = make_kscript(kapp, "List players")
    assert client_for(owner).get(url).json() == {"name": "topPlayers", "deployed": []}
    other_url = f"/api/apps/{kapp.pk}/kscripts/{other.pk}/names/"
    assert client_for(owner).get(other_url).json() == {"name": "listPlayers", "deployed": ["listPlayers"]}
    method_services.deploy_app(kapp, owner)
    assert client_for(owner).get(url).json() == {"name": "topPlayers", "deployed": ["topPlayers"]}
