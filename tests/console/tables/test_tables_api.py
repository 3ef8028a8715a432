"""Tables, fields, indexes and records through the console API, as owner, member and outsider."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App
from console.tables import services
from console.tables.models import Table

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def url(app: App, rest: str = "") -> str:
    return f"/api/apps/{app.pk}/{rest}"


ENDPOINTS = [
    # (method, path template, body, status for a member)
    ("get", "tables/", None, 200),
    ("post", "tables/", {"name": "photos"}, 201),
    ("get", "tables/{t}/", None, 200),
    ("patch", "tables/{t}/", {"name": "people"}, 200),
    ("post", "tables/{t}/fields/", {"name": "email", "type": "string"}, 201),
    ("patch", "tables/{t}/fields/{f}/", {"name": "fullName"}, 200),
    ("delete", "tables/{t}/fields/{f}/", None, 204),
    ("post", "tables/{t}/indexes/", {"fields": ["age"]}, 201),
    ("get", "tables/{t}/records/", None, 200),
    ("post", "tables/{t}/records/", {"name": "ann"}, 201),
    ("get", "tables/{t}/records/{r}/", None, 200),
    ("patch", "tables/{t}/records/{r}/", {"age": 3}, 200),
    ("delete", "tables/{t}/records/{r}/", None, 204),
    ("get", "tables/{t}/csv/", None, 200),
    ("post", "tables/{t}/csv/preview/", {"csv": "name\nann\n"}, 200),
    ("post", "tables/{t}/csv/imports/", {"csv": "name\nann\n"}, 202),
    ("get", "definition/", None, 200),
    ("delete", "tables/{t}/", None, 204),
    ("put", "definition/", {"format": "kiln-app", "version": 1, "tables": []}, 403),
]


@pytest.mark.parametrize("method, path, body, member_status", ENDPOINTS)
@pytest.mark.parametrize("who", ["owner", "member", "outsider"])
def test_every_endpoint_admits_members_and_hides_from_outsiders(
    request: pytest.FixtureRequest,
    client_for: Callable,
    app: App,
    users: Table,
    who: str,
    method: str,
    path: str,
    body: Any,
    member_status: int,
) -> None:
    record = services.insert_record(users, {"name": "bob"})
    field = users.fields.get(name="name")
    target = url(app, path.format(t=users.pk, f=field.pk, r=record["userID"]))
    response = getattr(client_for(request.getfixturevalue(who)), method)(target, body, format="json")
    expected = {"owner": 200 if member_status == 403 else member_status, "member": member_status, "outsider": 404}[who]
    assert response.status_code == expected, response.content
    if who == "outsider":
        assert response.json() == {"detail": "No such app."}
        assert Table.objects.get(pk=users.pk).name == "users"


def test_another_apps_table_is_a_404_even_for_a_member(
    client_for: Callable, member: Any, app: App, other_app: App, make_table: Callable
) -> None:
    theirs = make_table(other_app, "secrets", value="string")
    services.insert_record(theirs, {"value": "x"})
    client = client_for(member)
    assert client.get(url(app, f"tables/{theirs.pk}/records/")).status_code == 404
    assert client.delete(url(app, f"tables/{theirs.pk}/")).status_code == 404
    assert Table.objects.filter(pk=theirs.pk).exists()


def test_creating_a_table_shows_alias_id_and_count(client_for: Callable, owner: Any, app: App) -> None:
    response = client_for(owner).post(url(app, "tables/"), {"name": "companies"}, format="json")
    body = response.json()
    assert body["alias"] == f"{app.pk}_1_companies" and body["id_field"] == "companyID"
    assert (body["count"], body["count_exact"], body["fields"], body["has_many"]) == (0, True, [], [])


@pytest.mark.parametrize(
    "body, errors",
    [
        (
            {"name": "first name"},
            {
                "name": [
                    "'first name' is not a valid table name: start with a letter and use only letters, digits and _."
                ]
            },
        ),
        ({"name": "users"}, {"name": ["This app already has a table called 'users'."]}),
        ({"name": "table"}, {"name": ["'table' is a reserved SQL word; choose another table name."]}),
        ({}, {"name": ["This field is required."]}),
    ],
)
def test_bad_table_names_get_a_message_beside_the_field(
    client_for: Callable, owner: Any, app: App, users: Table, body: Any, errors: Any
) -> None:
    response = client_for(owner).post(url(app, "tables/"), body, format="json")
    assert (response.status_code, response.json()) == (400, errors)
    assert Table.objects.filter(app=app).count() == 1


def test_bad_field_type_is_a_field_error(client_for: Callable, owner: Any, app: App, users: Table) -> None:
    response = client_for(owner).post(
        url(app, f"tables/{users.pk}/fields/"), {"name": "x", "type": "blob"}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["type"]


def test_a_rename_sent_with_a_failing_type_change_is_not_applied(
    client_for: Callable, owner: Any, app: App, users: Table
) -> None:
    services.insert_record(users, {"name": "three"})
    field = users.fields.get(name="name")
    response = client_for(owner).patch(
        url(app, f"tables/{users.pk}/fields/{field.pk}/"), {"name": "fullName", "type": "integer"}, format="json"
    )
    assert response.status_code == 400 and list(response.json()) == ["type"]
    field.refresh_from_db()
    assert (field.name, field.type) == ("name", "string")
    assert services.insert_record(users, {"name": "still here"})["name"] == "still here"


TYPES = {
    "s": ("string", "héllo"),
    "t": ("text", "long " * 100),
    "i": ("integer", -(2**62)),
    "f": ("float", 2.5),
    "b": ("boolean", True),
    "d": ("datetime", -86400 * 365),
    "x": ("data", base64.b64encode(bytes(range(256))).decode()),
}


def test_every_field_type_round_trips_through_the_api(client_for: Callable, owner: Any, app: App) -> None:
    client = client_for(owner)
    table = client.post(url(app, "tables/"), {"name": "things"}, format="json").json()
    for name, (field_type, _) in TYPES.items():
        client.post(url(app, f"tables/{table['id']}/fields/"), {"name": name, "type": field_type}, format="json")
    parent = client.post(url(app, f"tables/{table['id']}/records/"), {}, format="json").json()
    client.post(
        url(app, f"tables/{table['id']}/fields/"),
        {"name": "parent", "type": "belongs_to", "target": table["id"], "on_delete": "set_empty"},
        format="json",
    )
    sent = {name: value for name, (_, value) in TYPES.items()} | {"parent": parent["thingID"]}
    created = client.post(url(app, f"tables/{table['id']}/records/"), sent, format="json")
    assert created.status_code == 201, created.content
    record = created.json()
    assert {k: record[k] for k in sent} == sent
    assert isinstance(record["timeCreated"], int) and record["timeCreated"] == record["timeUpdated"]
    fetched = client.get(url(app, f"tables/{table['id']}/records/{record['thingID']}/")).json()
    assert fetched == record
    nulls = client.patch(
        url(app, f"tables/{table['id']}/records/{record['thingID']}/"), dict.fromkeys(sent), format="json"
    )
    assert all(nulls.json()[k] is None for k in sent)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("age", "ten", "Expected a whole number, not 'ten'."),
        ("age", True, "Expected a whole number, not true/false."),
        ("name", "x" * 256, "Keep it to 255 characters or fewer (this is 256); use a Text field for more."),
        ("name", {"a": 1}, "Expected text, not {'a': 1}."),
    ],
)
def test_a_value_of_the_wrong_type_is_a_field_error(
    client_for: Callable, owner: Any, app: App, users: Table, field: str, value: Any, message: str
) -> None:
    response = client_for(owner).post(url(app, f"tables/{users.pk}/records/"), {field: value}, format="json")
    assert (response.status_code, response.json()) == (400, {field: [message]})


@pytest.fixture
def people(users: Table) -> Table:
    for i in range(1, 8):
        services.insert_record(users, {"name": f"person{i}", "age": None if i == 4 else i % 3})
    return users


def test_browsing_pages_with_a_keyset_token(client_for: Callable, owner: Any, app: App, people: Table) -> None:
    client = client_for(owner)
    first = client.get(url(app, f"tables/{people.pk}/records/?limit=3")).json()
    assert [r["userID"] for r in first["records"]] == [1, 2, 3]
    assert (first["count"], first["count_exact"]) == (7, True)
    second = client.get(url(app, f"tables/{people.pk}/records/?limit=3&after={first['next']}")).json()
    assert [r["userID"] for r in second["records"]] == [4, 5, 6]
    by_offset = client.get(url(app, f"tables/{people.pk}/records/?limit=3&offset=6")).json()
    assert [r["userID"] for r in by_offset["records"]] == [7] and by_offset["next"] is None


@pytest.mark.parametrize("direction, expected", [("asc", [3, 6, 1, 7, 2, 5, 4]), ("desc", [4, 5, 2, 7, 1, 6, 3])])
def test_sorting_by_a_field_pages_through_every_row_once(
    client_for: Callable, owner: Any, app: App, people: Table, direction: str, expected: list[int]
) -> None:
    client = client_for(owner)
    seen: list[int] = []
    token = ""
    while True:
        page = client.get(
            url(app, f"tables/{people.pk}/records/?sort=age&direction={direction}&limit=2&after={token}")
        ).json()
        seen += [r["userID"] for r in page["records"]]
        if not page["next"]:
            break
        token = page["next"]
    # ages: 1→1, 2→2, 3→0, 4→null, 5→2, 6→0, 7→1; nulls last ascending, first descending
    assert seen == expected


@pytest.mark.parametrize(
    "query, ids",
    [
        ("filter_field=age&filter_op=eq&filter_value=2", [2, 5]),
        ("filter_field=age&filter_op=gte&filter_value=1", [1, 2, 5, 7]),
        ("filter_field=age&filter_op=is_null", [4]),
        ("filter_field=name&filter_op=contains&filter_value=N6", [6]),
        ("filter_field=name&filter_op=starts&filter_value=person_", []),
        ("filter_field=userID&filter_op=in&filter_value=6,2,99,2", [2, 6]),
        ("filter_field=userID&filter_op=in&filter_value=%205", [5]),
        ("filter_field=age&filter_op=in&filter_value=0,2", [2, 3, 5, 6]),
        ("filter_field=name&filter_op=in&filter_value=person1,%22person3%22,Person5", [1, 3]),
    ],
)
def test_filtering_by_a_field(
    client_for: Callable, owner: Any, app: App, people: Table, query: str, ids: list[int]
) -> None:
    page = client_for(owner).get(url(app, f"tables/{people.pk}/records/?{query}")).json()
    assert [r["userID"] for r in page["records"]] == ids
    assert (page["count"], page["count_exact"]) == (len(ids), True)


@pytest.mark.parametrize(
    "query, errors",
    [
        ("sort=nope", {"sort": ["users has no field called 'nope'."]}),
        ("filter_field=age&filter_op=eq&filter_value=old", {"filter_value": ["Expected a whole number, not 'old'."]}),
        (
            "filter_field=age&filter_op=like&filter_value=1",
            {"filter_op": ["Choose an operator: eq, ne, lt, lte, gt, gte, contains, starts, is_null, not_null, in."]},
        ),
        ("limit=0", {"limit": ["Ask for 1 to 500 records a page."]}),
        (
            "filter_field=userID&filter_op=in&filter_value=" + ",".join(str(i) for i in range(501)),
            {"filter_value": ["Give at most 500 values to match (this is 501)."]},
        ),
        (
            "filter_field=userID&filter_op=in&filter_value=1,two",
            {"filter_value": ["Expected a whole number, not 'two'."]},
        ),
        (
            "filter_field=userID&filter_op=in&filter_value=1,,3",
            {"filter_value": ["Leave no value in the list empty (use is_null for empty)."]},
        ),
        (
            "filter_field=userID&filter_op=in&filter_value=",
            {"filter_value": ["Give at least one value, separated by commas."]},
        ),
        ("filter_field=userID&filter_op=in", {"filter_value": ["Give a value to filter by."]}),
        ("after=garbage", {"after": ["This page token is not valid; start from the first page."]}),
    ],
)
def test_bad_browse_parameters_are_field_errors(
    client_for: Callable, owner: Any, app: App, people: Table, query: str, errors: Any
) -> None:
    response = client_for(owner).get(url(app, f"tables/{people.pk}/records/?{query}"))
    assert (response.status_code, response.json()) == (400, errors)


def test_deleting_a_parent_table_asks_first(
    client_for: Callable, owner: Any, app: App, users: Table, make_table: Callable
) -> None:
    make_table(app, "photos", photographer=("belongs_to", users, "cascade"))
    client = client_for(owner)
    asked = client.delete(url(app, f"tables/{users.pk}/"))
    assert asked.status_code == 409
    assert asked.json()["belongs_to"] == [{"table": "photos", "field": "photographer"}]
    assert client.get(url(app, f"tables/{users.pk}/")).json()["has_many"] == [
        {"table": {"id": users.pk + 1, "name": "photos"}, "field": "photographer", "on_delete": "cascade"}
    ]
    assert client.delete(url(app, f"tables/{users.pk}/?confirm=true")).status_code == 204


def test_parents_of_a_whole_page_come_in_one_request_with_in(
    client_for: Callable, owner: Any, app: App, users: Table, make_table: Callable
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "set_empty"))
    people = [services.insert_record(users, {"name": n})["userID"] for n in ("ann", "bob", "cy")]
    for i in range(5):
        services.insert_record(photos, {"title": f"p{i}", "photographer": people[i % 2]})
    client = client_for(owner)
    page = client.get(url(app, f"tables/{photos.pk}/records/")).json()["records"]
    ids = sorted({r["photographer"] for r in page})
    parents = client.get(
        url(app, f"tables/{users.pk}/records/?filter_field=userID&filter_op=in&filter_value={','.join(map(str, ids))}")
    ).json()
    assert {r["userID"]: r["name"] for r in parents["records"]} == {people[0]: "ann", people[1]: "bob"}
    assert (parents["count"], parents["count_exact"]) == (2, True)
    # The same works on the Belongs To field itself (its automatic index serves it).
    children = client.get(
        url(app, f"tables/{photos.pk}/records/?filter_field=photographer&filter_op=in&filter_value={people[1]}")
    ).json()
    assert [r["title"] for r in children["records"]] == ["p1", "p3"]


def test_in_is_refused_on_data_fields(client_for: Callable, owner: Any, app: App, make_table: Callable) -> None:
    files = make_table(app, "files", blob="data")
    response = client_for(owner).get(
        url(app, f"tables/{files.pk}/records/?filter_field=blob&filter_op=in&filter_value=AA==")
    )
    assert (response.status_code, response.json()) == (400, {"filter_op": ["in does not work on Data fields."]})


def test_belongs_to_fields_show_their_automatic_index_which_cannot_be_deleted(
    client_for: Callable, owner: Any, app: App, users: Table, make_table: Callable
) -> None:
    photos = make_table(app, "photos", title="string", photographer=("belongs_to", users, "cascade"))
    client = client_for(owner)
    made = client.post(url(app, f"tables/{photos.pk}/indexes/"), {"fields": ["title"]}, format="json").json()
    assert made["automatic"] is False
    services.rename_field(photos.fields.get(name="photographer"), "author")
    indexes = client.get(url(app, f"tables/{photos.pk}/")).json()["indexes"]
    assert indexes == [
        {"id": made["id"], "name": made["name"], "fields": ["title"], "unique": False, "automatic": False},
        {"id": None, "name": "photos_photographer_idx", "fields": ["author"], "unique": False, "automatic": True},
    ]
    listed = {t["name"]: t["indexes"] for t in client.get(url(app, "tables/")).json()}
    assert listed == {"photos": indexes, "users": []}
    # It goes with its field.
    services.drop_field(photos.fields.get(name="author"))
    assert [i["automatic"] for i in client.get(url(app, f"tables/{photos.pk}/")).json()["indexes"]] == [False]
