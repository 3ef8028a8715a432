"""Schema changes and record writes through console.tables.services, on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.exceptions import ValidationError

from console.apps.models import App
from console.tables import services
from console.tables.isolation import app_cursor
from console.tables.models import Field, Table
from console.tables.services import ConfirmationRequired

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def rows(table: Table, order: str | None = None) -> list[tuple[Any, ...]]:
    with app_cursor(table.app_id) as cur:
        cur.execute(f'SELECT * FROM "{table.name}" ORDER BY "{order or table.id_field}"')
        return cur.fetchall()


def columns(table: Table) -> list[tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [table.schema, table.name],
        )
        return cur.fetchall()


def test_a_new_table_has_its_id_and_magic_fields_and_an_alias(app: App) -> None:
    table = services.create_table(app, "companies")
    assert table.alias == f"{app.pk}_1_companies"
    assert columns(table) == [
        ("companyID", "bigint"),
        ("timeCreated", "timestamp with time zone"),
        ("timeUpdated", "timestamp with time zone"),
    ]


def test_table_numbers_are_never_reused(app: App) -> None:
    first = services.create_table(app, "firsts")
    services.drop_table(first)
    assert services.create_table(app, "seconds").number == 2


def test_raw_inserts_get_time_created_and_updates_move_time_updated(app: App, users: Table) -> None:
    with app_cursor(app.pk) as cur:
        cur.execute('INSERT INTO users (name) VALUES (\'ann\') RETURNING "timeCreated", "timeUpdated"')
        created, updated = cur.fetchone()
        assert created is not None and created == updated
        cur.execute(
            "UPDATE users SET \"timeCreated\" = now() - interval '1 day', \"timeUpdated\" = now() - interval '1 day'"
        )
        cur.execute('SELECT "timeCreated" < "timeUpdated" FROM users')
        # The trigger sets timeUpdated to the transaction's time, whatever the UPDATE said.
        assert cur.fetchone()[0] is True


@pytest.mark.parametrize(
    "name, message",
    [
        ("2users", "is not a valid table name"),
        ("select", "reserved SQL word"),
        ("Users", "already has a table called"),
    ],
)
def test_bad_table_names_are_field_errors(app: App, users: Table, name: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_table(app, name)
    assert message in error.value.detail["name"][0]
    assert list(Table.objects.filter(app=app).values_list("name", flat=True)) == ["users"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("Name", "already has a field called 'Name'"),
        ("userid", "already has a field called"),
        ("TIMECREATED", "already has a field called"),
        ("Photo", "lowerCamelCase"),
        ("from", "reserved SQL word"),
        ("bad-name", "is not a valid field name"),
    ],
)
def test_bad_field_names_are_field_errors(users: Table, name: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        services.add_field(users, name, "string")
    assert message in error.value.detail["name"][0]
    assert [c for c, _ in columns(users)] == ["userID", "timeCreated", "timeUpdated", "name", "age"]


def test_renaming_a_table_keeps_its_rows_and_renames_its_id(users: Table) -> None:
    services.insert_record(users, {"name": "ann", "age": 30})
    services.rename_table(users, "members")
    assert [c for c, _ in columns(users)][:1] == ["memberID"]
    assert [(r[0], r[3], r[4]) for r in rows(users)] == [(1, "ann", 30)]
    assert users.alias.endswith("_1_members")


def test_renaming_a_field_keeps_its_values(users: Table, field_of: Callable) -> None:
    services.insert_record(users, {"name": "ann"})
    services.rename_field(field_of(users, "name"), "fullName")
    assert services.insert_record(users, {"fullName": "bob"})["fullName"] == "bob"
    assert [r[3] for r in rows(users)] == ["ann", "bob"]


def test_a_type_change_converts_values(users: Table, field_of: Callable) -> None:
    services.add_field(users, "score", "string")
    services.insert_record(users, {"score": "42"})
    services.change_field_type(field_of(users, "score"), "integer")
    assert rows(users)[0][5] == 42
    assert dict(columns(users))["score"] == "bigint"


def test_a_failing_type_change_names_the_value_and_changes_nothing(users: Table, field_of: Callable) -> None:
    services.add_field(users, "score", "string")
    for score in ["1", "2", "three", "4"]:
        services.insert_record(users, {"score": score})
    before_rows, before_columns = rows(users), columns(users)
    with pytest.raises(ValidationError) as error:
        services.change_field_type(field_of(users, "score"), "integer")
    assert error.value.detail == {
        "type": ["Cannot change score to Integer: the value 'three' does not convert. Nothing was changed."]
    }
    assert rows(users) == before_rows and columns(users) == before_columns
    assert field_of(users, "score").type == "string"


def test_a_too_long_value_stops_a_change_to_string(users: Table, field_of: Callable) -> None:
    services.add_field(users, "bio", "text")
    services.insert_record(users, {"bio": "x" * 300})
    with pytest.raises(ValidationError):
        services.change_field_type(field_of(users, "bio"), "string")
    assert len(rows(users)[0][5]) == 300 and field_of(users, "bio").type == "text"


@pytest.fixture
def photos(app: App, users: Table, make_table: Callable[..., Table]) -> Callable[[str], Table]:
    def build(on_delete: str) -> Table:
        return make_table(app, "photos", title="string", photographer=("belongs_to", users, on_delete))

    return build


def test_deleting_a_parent_deletes_its_children_by_default(users: Table, photos: Callable) -> None:
    table = photos("cascade")
    ann = services.insert_record(users, {"name": "ann"})
    bob = services.insert_record(users, {"name": "bob"})
    services.insert_record(table, {"title": "a", "photographer": ann["userID"]})
    services.insert_record(table, {"title": "b", "photographer": bob["userID"]})
    services.delete_record(users, ann["userID"])
    assert [r[3] for r in rows(table)] == ["b"]


def test_set_empty_keeps_children_with_an_empty_link(users: Table, photos: Callable) -> None:
    table = photos("set_empty")
    ann = services.insert_record(users, {"name": "ann"})
    services.insert_record(table, {"title": "a", "photographer": ann["userID"]})
    services.delete_record(users, ann["userID"])
    assert [(r[3], r[4]) for r in rows(table)] == [("a", None)]


def test_prevent_refuses_to_delete_a_parent_with_children(users: Table, photos: Callable) -> None:
    table = photos("prevent")
    ann = services.insert_record(users, {"name": "ann"})
    services.insert_record(table, {"title": "a", "photographer": ann["userID"]})
    with pytest.raises(ValidationError) as error:
        services.delete_record(users, ann["userID"])
    assert error.value.detail == {"detail": "Records in photos still belong to this record; delete them first."}
    assert len(rows(users)) == 1 and len(rows(table)) == 1


def test_a_link_to_a_missing_parent_is_a_field_error(users: Table, photos: Callable) -> None:
    table = photos("cascade")
    with pytest.raises(ValidationError) as error:
        services.insert_record(table, {"title": "a", "photographer": 99})
    assert error.value.detail == {"photographer": ["There is no record 99 in users."]}
    assert rows(table) == []


def test_relations_are_indexed(users: Table, photos: Callable) -> None:
    table = photos("cascade")
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 'photos'", [table.schema])
        assert any(d.endswith("(photographer)") for (d,) in cur.fetchall())


def test_dropping_a_parent_table_names_its_children_and_waits_for_confirmation(
    users: Table, photos: Callable, field_of: Callable
) -> None:
    table = photos("cascade")
    ann = services.insert_record(users, {"name": "ann"})
    services.insert_record(table, {"title": "a", "photographer": ann["userID"]})
    with pytest.raises(ConfirmationRequired) as error:
        services.drop_table(users)
    assert "photos.photographer" in error.value.detail["detail"]
    assert Table.objects.filter(pk=users.pk).exists()
    services.drop_table(users, confirm=True)
    assert not Table.objects.filter(pk=users.pk).exists()
    link = field_of(table, "photographer")
    assert (link.type, link.target, link.on_delete) == ("integer", None, "")
    assert [(r[3], r[4]) for r in rows(table)] == [("a", ann["userID"])]


def test_composite_indexes_are_created_and_dropped(users: Table) -> None:
    index = services.add_index(users, ["name", "age"])
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index.name])
        assert cur.fetchone()[0].endswith("USING btree (name, age)")
    services.drop_index(index)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname = %s", [index.name])
        assert cur.fetchone()[0] == 0


def test_an_index_on_an_unknown_field_is_refused(users: Table) -> None:
    with pytest.raises(ValidationError) as error:
        services.add_index(users, ["nope"])
    assert error.value.detail == {"fields": ["users has no field called 'nope'."]}


def test_dropping_a_field_drops_its_indexes(users: Table, field_of: Callable) -> None:
    services.add_index(users, ["age"])
    services.drop_field(field_of(users, "age"))
    assert users.indexes.count() == 0 and not Field.objects.filter(table=users, name="age").exists()


def test_wrong_value_types_are_field_errors_and_nothing_is_written(users: Table) -> None:
    with pytest.raises(ValidationError) as error:
        services.insert_record(users, {"name": "ann", "age": "old", "ghost": 1})
    assert error.value.detail == {
        "age": ["Expected a whole number, not 'old'."],
        "ghost": ["users has no field called 'ghost'."],
    }
    assert rows(users) == []
