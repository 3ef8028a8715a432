"""Snapshots of the SQL the API method compiler writes: every action, operator, relation
direction, nesting case and aggregate. Pure: no database."""

from __future__ import annotations

from typing import Any

import pytest

from apimethods.actions import model
from apimethods.actions.compiler import Arg, Plan, compile_method

T = model.table_meta
SCHEMA = model.SchemaMeta(
    "app_7",
    {
        "users": T(
            "users",
            "userID",
            [("name", "string", None), ("city", "string", None), ("born", "datetime", None), ("age", "integer", None)],
        ),
        "biographies": T("biographies", "biographyID", [("user", "belongs_to", "users"), ("city", "string", None)]),
        "photos": T(
            "photos",
            "photoID",
            [
                ("title", "string", None),
                ("image", "data", None),
                ("rating", "float", None),
                ("public", "boolean", None),
                ("photographer", "belongs_to", "users"),
            ],
        ),
        "comments": T(
            "comments",
            "commentID",
            [("body", "text", None), ("photo", "belongs_to", "photos"), ("author", "belongs_to", "users")],
        ),
        "people": T("people", "peopleID", [("name", "string", None)]),
        "meals": T("meals", "mealID", [("title", "string", None), ("chef", "string", None)]),
        "favoriteMeals": T(
            "favoriteMeals",
            "favoriteMealID",
            [("connoisseur", "belongs_to", "people"), ("meal", "belongs_to", "meals")],
        ),
        "messages": T(
            "messages",
            "messageID",
            [("body", "text", None), ("sender", "belongs_to", "users"), ("recipient", "belongs_to", "users")],
        ),
    },
)

USERS_COLUMNS = '"t"."userID", "t"."timeCreated", "t"."timeUpdated", "t"."name", "t"."city", "t"."born", "t"."age"'
PHOTOS_COLUMNS = (
    '"t"."photoID", "t"."timeCreated", "t"."timeUpdated", "t"."title", "t"."image", "t"."rating", '
    '"t"."public", "t"."photographer"'
)


def _arg(a: Arg) -> str:
    where = f"{a.source}:{a.name}" + (f"@{a.action}" if a.action else "")
    return where + (f"->{a.to}" if a.to else "") + (f"/{a.shape}" if a.shape else "")


def flat(plan: Plan) -> list[tuple[str, str, str, list[str]]]:
    """Every statement as (where it runs, kind, SQL, args): "u per_row ph once c" is action c,
    run once after ph, which runs per row of u."""
    out: list[tuple[str, str, str, list[str]]] = []

    def visit(steps: Any, prefix: str) -> None:
        for step in steps:
            here = f"{prefix}{step.action}"
            out.append((here, step.kind, step.sql, [_arg(a) for a in step.args]))
            for label in ("once", "per_row", "set_based"):
                visit(getattr(step, label), f"{here} {label} ")

    visit(plan.steps, "")
    return out


def compiled(definition: dict[str, Any]) -> Plan:
    return compile_method(model.parse(definition), SCHEMA)


def single(definition: dict[str, Any]) -> tuple[str, str, list[str]]:
    statements = flat(compiled(definition))
    assert len(statements) == 1
    return statements[0][1:]


# ── create ──────────────────────────────────────────────────────────────────────


def test_create_takes_fields_from_params_and_returns_the_new_id() -> None:
    plan = compiled(
        {
            "table": "photos",
            "params": [{"field": "title"}, {"field": "image"}, {"field": "photographer"}],
            "actions": [
                {
                    "type": "create",
                    "values": [
                        {"field": "title", "value": {"param": "title"}},
                        {"field": "image", "value": {"param": "image"}},
                        {"field": "photographer", "value": {"param": "photographer"}},
                    ],
                }
            ],
        }
    )
    assert flat(plan) == [
        (
            "a1",
            "insert",
            'INSERT INTO "app_7"."photos" ("title", "image", "photographer") VALUES (%s::text, %s::bytea, %s::int8)'
            ' RETURNING "photoID"',
            ["param:title->string", "param:image->data", "param:photographer->integer"],
        )
    ]
    assert plan.params == (("title", "string"), ("image", "data"), ("photographer", "integer"))
    assert (plan.returned, plan.atomic) == ("a1", False)


def test_a_create_with_a_nested_create_uses_the_new_records_fields() -> None:
    """The reference's "create a user with a photograph"."""
    plan = compiled(
        {
            "table": "users",
            "params": [{"field": "name"}, {"name": "title", "type": "string"}, {"name": "image", "type": "data"}],
            "actions": [
                {
                    "id": "user",
                    "type": "create",
                    "values": [{"field": "name", "value": {"param": "name"}}],
                    "actions": [
                        {
                            "id": "photo",
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
    )
    assert flat(plan) == [
        (
            "user",
            "insert",
            'INSERT INTO "app_7"."users" ("name") VALUES (%s::text) RETURNING "userID", "timeCreated", "timeUpdated",'
            ' "name", "city", "born", "age"',
            ["param:name->string"],
        ),
        (
            "user once photo",
            "insert",
            'INSERT INTO "app_7"."photos" ("title", "image", "photographer") VALUES (%s::text, %s::bytea, %s::int8)'
            ' RETURNING "photoID"',
            ["param:title->string", "param:image->data", "row:userID@user->integer"],
        ),
    ]
    assert (plan.returned, plan.atomic) == ("user", True)


def test_a_create_without_values_inserts_defaults() -> None:
    assert single({"table": "users", "actions": [{"type": "create"}]}) == (
        "insert",
        'INSERT INTO "app_7"."users" DEFAULT VALUES RETURNING "userID"',
        [],
    )


def test_a_nested_select_can_return_the_record_just_created() -> None:
    plan = compiled(
        {
            "table": "users",
            "params": [{"field": "name"}],
            "actions": [
                {
                    "id": "u",
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
    )
    assert flat(plan)[1] == (
        "u once back",
        "select",
        f'SELECT {USERS_COLUMNS} FROM "app_7"."users" AS "t" WHERE "t"."userID" = %s::int8 ORDER BY "t"."userID"',
        ["row:userID@u->integer"],
    )
    assert plan.returned == "back"


# ── select ──────────────────────────────────────────────────────────────────────


def test_select_with_filter_sort_limit_and_offset_from_params() -> None:
    assert single(
        {
            "table": "photos",
            "params": [
                {"field": "photographer"},
                {"name": "limit", "type": "integer"},
                {"name": "offset", "type": "integer"},
            ],
            "actions": [
                {
                    "type": "select",
                    "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
                    "sort": [{"field": "rating", "direction": "desc"}, {"field": "title"}],
                    "limit": {"param": "limit"},
                    "offset": {"param": "offset"},
                }
            ],
        }
    ) == (
        "select",
        f'SELECT {PHOTOS_COLUMNS} FROM "app_7"."photos" AS "t" WHERE "t"."photographer" = %s::int8'
        ' ORDER BY "t"."rating" DESC, "t"."title", "t"."photoID" LIMIT %s::int8 OFFSET %s::int8',
        ["param:photographer->integer", "param:limit->integer/count", "param:offset->integer/count"],
    )


def test_sorting_by_the_id_needs_no_tie_breaker() -> None:
    kind, text, _ = single(
        {"table": "users", "actions": [{"type": "select", "sort": [{"field": "userID", "direction": "desc"}]}]}
    )
    assert text.endswith(' ORDER BY "t"."userID" DESC')


def test_related_data_parent_in_place_of_its_id_and_children_as_an_array() -> None:
    plan = compiled(
        {
            "table": "photos",
            "actions": [
                {"type": "select", "related": [{"field": "photographer"}, {"table": "comments", "field": "photo"}]}
            ],
        }
    )
    assert flat(plan) == [
        (
            "a1",
            "select",
            f"SELECT {PHOTOS_COLUMNS},"
            ' (SELECT row_to_json("j1") FROM "app_7"."users" AS "j1" WHERE "j1"."userID" = "t"."photographer")'
            ' AS "kiln_related_0",'
            ' (SELECT COALESCE(json_agg("j2" ORDER BY "j2"."commentID"), \'[]\') FROM "app_7"."comments" AS "j2"'
            ' WHERE "j2"."photo" = "t"."photoID") AS "kiln_related_1"'
            ' FROM "app_7"."photos" AS "t" ORDER BY "t"."photoID"',
            [],
        )
    ]
    step = plan.steps[0]
    assert [(r.key, r.parent, r.datetimes, r.data) for r in step.related] == [
        ("photographer", True, ("timeCreated", "timeUpdated", "born"), ()),
        ("comments", False, ("timeCreated", "timeUpdated"), ()),
    ]


def test_children_of_a_table_related_twice_are_keyed_by_table_and_field() -> None:
    plan = compiled(
        {
            "table": "users",
            "actions": [
                {
                    "type": "select",
                    "related": [
                        {"table": "messages", "field": "sender"},
                        {"table": "messages", "field": "recipient"},
                        {"table": "photos", "field": "photographer"},
                    ],
                }
            ],
        }
    )
    assert [r.key for r in plan.steps[0].related] == ["messagesBySender", "messagesByRecipient", "photos"]
    assert '"j2"."recipient" = "t"."userID") AS "kiln_related_1"' in plan.steps[0].sql


# ── update, delete, aggregate ───────────────────────────────────────────────────


def test_update_counts_the_records_whose_values_change() -> None:
    assert single(
        {
            "table": "photos",
            "params": [{"field": "photoID"}, {"field": "title"}, {"field": "rating"}],
            "actions": [
                {
                    "type": "update",
                    "values": [
                        {"field": "title", "value": {"param": "title"}},
                        {"field": "rating", "value": {"param": "rating"}},
                    ],
                    "filters": [{"field": "photoID", "op": "=", "value": {"param": "photoID"}}],
                }
            ],
        }
    ) == (
        "count",
        'UPDATE "app_7"."photos" AS "t" SET "title" = %s::text, "rating" = %s::float8'
        ' WHERE ("t"."photoID" = %s::int8)'
        ' AND ("t"."title" IS DISTINCT FROM %s::text OR "t"."rating" IS DISTINCT FROM %s::float8)',
        [
            "param:title->string",
            "param:rating->float",
            "param:photoID->integer",
            "param:title->string",
            "param:rating->float",
        ],
    )


def test_update_of_every_record_must_say_so() -> None:
    definition: dict[str, Any] = {
        "table": "photos",
        "params": [{"field": "public"}],
        "actions": [{"type": "update", "values": [{"field": "public", "value": {"param": "public"}}]}],
    }
    with pytest.raises(model.DefinitionError) as error:
        compiled(definition)
    assert error.value.errors == {
        "actions[0].filters": ["Without a filter this changes every record; set 'all' to mean it."]
    }
    definition["actions"][0]["all"] = True
    assert single(definition) == (
        "count",
        'UPDATE "app_7"."photos" AS "t" SET "public" = %s::bool WHERE ("t"."public" IS DISTINCT FROM %s::bool)',
        ["param:public->boolean", "param:public->boolean"],
    )


def test_delete_counts_the_deleted_records() -> None:
    assert single(
        {
            "table": "photos",
            "params": [{"field": "photographer"}],
            "actions": [
                {
                    "type": "delete",
                    "filters": [{"field": "photographer", "op": "=", "value": {"param": "photographer"}}],
                }
            ],
        }
    ) == (
        "count",
        'DELETE FROM "app_7"."photos" AS "t" WHERE "t"."photographer" = %s::int8',
        ["param:photographer->integer"],
    )


def test_delete_with_related_data_takes_the_children_in_the_same_statement() -> None:
    assert single(
        {
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
    ) == (
        "count",
        'WITH kiln_ids AS (SELECT "t"."photoID" FROM "app_7"."photos" AS "t" WHERE "t"."photographer" = %s::int8),'
        ' "kiln_related_0" AS (DELETE FROM "app_7"."comments" AS "c" USING kiln_ids'
        ' WHERE "c"."photo" = "kiln_ids"."photoID")'
        ' DELETE FROM "app_7"."photos" AS "t" USING kiln_ids WHERE "t"."photoID" = "kiln_ids"."photoID"',
        ["param:photographer->integer"],
    )


@pytest.mark.parametrize(
    "function, field, expression",
    [
        ("count", None, "count(*)"),
        ("count_distinct", "photographer", 'count(DISTINCT "t"."photographer")'),
        ("sum", "rating", 'sum("t"."rating")'),
        ("avg", "rating", 'avg("t"."rating")'),
        ("min", "rating", 'min("t"."rating")'),
        ("max", "rating", 'max("t"."rating")'),
        ("max", "timeCreated", 'extract(epoch FROM max("t"."timeCreated"))'),
        ("min", "timeUpdated", 'extract(epoch FROM min("t"."timeUpdated"))'),
    ],
)
def test_aggregates(function: str, field: str | None, expression: str) -> None:
    action: dict[str, Any] = {"type": "aggregate", "function": function}
    if field:
        action["field"] = field
    assert single({"table": "photos", "actions": [action]}) == (
        "aggregate",
        f'SELECT {expression} FROM "app_7"."photos" AS "t"',
        [],
    )


@pytest.mark.parametrize(
    "function, field, message",
    [
        ("sum", "title", "sum needs a number field; title is string."),
        ("avg", "public", "avg needs a number field; public is boolean."),
        ("max", "image", "max needs a number or date field; image is data."),
        ("sum", None, "Choose the field to sum."),
    ],
)
def test_aggregates_refuse_fields_they_cannot_summarise(function: str, field: str | None, message: str) -> None:
    action: dict[str, Any] = {"type": "aggregate", "function": function} | ({"field": field} if field else {})
    with pytest.raises(model.DefinitionError) as error:
        compiled({"table": "photos", "actions": [action]})
    assert error.value.errors == {"actions[0].field": [message]}


# ── filters ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "field, op, condition, args",
    [
        ("name", "=", '"t"."name" = %s::text', ["param:v->string"]),
        ("name", "!=", '"t"."name" <> %s::text', ["param:v->string"]),
        ("age", "<", '"t"."age" < %s::int8', ["param:v->integer"]),
        ("age", "<=", '"t"."age" <= %s::int8', ["param:v->integer"]),
        ("born", ">", '"t"."born" > %s::timestamptz', ["param:v->datetime"]),
        ("timeCreated", ">=", '"t"."timeCreated" >= %s::timestamptz', ["param:v->datetime"]),
        ("name", "contains", '"t"."name" ILIKE %s::text', ["param:v->string/contains"]),
        ("name", "starts_with", '"t"."name" ILIKE %s::text', ["param:v->string/starts_with"]),
        ("city", "ends_with", '"t"."city" ILIKE %s::text', ["param:v->string/ends_with"]),
        ("name", "is_empty", '("t"."name" IS NULL OR "t"."name" = \'\')', []),
        ("name", "is_not_empty", '("t"."name" IS NOT NULL AND "t"."name" <> \'\')', []),
        ("age", "is_empty", '"t"."age" IS NULL', []),
        ("born", "is_not_empty", '"t"."born" IS NOT NULL', []),
    ],
)
def test_every_operator(field: str, op: str, condition: str, args: list[str]) -> None:
    value = {} if op.startswith("is_") else {"value": {"param": "v"}}
    kind, text, found = single(
        {
            "table": "users",
            "params": [{"name": "v", "type": "string"}],
            "actions": [{"type": "aggregate", "function": "count", "filters": [{"field": field, "op": op, **value}]}],
        }
    )
    assert (text, found) == (f'SELECT count(*) FROM "app_7"."users" AS "t" WHERE {condition}', args)


def test_and_binds_tighter_than_or() -> None:
    kind, text, args = single(
        {
            "table": "users",
            "params": [{"field": "name"}, {"field": "city"}, {"field": "age"}],
            "actions": [
                {
                    "type": "select",
                    "filters": [
                        {"field": "name", "op": "=", "value": {"param": "name"}},
                        {"field": "city", "op": "=", "value": {"param": "city"}},
                        {"join": "or", "field": "age", "op": ">", "value": {"param": "age"}},
                        {"join": "or", "field": "born", "op": "is_empty"},
                        {"field": "name", "op": "is_not_empty"},
                    ],
                }
            ],
        }
    )
    assert text == (
        f'SELECT {USERS_COLUMNS} FROM "app_7"."users" AS "t"'
        ' WHERE ("t"."name" = %s::text AND "t"."city" = %s::text)'
        ' OR "t"."age" > %s::int8'
        ' OR ("t"."born" IS NULL AND ("t"."name" IS NOT NULL AND "t"."name" <> \'\'))'
        ' ORDER BY "t"."userID"'
    )
    assert args == ["param:name->string", "param:city->string", "param:age->integer"]


def test_a_filter_across_a_one_to_one_relation() -> None:
    """Users from a city, the city being a field of their biography (biographies.user -> users)."""
    kind, text, args = single(
        {
            "table": "users",
            "params": [{"name": "city", "type": "string"}],
            "actions": [
                {
                    "type": "select",
                    "filters": [{"field": "city", "via": ["biographies.user"], "op": "=", "value": {"param": "city"}}],
                }
            ],
        }
    )
    assert text == (
        f'SELECT {USERS_COLUMNS} FROM "app_7"."users" AS "t"'
        ' WHERE EXISTS (SELECT 1 FROM "app_7"."biographies" AS "r1"'
        ' WHERE "r1"."user" = "t"."userID" AND "r1"."city" = %s::text) ORDER BY "t"."userID"'
    )
    assert args == ["param:city->string"]


def test_filters_across_a_one_to_many_relation_both_ways() -> None:
    to_parent = single(
        {
            "table": "comments",
            "params": [{"name": "q", "type": "string"}],
            "actions": [
                {
                    "type": "aggregate",
                    "function": "count",
                    "filters": [{"field": "title", "via": ["photo"], "op": "contains", "value": {"param": "q"}}],
                }
            ],
        }
    )
    assert to_parent == (
        "aggregate",
        'SELECT count(*) FROM "app_7"."comments" AS "t" WHERE EXISTS (SELECT 1 FROM "app_7"."photos" AS "r1"'
        ' WHERE "r1"."photoID" = "t"."photo" AND "r1"."title" ILIKE %s::text)',
        ["param:q->string/contains"],
    )
    to_children = single(
        {
            "table": "photos",
            "params": [{"name": "q", "type": "string"}],
            "actions": [
                {
                    "type": "aggregate",
                    "function": "count",
                    "filters": [
                        {"field": "body", "via": ["comments.photo"], "op": "contains", "value": {"param": "q"}}
                    ],
                }
            ],
        }
    )
    assert to_children[1] == (
        'SELECT count(*) FROM "app_7"."photos" AS "t" WHERE EXISTS (SELECT 1 FROM "app_7"."comments" AS "r1"'
        ' WHERE "r1"."photo" = "t"."photoID" AND "r1"."body" ILIKE %s::text)'
    )


def test_a_filter_across_a_many_to_many_relation_through_the_link_table() -> None:
    """People who like a meal whose title contains X and whose chef is Y: one EXISTS, so both
    hold for the same meal."""
    kind, text, args = single(
        {
            "table": "people",
            "params": [{"name": "meal", "type": "string"}, {"name": "chef", "type": "string"}],
            "actions": [
                {
                    "type": "select",
                    "filters": [
                        {
                            "field": "title",
                            "via": ["favoriteMeals.connoisseur", "meal"],
                            "op": "contains",
                            "value": {"param": "meal"},
                        },
                        {
                            "field": "chef",
                            "via": ["favoriteMeals.connoisseur", "meal"],
                            "op": "=",
                            "value": {"param": "chef"},
                        },
                    ],
                }
            ],
        }
    )
    assert text == (
        'SELECT "t"."peopleID", "t"."timeCreated", "t"."timeUpdated", "t"."name" FROM "app_7"."people" AS "t"'
        ' WHERE EXISTS (SELECT 1 FROM "app_7"."favoriteMeals" AS "r1"'
        ' JOIN "app_7"."meals" AS "r2" ON "r2"."mealID" = "r1"."meal"'
        ' WHERE "r1"."connoisseur" = "t"."peopleID" AND "r2"."title" ILIKE %s::text AND "r2"."chef" = %s::text)'
        ' ORDER BY "t"."peopleID"'
    )
    assert args == ["param:meal->string/contains", "param:chef->string"]


def test_or_across_a_relation_makes_two_exists() -> None:
    kind, text, args = single(
        {
            "table": "people",
            "params": [{"name": "meal", "type": "string"}, {"name": "chef", "type": "string"}],
            "actions": [
                {
                    "type": "select",
                    "filters": [
                        {
                            "field": "title",
                            "via": ["favoriteMeals.connoisseur", "meal"],
                            "op": "=",
                            "value": {"param": "meal"},
                        },
                        {
                            "join": "or",
                            "field": "chef",
                            "via": ["favoriteMeals.connoisseur", "meal"],
                            "op": "=",
                            "value": {"param": "chef"},
                        },
                    ],
                }
            ],
        }
    )
    assert text.count("EXISTS (SELECT 1") == 2
    assert ' AND "r2"."title" = %s::text) OR EXISTS (SELECT 1 FROM "app_7"."favoriteMeals" AS "r3"' in text


@pytest.mark.parametrize(
    "via, message",
    [
        (["comments.author"], "comments.author is not a Belongs To field pointing at photos."),
        (["title"], "photos has no Belongs To field 'title'."),
        (["nope.photo"], "No table called 'nope'."),
    ],
)
def test_a_via_that_leads_nowhere_is_refused(via: list[str], message: str) -> None:
    with pytest.raises(model.DefinitionError) as error:
        compiled(
            {
                "table": "photos",
                "params": [{"name": "q", "type": "string"}],
                "actions": [
                    {"type": "select", "filters": [{"field": "body", "via": via, "op": "=", "value": {"param": "q"}}]}
                ],
            }
        )
    assert error.value.errors == {"actions[0].filters[0].via[0]": [message]}


# ── nesting ─────────────────────────────────────────────────────────────────────


def test_a_nested_update_in_a_select_runs_set_based_for_all_rows() -> None:
    plan = compiled(
        {
            "table": "messages",
            "params": [{"field": "recipient"}],
            "actions": [
                {
                    "id": "inbox",
                    "type": "select",
                    "filters": [{"field": "recipient", "op": "=", "value": {"param": "recipient"}}],
                    "actions": [
                        {
                            "type": "update",
                            "values": [{"field": "body", "value": {"row": "body"}}],
                            "filters": [{"field": "messageID", "op": "=", "value": {"row": "messageID"}}],
                        },
                        # A read nested in a select is never returned: it is not run.
                        {"type": "aggregate", "function": "count"},
                    ],
                }
            ],
        }
    )
    assert flat(plan) == [
        (
            "inbox",
            "select",
            'SELECT "t"."messageID", "t"."timeCreated", "t"."timeUpdated", "t"."body", "t"."sender", "t"."recipient"'
            ' FROM "app_7"."messages" AS "t" WHERE "t"."recipient" = %s::int8 ORDER BY "t"."messageID"',
            ["param:recipient->integer"],
        ),
        (
            "inbox set_based a1",
            "exec",
            'UPDATE "app_7"."messages" AS "t" SET "body" = "p"."c1" FROM unnest(%s::int8[], %s::text[]) AS p("c0", "c1")'
            ' WHERE ("t"."messageID" = "p"."c0") AND ("t"."body" IS DISTINCT FROM "p"."c1")',
            ["column:messageID@inbox->integer", "column:body@inbox->text"],
        ),
    ]
    assert plan.atomic is True


def test_nested_creates_and_deletes_in_a_select_run_set_based() -> None:
    plan = compiled(
        {
            "table": "photos",
            "params": [{"name": "note", "type": "text"}],
            "actions": [
                {
                    "id": "p",
                    "type": "select",
                    "actions": [
                        {
                            "type": "create",
                            "table": "comments",
                            "values": [
                                {"field": "body", "value": {"param": "note"}},
                                {"field": "photo", "value": {"row": "photoID"}},
                                {"field": "author", "value": {"row": "photographer"}},
                            ],
                        },
                        {
                            "type": "delete",
                            "table": "comments",
                            "filters": [{"field": "body", "op": "starts_with", "value": {"row": "title"}}],
                            "related": [],
                        },
                    ],
                },
                {"type": "aggregate", "function": "count", "table": "comments"},
            ],
        }
    )
    assert flat(plan) == [
        ("p", "select", f'SELECT {PHOTOS_COLUMNS} FROM "app_7"."photos" AS "t" ORDER BY "t"."photoID"', []),
        (
            "p set_based a1",
            "exec",
            'INSERT INTO "app_7"."comments" ("body", "photo", "author") SELECT %s::text, "p"."c0", "p"."c1"'
            ' FROM unnest(%s::int8[], %s::int8[]) AS p("c0", "c1")',
            ["param:note->text", "column:photoID@p->integer", "column:photographer@p->integer"],
        ),
        (
            "p set_based a2",
            "exec",
            'DELETE FROM "app_7"."comments" AS "t" USING unnest(%s::int8[], %s::text[]) AS p("c0", "c1")'
            ' WHERE "t"."body" ILIKE "p"."c1"',
            ["column:photoID@p->integer", "column:title@p->text/starts_with"],
        ),
        ("a3", "aggregate", 'SELECT count(*) FROM "app_7"."comments" AS "t"', []),
    ]


def test_a_nested_delete_with_related_data_runs_set_based() -> None:
    plan = compiled(
        {
            "table": "users",
            "actions": [
                {
                    "id": "u",
                    "type": "select",
                    "filters": [{"field": "name", "op": "is_empty"}],
                    "actions": [
                        {
                            "type": "delete",
                            "table": "photos",
                            "filters": [{"field": "photographer", "op": "=", "value": {"row": "userID"}}],
                            "related": [{"table": "comments", "field": "photo"}],
                        }
                    ],
                }
            ],
        }
    )
    assert flat(plan)[1] == (
        "u set_based a1",
        "exec",
        'WITH kiln_ids AS (SELECT "t"."photoID" FROM "app_7"."photos" AS "t", unnest(%s::int8[]) AS p("c0")'
        ' WHERE "t"."photographer" = "p"."c0"),'
        ' "kiln_related_0" AS (DELETE FROM "app_7"."comments" AS "c" USING kiln_ids'
        ' WHERE "c"."photo" = "kiln_ids"."photoID")'
        ' DELETE FROM "app_7"."photos" AS "t" USING kiln_ids WHERE "t"."photoID" = "kiln_ids"."photoID"',
        ["column:userID@u->integer"],
    )


def test_a_nested_select_holding_writes_runs_per_row_and_reads_the_outer_row() -> None:
    plan = compiled(
        {
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
                                    "id": "c",
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
                }
            ],
        }
    )
    assert flat(plan)[1:] == [
        (
            "u per_row ph",
            "select",
            f'SELECT {PHOTOS_COLUMNS} FROM "app_7"."photos" AS "t" WHERE "t"."photographer" = %s::int8'
            ' ORDER BY "t"."photoID"',
            ["row:userID@u->integer"],
        ),
        (
            "u per_row ph set_based c",
            "exec",
            'INSERT INTO "app_7"."comments" ("body", "photo", "author") SELECT %s::text, "p"."c0", %s::int8'
            ' FROM unnest(%s::int8[]) AS p("c0")',
            ["row:name@u->text", "row:userID@u->integer", "column:photoID@ph->integer"],
        ),
    ]


def test_a_nested_create_with_its_own_nested_create_runs_per_row() -> None:
    plan = compiled(
        {
            "table": "users",
            "params": [{"name": "title", "type": "string"}],
            "actions": [
                {
                    "id": "u",
                    "type": "select",
                    "actions": [
                        {
                            "id": "ph",
                            "type": "create",
                            "table": "photos",
                            "values": [
                                {"field": "title", "value": {"param": "title"}},
                                {"field": "photographer", "value": {"row": "userID"}},
                            ],
                            "actions": [
                                {
                                    "id": "c",
                                    "type": "create",
                                    "table": "comments",
                                    "values": [
                                        {"field": "photo", "value": {"row": "photoID"}},
                                        {"field": "author", "value": {"row": "userID", "action": "u"}},
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    )
    assert [(where, kind, args) for where, kind, _, args in flat(plan)] == [
        ("u", "select", []),
        ("u per_row ph", "insert", ["param:title->string", "row:userID@u->integer"]),
        ("u per_row ph once c", "insert", ["row:photoID@ph->integer", "row:userID@u->integer"]),
    ]


def test_reads_nobody_sees_are_not_run() -> None:
    plan = compiled(
        {
            "table": "users",
            "actions": [
                {"id": "x", "type": "select"},
                {"id": "y", "type": "aggregate", "function": "count"},
                {"id": "z", "type": "aggregate", "function": "count"},
            ],
            "returned": "y",
        }
    )
    assert ([s.action for s in plan.steps], plan.returned, plan.atomic) == (["y"], "y", False)


def test_the_last_top_level_action_is_returned_by_default() -> None:
    plan = compiled({"table": "users", "actions": [{"type": "create"}, {"type": "aggregate", "function": "count"}]})
    assert ([s.action for s in plan.steps], plan.returned, plan.atomic) == (["a1", "a2"], "a2", True)


def test_the_tag_is_appended_to_every_statement() -> None:
    plan = compile_method(
        model.parse(
            {
                "table": "users",
                "actions": [{"type": "create", "actions": [{"type": "create", "table": "photos"}]}],
            }
        ),
        SCHEMA,
        tag="kiln api v12",
    )
    assert [s.sql[-19:] for s in plan.statements()] == [" /* kiln api v12 */"] * 2
    with pytest.raises(ValueError):
        compile_method(model.parse({"table": "users"}), SCHEMA, tag="*/ DROP")
