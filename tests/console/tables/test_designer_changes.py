"""Designer changes that ask first: a type change that alters values, and what a cascade delete takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables import queries, services
from console.tables.models import Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def field_url(app: App, table: Table, name: str, query: str = "") -> str:
    field = table.fields.get(name=name)
    return f"/api/apps/{app.pk}/tables/{table.pk}/fields/{field.pk}/{query}"


def values_of(table: Table, name: str) -> list[Any]:
    return [r[name] for r in queries.browse(table, queries.BrowseRequest())["records"]]


@pytest.fixture
def prices(app: App, make_table: Callable) -> Table:
    table = make_table(app, "prices", amount="float", label="string")
    for amount, label in [(4.75, "a"), (2.0, "12"), (None, " 7"), (1.5, "x")]:
        services.insert_record(table, {"amount": amount, "label": label})
    return table


def test_float_to_integer_says_how_many_values_round_and_asks(
    client_for: Callable, owner: Any, app: App, prices: Table
) -> None:
    client = client_for(owner)
    dry = client.patch(field_url(app, prices, "amount", "?dry_run=true"), {"type": "integer"}, format="json")
    assert (dry.status_code, dry.json()) == (
        200,
        {
            "type": "integer",
            "changed": 2,
            "examples": [{"id": 1, "from": "4.75", "to": "5"}, {"id": 4, "from": "1.5", "to": "2"}],
        },
    )
    asked = client.patch(field_url(app, prices, "amount"), {"type": "integer"}, format="json")
    assert asked.status_code == 409
    assert asked.json() == {
        "detail": "2 values of amount will change as Integer (for example 4.75 becomes 5). Confirm to change the type.",
        "type": "integer",
        "changed": 2,
        "examples": [{"id": 1, "from": "4.75", "to": "5"}, {"id": 4, "from": "1.5", "to": "2"}],
    }
    # Neither the dry run nor the unconfirmed change touched anything.
    assert prices.fields.get(name="amount").type == "float"
    assert values_of(prices, "amount") == [4.75, 2.0, None, 1.5]
    done = client.patch(field_url(app, prices, "amount", "?confirm=true"), {"type": "integer"}, format="json")
    assert done.status_code == 200 and done.json()["type"] == "integer"
    assert values_of(prices, "amount") == [5, 2, None, 2]


def test_a_change_that_keeps_every_value_needs_no_confirmation(
    client_for: Callable, owner: Any, app: App, prices: Table
) -> None:
    response = client_for(owner).patch(field_url(app, prices, "amount"), {"type": "string"}, format="json")
    assert response.status_code == 200
    assert values_of(prices, "amount") == ["4.75", "2", None, "1.5"]


def test_text_to_integer_that_cannot_convert_names_the_value_not_postgresql(
    client_for: Callable, owner: Any, app: App, prices: Table
) -> None:
    client = client_for(owner)
    expected = {"type": ["Cannot change label to Integer: the value 'a' does not convert. Nothing was changed."]}
    for query in ("?dry_run=true", "?confirm=true", ""):
        response = client.patch(field_url(app, prices, "label", query), {"type": "integer"}, format="json")
        assert (response.status_code, response.json()) == (400, expected)
    assert prices.fields.get(name="label").type == "string"
    assert values_of(prices, "label") == ["a", "12", " 7", "x"]


def test_text_to_integer_counts_trimmed_values_as_changes(app: App, make_table: Callable) -> None:
    table = make_table(app, "codes", code="text")
    for code in ["12", " 7", "-3", None]:
        services.insert_record(table, {"code": code})
    effect = services.type_change_effect(table.fields.get(name="code"), "integer")
    assert effect == {"type": "integer", "changed": 1, "examples": [{"id": 2, "from": " 7", "to": "7"}]}


def test_text_longer_than_a_string_field_is_counted(app: App, make_table: Callable) -> None:
    table = make_table(app, "notes", body="text")
    for body in ["short", "y" * 256, "z" * 300]:
        services.insert_record(table, {"body": body})
    with pytest.raises(Exception) as error:
        services.type_change_effect(table.fields.get(name="body"), "string")
    assert error.value.detail == {
        "type": [
            "Cannot change body to String: 2 values are longer than 255 characters (use Text). Nothing was changed."
        ]
    }


def test_the_cascade_dialog_counts_per_child_table(
    client_for: Callable, owner: Any, member: Any, app: App, users: Table, make_table: Callable
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    likes = make_table(app, "likes", by=("belongs_to", users, "set_empty"))
    ann = services.insert_record(users, {"name": "ann"})["userID"]
    bob = services.insert_record(users, {"name": "bob"})["userID"]
    for photographer in (ann, ann, bob, ann):
        services.insert_record(photos, {"title": "p", "photographer": photographer})
    services.insert_record(likes, {"by": bob})
    url = f"/api/apps/{app.pk}/tables/{users.pk}/records/{ann}/dependents/"
    response = client_for(member).get(url)
    assert response.status_code == 200
    assert response.json() == [
        {"table": {"id": likes.pk, "name": "likes"}, "field": "by", "on_delete": "set_empty", "count": 0},
        {
            "table": {"id": photos.pk, "name": "photos"},
            "field": "photographer",
            "on_delete": "cascade",
            "count": 3,
            "cascades": [],
        },
    ]
    missing = client_for(owner).get(f"/api/apps/{app.pk}/tables/{users.pk}/records/99/dependents/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "No record 99 in users."})
    # Deleting takes exactly the counted records.
    services.delete_record(users, ann)
    assert queries.record_count(photos) == (1, True)


def test_the_cascade_dialog_follows_cascades_all_the_way_down(
    client_for: Callable, member: Any, app: App, users: Table, make_table: Callable
) -> None:
    # users <- photos (cascade) <- comments (cascade) <- flags (set empty); and people who
    # report to each other (a table that belongs to itself, cascading)
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    comments = make_table(app, "comments", body="string", photo=("belongs_to", photos, "cascade"))
    flags = make_table(app, "flags", comment=("belongs_to", comments, "set_empty"))
    staff = make_table(app, "staff", name="string", owner=("belongs_to", users, "cascade"))
    services.add_field(staff, "boss", "belongs_to", target=staff, on_delete="cascade")
    ann = services.insert_record(users, {"name": "ann"})["userID"]
    bob = services.insert_record(users, {"name": "bob"})["userID"]
    mine = [services.insert_record(photos, {"title": "p", "photographer": ann})["photoID"] for _ in range(2)]
    other = services.insert_record(photos, {"title": "q", "photographer": bob})["photoID"]
    said = [
        services.insert_record(comments, {"body": "c", "photo": photo})["commentID"]
        for photo in (*mine, mine[0], other)
    ]
    for comment in (said[0], said[0], said[3]):
        services.insert_record(flags, {"comment": comment})
    top = services.insert_record(staff, {"name": "top", "owner": ann})["staffID"]
    middle = services.insert_record(staff, {"name": "middle", "owner": bob, "boss": top})["staffID"]
    services.insert_record(staff, {"name": "low", "owner": bob, "boss": middle})

    found = client_for(member).get(f"/api/apps/{app.pk}/tables/{users.pk}/records/{ann}/dependents/").json()

    by_table = {entry["table"]["name"]: entry for entry in found}
    assert by_table["photos"]["count"] == 2
    [on_comments] = by_table["photos"]["cascades"]
    assert (on_comments["table"]["name"], on_comments["count"]) == ("comments", 3)
    [on_flags] = on_comments["cascades"]
    assert (on_flags["table"]["name"], on_flags["on_delete"], on_flags["count"]) == ("flags", "set_empty", 2)
    assert "cascades" not in on_flags
    # The chain of bosses: top (ann's) takes middle, which takes low, each counted once
    assert by_table["staff"]["count"] == 1
    [bosses] = by_table["staff"]["cascades"]
    assert (bosses["field"], bosses["count"]) == ("boss", 1)
    assert [(e["field"], e["count"]) for e in bosses["cascades"]] == [("boss", 1)]
    # Deleting takes exactly what was counted
    services.delete_record(users, ann)
    assert queries.record_count(photos) == (1, True)
    assert queries.record_count(comments) == (1, True)
    assert queries.record_count(staff) == (0, True)


def test_the_on_delete_rule_is_editable_after_creation(
    client_for: Callable, owner: Any, app: App, users: Table, make_table: Callable
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    services.rename_field(photos.fields.get(name="photographer"), "author")  # the constraint keeps its old name
    ann = services.insert_record(users, {"name": "ann"})["userID"]
    bob = services.insert_record(users, {"name": "bob"})["userID"]
    services.insert_record(photos, {"title": "a", "author": ann})
    services.insert_record(photos, {"title": "b", "author": bob})
    client = client_for(owner)
    response = client.patch(field_url(app, photos, "author"), {"on_delete": "prevent"}, format="json")
    assert (response.status_code, response.json()["on_delete"]) == (200, "prevent")
    refused = client.delete(f"/api/apps/{app.pk}/tables/{users.pk}/records/{ann}/")
    assert (refused.status_code, refused.json()) == (
        400,
        {"detail": "Records in photos still belong to this record; delete them first."},
    )
    assert queries.record_count(users) == (2, True)
    response = client.patch(field_url(app, photos, "author"), {"on_delete": "set_empty"}, format="json")
    assert response.json()["on_delete"] == "set_empty"
    assert client.delete(f"/api/apps/{app.pk}/tables/{users.pk}/records/{ann}/").status_code == 204
    assert values_of(photos, "author") == [None, bob]
    wrong = client.patch(field_url(app, photos, "title"), {"on_delete": "cascade"}, format="json")
    assert (wrong.status_code, wrong.json()) == (400, {"on_delete": ["Only a Belongs To field has an on-delete rule."]})
    bad = client.patch(field_url(app, photos, "author"), {"on_delete": "explode"}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["on_delete"]
    assert photos.fields.get(name="author").on_delete == "set_empty"


def test_a_unique_index_refuses_duplicates_in_kilns_words(
    client_for: Callable, owner: Any, app: App, users: Table
) -> None:
    from console.tables import appformat

    client = client_for(owner)
    indexes = f"/api/apps/{app.pk}/tables/{users.pk}/indexes/"
    records = f"/api/apps/{app.pk}/tables/{users.pk}/records/"
    for name in ("ann", "bob", "ann"):
        services.insert_record(users, {"name": name})
    refused = client.post(indexes, {"fields": ["name"], "unique": True}, format="json")
    assert (refused.status_code, refused.json()) == (
        400,
        {"fields": ["More than one record has the same values (name = ann); make them unique first."]},
    )
    assert users.indexes.count() == 0
    services.delete_record(users, 3)
    created = client.post(indexes, {"fields": ["name"], "unique": True}, format="json")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("fields", "unique", "automatic")} == {
        "fields": ["name"],
        "unique": True,
        "automatic": False,
    }
    duplicate = client.post(records, {"name": "bob", "age": 4}, format="json")
    assert (duplicate.status_code, duplicate.json()) == (
        400,
        {"name": ["Another record already has this value (the field is unique)."]},
    )
    assert queries.record_count(users) == (2, True)
    # A plain index on the same fields is another index.
    assert client.post(indexes, {"fields": ["name"]}, format="json").json()["unique"] is False
    assert appformat.export_app(app)["tables"][0]["indexes"] == [
        {"fields": ["name"], "unique": True},
        {"fields": ["name"]},
    ]
