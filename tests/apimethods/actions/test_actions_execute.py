"""API methods run against real PostgreSQL: the reference's examples (biographies,
photos with comments, favourite meals, getWeeklyRides, a user created with a photograph,
paging), one transaction per call, and what empty parameters do."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import DatabaseError

from apimethods.actions import model
from apimethods.actions.compiler import compile_method
from apimethods.actions.execute import load_schema, run_plan
from apimethods.wire import RecordList, WireError, coerce_params
from console.apps.models import App
from console.tables import isolation
from console.tables import services as table_services
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)


def call(app: App, definition: dict[str, Any], **params: Any) -> Any:
    """Compile against the app's tables and run, with wire-style parameter values."""
    definition = {"params": [], **definition}
    plan = compile_method(model.parse(definition), load_schema(app.pk))
    return run_plan(app.pk, plan, coerce_params(params, plan.params))


def query(app: App, text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with isolation.app_cursor(app.pk) as cur:
        cur.execute(text, params or [])
        return [tuple(row) for row in cur.fetchall()]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def insert(table: Table, **values: Any) -> int:
    return int(table_services.insert_record(table, values)[table.id_field])


@pytest.fixture
def photos(app: App, photo_tables: dict[str, Table]) -> dict[str, Any]:
    """Two users; three photos; comments on two of them."""
    users, photos, comments = photo_tables["users"], photo_tables["photos"], photo_tables["comments"]
    ann = insert(users, name="Ann", city="Leeds")
    bob = insert(users, name="Bob", city="York")
    sunset = insert(photos, title="Sunset", photographer=ann, rating=4.5, public=True, image="AAEC")
    harbour = insert(photos, title="Harbour", photographer=ann, rating=3.0, public=False)
    moor = insert(photos, title="Moor", photographer=bob)
    first = insert(comments, body="Lovely", photo=sunset, author=bob)
    second = insert(comments, body="Where is this?", photo=sunset, author=ann)
    third = insert(comments, body="Cold", photo=moor, author=ann)
    return {
        "ann": ann,
        "bob": bob,
        "sunset": sunset,
        "harbour": harbour,
        "moor": moor,
        "comments": [first, second, third],
    }


# ── the reference's examples ────────────────────────────────────────────────────


def test_create_a_user_with_a_photograph(app: App, photo_tables: dict[str, Table]) -> None:
    definition = {
        "table": "users",
        "params": [{"field": "name"}, {"name": "title", "type": "string"}, {"name": "image", "type": "data"}],
        "actions": [
            {
                "type": "create",
                "values": [{"field": "name", "value": {"param": "name"}}],
                "actions": [
                    {
                        "type": "create",
                        "table": "photos",
                        "values": [
                            {"field": "title", "value": {"param": "title"}},
                            {"field": "image", "value": {"param": "image"}},
                            {"field": "photographer", "value": {"row": "userID"}},
                        ],
                    }
                ],
            }
        ],
    }
    user_id = call(app, definition, name="Cy", title="Me", image=base64.b64encode(b"\x89PNG").decode())
    assert isinstance(user_id, int)
    assert query(app, 'SELECT "userID", name FROM users') == [(user_id, "Cy")]
    assert query(app, "SELECT title, image, photographer FROM photos") == [("Me", b"\x89PNG", user_id)]


def test_a_failure_in_a_nested_action_leaves_nothing_written(app: App, photo_tables: dict[str, Table]) -> None:
    definition = {
        "table": "users",
        "params": [{"field": "name"}, {"name": "photo", "type": "integer"}],
        "actions": [
            {
                "type": "create",
                "values": [{"field": "name", "value": {"param": "name"}}],
                "actions": [
                    {
                        "type": "create",
                        "table": "comments",
                        "values": [
                            {"field": "author", "value": {"row": "userID"}},
                            {"field": "photo", "value": {"param": "photo"}},
                        ],
                    }
                ],
            }
        ],
    }
    with pytest.raises(DatabaseError):
        call(app, definition, name="Cy", photo="999")  # no such photo: a foreign key refuses
    assert query(app, "SELECT count(*) FROM users") == [(0,)]
    assert query(app, "SELECT count(*) FROM comments") == [(0,)]


def test_users_from_a_city_through_their_biography(app: App, make_table: Callable[..., Table]) -> None:
    """One-to-one: each biography belongs to a user, the city is the biography's."""
    users = make_table(app, "users", name="string")
    biographies = make_table(app, "biographies", city="string", person=("belongs_to", users, "cascade"))
    ann, bob, cy = (insert(users, name=n) for n in ("Ann", "Bob", "Cy"))
    insert(biographies, city="Leeds", person=ann)
    insert(biographies, city="York", person=bob)
    insert(biographies, city="Leeds", person=cy)
    definition = {
        "table": "users",
        "params": [{"name": "city", "type": "string"}],
        "actions": [
            {
                "type": "select",
                "filters": [{"field": "city", "via": ["biographies.person"], "op": "=", "value": {"param": "city"}}],
            }
        ],
    }
    found = call(app, definition, city="Leeds")
    assert isinstance(found, RecordList)
    assert [(r["userID"], r["name"]) for r in found] == [(ann, "Ann"), (cy, "Cy")]
    assert call(app, definition, city="Hull") == []


def test_photos_with_their_photographer_and_comments(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "actions": [
            {
                "type": "select",
                "sort": [{"field": "title"}],
                "related": [{"field": "photographer"}, {"table": "comments", "field": "photo"}],
            }
        ],
    }
    found = call(app, definition)
    assert [r["title"] for r in found] == ["Harbour", "Moor", "Sunset"]
    sunset = found[2]
    assert set(sunset) == {
        "photoID",
        "timeCreated",
        "timeUpdated",
        "title",
        "description",
        "image",
        "rating",
        "public",
        "photographer",
        "comments",
    }
    assert (sunset["image"], sunset["rating"], sunset["public"]) == (b"\x00\x01\x02", 4.5, True)
    assert isinstance(sunset["timeCreated"], datetime) and sunset["timeCreated"].tzinfo is not None
    photographer = sunset["photographer"]
    assert {k: photographer[k] for k in ("userID", "name", "city", "born")} == {
        "userID": photos["ann"],
        "name": "Ann",
        "city": "Leeds",
        "born": None,
    }
    assert isinstance(photographer["timeCreated"], datetime)
    assert [(c["commentID"], c["body"], c["author"], c["photo"]) for c in sunset["comments"]] == [
        (photos["comments"][0], "Lovely", photos["bob"], photos["sunset"]),
        (photos["comments"][1], "Where is this?", photos["ann"], photos["sunset"]),
    ]
    assert isinstance(sunset["comments"][0]["timeUpdated"], datetime)
    assert found[0]["comments"] == []  # Harbour: no comments


def test_without_related_data_ids_stay_ids(app: App, photos: dict[str, Any]) -> None:
    found = call(app, {"table": "photos", "actions": [{"type": "select", "sort": [{"field": "title"}]}]})
    assert [(r["title"], r["photographer"]) for r in found] == [
        ("Harbour", photos["ann"]),
        ("Moor", photos["bob"]),
        ("Sunset", photos["ann"]),
    ]
    assert "comments" not in found[0]


def test_comments_of_a_photo(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "comments",
        "params": [{"field": "photo"}],
        "actions": [{"type": "select", "filters": [{"field": "photo", "op": "=", "value": {"param": "photo"}}]}],
    }
    assert [r["body"] for r in call(app, definition, photo=str(photos["sunset"]))] == ["Lovely", "Where is this?"]


def test_people_who_like_a_meal_whose_title_contains(app: App, meal_tables: dict[str, Table]) -> None:
    """Many-to-many through favoriteMeals; each person once, however many meals match."""
    people, meals, favorites = meal_tables["people"], meal_tables["meals"], meal_tables["favoriteMeals"]
    ann, bob, cy = (insert(people, name=n) for n in ("Ann", "Bob", "Cy"))
    carbonara = insert(meals, title="Spaghetti Carbonara", chef="Gennaro")
    bolognese = insert(meals, title="Spaghetti Bolognese", chef="Jamie")
    curry = insert(meals, title="Green curry", chef="Jamie")
    for person, meal in ((ann, carbonara), (ann, bolognese), (bob, curry), (cy, bolognese)):
        insert(favorites, connoisseur=person, meal=meal, likes="taste")
    via = ["favoriteMeals.connoisseur", "meal"]
    definition = {
        "table": "people",
        "params": [{"name": "meal", "type": "string"}, {"name": "chef", "type": "string"}],
        "actions": [
            {
                "type": "select",
                "filters": [{"field": "title", "via": via, "op": "contains", "value": {"param": "meal"}}],
            }
        ],
    }
    assert [r["name"] for r in call(app, definition, meal="spaghetti")] == ["Ann", "Cy"]
    assert [r["name"] for r in call(app, definition, meal="CURRY")] == ["Bob"]
    both = {
        **definition,
        "actions": [
            {
                "type": "select",
                "filters": [
                    {"field": "title", "via": via, "op": "contains", "value": {"param": "meal"}},
                    {"field": "chef", "via": via, "op": "=", "value": {"param": "chef"}},
                ],
            }
        ],
    }
    # One meal must match both: Jamie's Spaghetti Bolognese (Ann, Cy); Bob's Jamie meal is a curry.
    assert [r["name"] for r in call(app, both, meal="spaghetti", chef="Jamie")] == ["Ann", "Cy"]
    assert [r["name"] for r in call(app, both, meal="curry", chef="Gennaro")] == []


def test_get_weekly_rides_filters_time_created_by_seconds(app: App, make_table: Callable[..., Table]) -> None:
    rides = make_table(app, "rides", distance="float")
    ids = [insert(rides, distance=d) for d in (10.5, 20.0, 30.25)]
    week_start = 1_462_060_800  # 2016-05-01 00:00:00 UTC
    for ride, created in zip(ids, (week_start - 3600, week_start, week_start + 86_400), strict=True):
        query(app, 'UPDATE rides SET "timeCreated" = %s WHERE "rideID" = %s RETURNING 1', [at(created), ride])
    definition = {
        "table": "rides",
        "params": [{"field": "timeCreated"}],
        "actions": [
            {"type": "select", "filters": [{"field": "timeCreated", "op": ">=", "value": {"param": "timeCreated"}}]}
        ],
    }
    found = call(app, definition, timeCreated=str(week_start))
    assert [(r["rideID"], r["distance"], r["timeCreated"]) for r in found] == [
        (ids[1], 20.0, at(week_start)),
        (ids[2], 30.25, at(week_start + 86_400)),
    ]
    total = {
        "table": "rides",
        "params": [{"name": "since", "type": "integer"}],
        "actions": [
            {
                "type": "aggregate",
                "function": "sum",
                "field": "distance",
                "filters": [{"field": "timeCreated", "op": ">=", "value": {"param": "since"}}],
            }
        ],
    }
    assert call(app, total, since=week_start) == 50.25


def test_paging_with_limit_and_offset_params(app: App, make_table: Callable[..., Table]) -> None:
    items = make_table(app, "items", n="integer")
    ids = [insert(items, n=n) for n in range(5)]
    definition = {
        "table": "items",
        "params": [{"name": "limit", "type": "integer"}, {"name": "offset", "type": "integer"}],
        "actions": [{"type": "select", "limit": {"param": "limit"}, "offset": {"param": "offset"}}],
    }
    assert [r["itemID"] for r in call(app, definition, limit="2", offset="0")] == ids[:2]
    assert [r["itemID"] for r in call(app, definition, limit="2", offset="2")] == ids[2:4]
    assert [r["itemID"] for r in call(app, definition, limit="2", offset="4")] == ids[4:]
    assert [r["itemID"] for r in call(app, definition)] == ids  # no limit, no offset
    with pytest.raises(WireError) as error:
        call(app, definition, limit="-1")
    assert (error.value.code, error.value.message) == (32, "Parameter 'limit' must not be negative")



def test_a_limit_from_a_parameter_is_planned_once_not_on_every_call(app: App, make_table: Callable[..., Table]) -> None:
    # A prepared `LIMIT $n` made PostgreSQL price its generic plan for a tenth of the
    # table, so on a table of some size it planned the select again on every call. The
    # limit runs as a number in the text: one prepared statement per limit, planned once.
    items = make_table(app, "items", n="integer")
    table_services.add_index(items, ["n"])
    with isolation.leased(app.pk) as conn:
        conn.conn.execute(f'INSERT INTO "{items.schema}"."items" (n) SELECT i FROM generate_series(1, 5000) i')
        conn.conn.execute(f'ANALYZE "{items.schema}"."items"')
    definition = {
        "table": "items",
        "params": [{"name": "below", "type": "integer"}, {"name": "limit", "type": "integer"}],
        "actions": [
            {
                "type": "select",
                "filters": [{"field": "n", "op": "<", "value": {"param": "below"}}],
                "sort": [{"field": "n", "direction": "desc"}],
                "limit": {"param": "limit"},
            }
        ],
    }
    for _ in range(12):
        assert [r["n"] for r in call(app, definition, below="10", limit="2")] == [9, 8]
    assert [r["n"] for r in call(app, definition, below="10", limit="3")] == [9, 8, 7]
    assert len(call(app, definition, below="10")) == 9  # no limit: all of them
    trace: list[dict[str, Any]] = []
    plan = compile_method(model.parse({"params": [], **definition}), load_schema(app.pk))
    run_plan(app.pk, plan, coerce_params({"below": "10", "limit": "2"}, plan.params), trace=trace)
    assert trace[0]["sql"].endswith('ORDER BY "t"."n" DESC, "t"."itemID" LIMIT 2')
    with isolation.leased(app.pk) as conn:
        plans = conn.conn.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%ORDER BY \"t\".\"n\" DESC%%'"
        ).fetchall()
    by_limit = {statement.rpartition("LIMIT ")[2]: (generic, custom) for statement, generic, custom in plans}
    assert set(by_limit) == {"2", "3", "ALL"}, plans
    generic, custom = by_limit["2"]
    assert generic >= 6 and custom <= 5, plans


# ── update, delete, aggregate ───────────────────────────────────────────────────


def test_update_counts_only_records_whose_values_change(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "params": [{"field": "photographer"}, {"field": "public"}],
        "actions": [
            {
                "type": "update",
                "values": [{"field": "public", "value": {"param": "public"}}],
                "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
            }
        ],
    }
    assert call(app, definition, photographer=photos["ann"], public="1") == 1  # Sunset was public already
    assert call(app, definition, photographer=photos["ann"], public="1") == 0
    assert query(app, "SELECT title, public FROM photos ORDER BY title") == [
        ("Harbour", True),
        ("Moor", None),
        ("Sunset", True),
    ]


def test_delete_counts_and_can_take_related_data(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "params": [{"field": "photographer"}],
        "actions": [
            {
                "type": "delete",
                "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
                "related": [{"table": "comments", "field": "photo"}],
            }
        ],
    }
    assert call(app, definition, photographer=photos["ann"]) == 2
    assert query(app, "SELECT title FROM photos") == [("Moor",)]
    assert query(app, "SELECT body FROM comments") == [("Cold",)]


def test_deleting_related_data_gets_past_a_prevent_relation(app: App, make_table: Callable[..., Table]) -> None:
    albums = make_table(app, "albums", title="string")
    tracks = make_table(app, "tracks", title="string", album=("belongs_to", albums, "prevent"))
    album = insert(albums, title="Blue")
    insert(tracks, title="One", album=album)
    plain = {
        "table": "albums",
        "params": [{"field": "title"}],
        "actions": [{"type": "delete", "filters": [{"field": "title", "op": "=", "value": {"param": "title"}}]}],
    }
    with pytest.raises(DatabaseError):
        call(app, plain, title="Blue")
    assert query(app, "SELECT count(*) FROM albums") == [(1,)]
    with_tracks = {**plain, "actions": [{**plain["actions"][0], "related": [{"table": "tracks", "field": "album"}]}]}
    assert call(app, with_tracks, title="Blue") == 1
    assert query(app, "SELECT (SELECT count(*) FROM albums), (SELECT count(*) FROM tracks)") == [(0, 0)]


def test_delete_related_chooses_records_before_their_children_go(app: App, photos: dict[str, Any]) -> None:
    """A filter across the children still sees them: they go in the same statement."""
    definition = {
        "table": "photos",
        "params": [{"name": "word", "type": "string"}],
        "actions": [
            {
                "type": "delete",
                "filters": [{"field": "body", "via": ["comments.photo"], "op": "contains", "value": {"param": "word"}}],
                "related": [{"table": "comments", "field": "photo"}],
            }
        ],
    }
    assert call(app, definition, word="lovely") == 1
    assert query(app, "SELECT title FROM photos ORDER BY title") == [("Harbour",), ("Moor",)]


@pytest.mark.parametrize(
    "function, field, on_rows, on_nothing",
    [
        ("count", None, 3, 0),
        ("count_distinct", "photographer", 2, 0),
        ("sum", "rating", 7.5, None),
        ("avg", "rating", 3.75, None),
        ("min", "rating", 3.0, None),
        ("max", "rating", 4.5, None),
    ],
)
def test_aggregates_and_the_empty_set(
    app: App, photos: dict[str, Any], function: str, field: str | None, on_rows: Any, on_nothing: Any
) -> None:
    action: dict[str, Any] = {
        "type": "aggregate",
        "function": function,
        "filters": [{"field": "photoID", "op": ">=", "value": {"param": "since"}}],
    }
    if field:
        action["field"] = field
    definition = {"table": "photos", "params": [{"name": "since", "type": "integer"}], "actions": [action]}
    assert call(app, definition, since="0") == on_rows
    assert call(app, definition, since=str(photos["moor"] + 1)) == on_nothing
    assert call(app, definition, since="") == on_nothing  # an empty value matches nothing


def test_the_latest_time_created_is_a_number_of_seconds(app: App, make_table: Callable[..., Table]) -> None:
    rides = make_table(app, "rides", distance="float")
    ride = insert(rides, distance=1.0)
    query(app, 'UPDATE rides SET "timeCreated" = %s WHERE "rideID" = %s RETURNING 1', [at(1_462_060_800), ride])
    definition = {"table": "rides", "actions": [{"type": "aggregate", "function": "max", "field": "timeCreated"}]}
    assert call(app, definition) == 1_462_060_800


# ── filters and empty parameters ────────────────────────────────────────────────


def test_an_empty_parameter_never_turns_an_update_or_delete_into_every_record(app: App, photos: dict[str, Any]) -> None:
    """The reference's users expected "no filter value" not to match everything: a filter
    comparing with a missing or empty value matches no record."""
    update = {
        "table": "photos",
        "params": [{"field": "photographer"}, {"field": "title"}],
        "actions": [
            {
                "type": "update",
                "values": [{"field": "title", "value": {"param": "title"}}],
                "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
            }
        ],
    }
    delete = {
        "table": "photos",
        "params": [{"field": "photographer"}],
        "actions": [
            {"type": "delete", "filters": [{"field": "photographer", "op": "!=", "value": {"param": "photographer"}}]}
        ],
    }
    before = query(app, 'SELECT "photoID", title, photographer FROM photos ORDER BY 1')
    assert call(app, update, photographer="", title="Gone") == 0
    assert call(app, update, title="Gone") == 0  # not sent at all
    assert call(app, delete, photographer="") == 0
    assert call(app, delete, photographer="<null>") == 0
    assert query(app, 'SELECT "photoID", title, photographer FROM photos ORDER BY 1') == before


def test_an_empty_parameter_in_an_or_chain_only_drops_its_own_filter(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "params": [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}],
        "actions": [
            {
                "type": "select",
                "filters": [
                    {"field": "title", "op": "=", "value": {"param": "a"}},
                    {"join": "or", "field": "title", "op": "=", "value": {"param": "b"}},
                ],
            }
        ],
    }
    assert [r["title"] for r in call(app, definition, a="Moor", b="")] == ["Moor"]
    assert call(app, definition, a="", b="") == []


def test_contains_matches_percent_and_underscore_literally(app: App, make_table: Callable[..., Table]) -> None:
    notes = make_table(app, "notes", text="string")
    for text in ("100% sure", "100 percent", "a_b", "axb", None, ""):
        insert(notes, text=text)
    definition = {
        "table": "notes",
        "params": [{"name": "q", "type": "string"}],
        "actions": [{"type": "select", "filters": [{"field": "text", "op": "contains", "value": {"param": "q"}}]}],
    }
    assert [r["text"] for r in call(app, definition, q="0%")] == ["100% sure"]
    assert [r["text"] for r in call(app, definition, q="_")] == ["a_b"]
    empty = {
        "table": "notes",
        "actions": [{"type": "aggregate", "function": "count", "filters": [{"field": "text", "op": "is_empty"}]}],
    }
    assert call(app, empty) == 2


def test_a_value_that_does_not_fit_its_field_names_the_parameter(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "params": [{"name": "n", "type": "string"}],
        "actions": [{"type": "select", "filters": [{"field": "photoID", "op": "=", "value": {"param": "n"}}]}],
    }
    with pytest.raises(WireError) as error:
        call(app, definition, n="seven")
    assert (error.value.code, error.value.message) == (32, "Parameter 'n' must be a whole number")
    assert [r["title"] for r in call(app, definition, n=str(photos["moor"]))] == ["Moor"]
    long_title = {
        "table": "photos",
        "params": [{"field": "title"}],
        "actions": [{"type": "create", "values": [{"field": "title", "value": {"param": "title"}}]}],
    }
    with pytest.raises(WireError) as error:
        call(app, long_title, title="x" * 256)
    assert error.value.message == "Parameter 'title' is longer than 255 characters"
    assert query(app, "SELECT count(*) FROM photos") == [(3,)]


# ── nested actions in a select ──────────────────────────────────────────────────


def test_nested_actions_run_for_every_selected_row(app: App, photos: dict[str, Any]) -> None:
    """Set-based: a comment on each of Ann's photos, then each photo retitled from its row."""
    definition = {
        "table": "photos",
        "params": [{"field": "photographer"}, {"name": "note", "type": "text"}],
        "actions": [
            {
                "id": "mine",
                "type": "select",
                "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
                "actions": [
                    {
                        "type": "create",
                        "table": "comments",
                        "values": [
                            {"field": "body", "value": {"row": "title"}},
                            {"field": "photo", "value": {"row": "photoID"}},
                            {"field": "author", "value": {"row": "photographer"}},
                        ],
                    },
                    {
                        "type": "update",
                        "values": [{"field": "description", "value": {"param": "note"}}],
                        "filters": [{"field": "photoID", "op": "=", "value": {"row": "photoID"}}],
                    },
                ],
            }
        ],
    }
    found = call(app, definition, photographer=photos["ann"], note="seen")
    # The records as selected, before the nested actions ran.
    assert [(r["title"], r["description"]) for r in found] == [("Sunset", None), ("Harbour", None)]
    assert query(
        app, 'SELECT body, photo, author FROM comments WHERE "commentID" > %s ORDER BY 1', [photos["comments"][2]]
    ) == [
        ("Harbour", photos["harbour"], photos["ann"]),
        ("Sunset", photos["sunset"], photos["ann"]),
    ]
    assert query(app, "SELECT title, description FROM photos ORDER BY title") == [
        ("Harbour", "seen"),
        ("Moor", None),
        ("Sunset", "seen"),
    ]


def test_nested_actions_that_need_each_row_run_per_row(app: App, photos: dict[str, Any]) -> None:
    """A select per user, holding a create per photo: per row, in one transaction."""
    definition = {
        "table": "users",
        "actions": [
            {
                "id": "u",
                "type": "select",
                "actions": [
                    {
                        "id": "ph",
                        "type": "select",
                        "table": "photos",
                        "filters": [{"field": "photographer", "op": "=", "value": {"row": "userID"}}],
                        "actions": [
                            {
                                "type": "create",
                                "table": "comments",
                                "values": [
                                    {"field": "body", "value": {"row": "name", "action": "u"}},
                                    {"field": "photo", "value": {"row": "photoID"}},
                                    {"field": "author", "value": {"row": "userID", "action": "u"}},
                                ],
                            }
                        ],
                    }
                ],
            },
            {"type": "aggregate", "function": "count", "table": "comments"},
        ],
    }
    assert call(app, definition) == 6
    assert query(
        app, 'SELECT body, photo FROM comments WHERE "commentID" > %s ORDER BY photo', [photos["comments"][2]]
    ) == [
        ("Ann", photos["sunset"]),
        ("Ann", photos["harbour"]),
        ("Bob", photos["moor"]),
    ]


def test_a_create_returns_a_nested_select_of_the_new_record(app: App, photo_tables: dict[str, Table]) -> None:
    definition = {
        "table": "users",
        "params": [{"field": "name"}],
        "actions": [
            {
                "id": "new",
                "type": "create",
                "values": [{"field": "name", "value": {"param": "name"}}],
                "actions": [
                    {
                        "id": "back",
                        "type": "select",
                        "filters": [{"field": "userID", "op": "=", "value": {"row": "userID"}}],
                    }
                ],
            }
        ],
        "returned": "back",
    }
    found = call(app, definition, name="Dee")
    assert [(r["name"], type(r["userID"])) for r in found] == [("Dee", int)]


def test_one_call_is_one_transaction(app: App, photos: dict[str, Any]) -> None:
    definition = {
        "table": "photos",
        "params": [{"field": "title"}, {"name": "photographer", "type": "integer"}],
        "actions": [
            {"type": "create", "values": [{"field": "title", "value": {"param": "title"}}]},
            {
                "type": "create",
                "values": [
                    {"field": "title", "value": {"param": "title"}},
                    {"field": "photographer", "value": {"param": "photographer"}},
                ],
            },
        ],
    }
    with pytest.raises(DatabaseError):
        call(app, definition, title="Twice", photographer="12345")
    assert query(app, "SELECT count(*) FROM photos WHERE title = 'Twice'") == [(0,)]
    assert call(app, definition, title="Twice", photographer=str(photos["bob"])) > photos["moor"]
    assert query(app, "SELECT count(*) FROM photos WHERE title = 'Twice'") == [(2,)]
