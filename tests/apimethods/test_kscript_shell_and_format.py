"""`manage.py kscript run` and KScripts in the app definition (app_export / app_import),
with real V8 and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apimethods import services
from apimethods.models import KScriptMethod
from console.apps import services as app_services
from console.apps.models import App
from console.tables import appformat
from console.tables.models import Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

GREET = "K.log('greeting', K.params.name);\nK.setResponse({hello: K.params.name, twice: K.params.times * 2});"


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


@pytest.fixture
def greet(kapp: App, owner: Any) -> KScriptMethod:
    params = [{"name": "name", "type": "string"}, {"name": "times", "type": "integer"}]
    revision = services.create_kscript(
        kapp, owner, title="Greet user", return_type="objects", params=params, code=GREET
    )
    return revision.method


def run_command(capsys: Any, *args: str) -> tuple[str, str]:
    call_command("kscript", *args)
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_run_prints_the_result_logs_and_time(kapp: App, greet: KScriptMethod, capsys: Any) -> None:
    out, _ = run_command(capsys, "run", str(kapp.pk), "greetUser", "--params", '{"name": "Ann", "times": "3"}')
    assert "[log] greetUser:1 greeting Ann" in out
    result = out[out.index("{") : out.rindex("}") + 1]
    assert json.loads(result) == {"hello": "Ann", "twice": 6}  # "3" was coerced to the declared integer
    assert "ran in " in out and " ms" in out


def test_run_accepts_the_api_key_title_and_json_output(kapp: App, greet: KScriptMethod, capsys: Any) -> None:
    out, _ = run_command(capsys, "run", kapp.api_key, "Greet user", "--params", '{"name": "Bo", "times": 1}', "--json")
    answer = json.loads(out)
    assert answer["ok"] is True and answer["result"] == {"hello": "Bo", "twice": 2}
    assert answer["logs"][0]["args"] == ["greeting", "Bo"]


def test_run_reports_a_script_error_with_its_line_and_exits_1(
    kapp: App, greet: KScriptMethod, owner: Any, capsys: Any
) -> None:
    services.save_kscript(
        greet, owner, base_revision=1, title="Greet user", return_type="objects", params=[],
        code="var a = 1;\nthrow new Error('no greeting today');",
    )  # fmt: skip
    with pytest.raises(SystemExit) as exit_code:
        run_command(capsys, "run", str(kapp.pk), "greetUser")
    assert exit_code.value.code == 1
    err = capsys.readouterr().err
    assert "in greetUser at line 2, column" in err and "no greeting today" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "999999", "greetUser"], "No app with id or API key"),
        (["run", "{app}", "nope"], "has no KScript method 'nope'"),
        (["run", "{app}", "greetUser", "--params", "{not json"], "--params is not JSON"),
        (["run", "{app}", "greetUser", "--params", "[1, 2]"], "must be a JSON object"),
        (["run", "{app}", "greetUser", "--params", '{"times": "many"}'], "Bad parameters"),
    ],
)
def test_run_refuses_bad_input_clearly(kapp: App, greet: KScriptMethod, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("kscript", *[a.replace("{app}", str(kapp.pk)) for a in args])


def test_run_needs_kscript_enabled(kapp: App, greet: KScriptMethod) -> None:
    app_services.set_platform_flags(kapp, kscript_enabled=False)
    with pytest.raises(CommandError, match="not enabled"):
        call_command("kscript", "run", str(kapp.pk), "greetUser")


def test_list_names_the_methods(kapp: App, greet: KScriptMethod, capsys: Any) -> None:
    out, _ = run_command(capsys, "list", str(kapp.pk))
    assert out.split("\t")[:2] == ["greetUser", "Greet user"]


def test_export_then_import_into_a_new_app_carries_kscripts_and_tables(
    kapp: App, greet: KScriptMethod, owner: Any, make_table: Callable[..., Table], tmp_path: Path, capsys: Any
) -> None:
    make_table(kapp, "users", name="string")
    call_command("app_export", str(kapp.pk))
    document = json.loads(capsys.readouterr().out)
    assert document["kscripts"] == [
        {
            "title": "Greet user",
            "return_type": "objects",
            "params": [{"name": "name", "type": "string"}, {"name": "times", "type": "integer"}],
            "code": GREET,
        }
    ]
    path = tmp_path / "app.json"
    path.write_text(json.dumps(document))
    fresh = app_services.create_app(owner, "Copy")
    app_services.set_platform_flags(fresh, kscript_enabled=True)
    call_command("app_import", fresh.api_key, str(path))
    assert "created table users" in capsys.readouterr().out
    copied = appformat.export_app(fresh)
    assert copied["kscripts"] == document["kscripts"] and copied["tables"] == document["tables"]
    out, _ = run_command(capsys, "run", str(fresh.pk), "greetUser", "--params", '{"name": "Cy", "times": 2}', "--json")
    assert json.loads(out)["result"] == {"hello": "Cy", "twice": 4}


def test_import_adds_a_revision_only_for_changed_methods_and_drops_on_request(
    kapp: App, greet: KScriptMethod, owner: Any
) -> None:
    services.create_kscript(kapp, owner, title="Old one", return_type="number", params=[], code="K.setResponse(1);")
    document = appformat.export_app(kapp)
    assert appformat.import_app(kapp, document) == []  # identical: no new revisions
    document["kscripts"] = [dict(document["kscripts"][0], code="K.setResponse({changed: true});")]
    changes = appformat.import_app(kapp, document, drop_missing=True)
    assert changes == ["saved KScript greetUser as revision 2", "deleted KScript oldOne"]
    greet.refresh_from_db()
    assert greet.latest_revision == 2
    assert greet.revisions.get(number=1).code == GREET  # history kept
    assert list(KScriptMethod.objects.filter(app=kapp).values_list("name", flat=True)) == ["greetUser"]


@pytest.mark.parametrize(
    ("kscripts", "place"),
    [
        (
            [{"title": "Fine", "code": "K.setResponse(1);"}, {"title": "Broken", "code": "var s = 'open;"}],
            "kscripts[1].code",
        ),
        ([{"title": "a b"}, {"title": "A B"}], "kscripts[1].title"),
        ([{"title": "Typed", "params": [{"name": "x", "type": "weird"}]}], "kscripts[0].params"),
        ([{"title": "Extra", "owner": "me"}], "kscripts[0]"),
        ("not a list", "kscripts"),
    ],
)
def test_a_bad_kscript_in_the_document_changes_nothing(
    kapp: App, greet: KScriptMethod, make_table: Callable[..., Table], kscripts: Any, place: str
) -> None:
    before = appformat.export_app(kapp)
    document = json.loads(json.dumps(before))
    document["tables"].append({"name": "tags", "fields": [{"name": "label", "type": "string"}]})
    document["kscripts"] = kscripts
    with pytest.raises(Exception) as error:
        appformat.import_app(kapp, document)
    assert place in error.value.detail
    assert appformat.export_app(kapp) == before
    assert not Table.objects.filter(app=kapp, name="tags").exists()


def test_kscripts_cannot_be_imported_into_an_app_without_kscript(app: App) -> None:
    document = appformat.export_app(app) | {"kscripts": [{"title": "Hello", "code": ""}]}
    with pytest.raises(Exception) as error:
        appformat.import_app(app, document)
    assert "not enabled" in str(error.value.detail["kscripts"])
    assert not KScriptMethod.objects.filter(app=app).exists()
