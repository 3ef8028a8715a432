"""K.users.getAttributes and K.analytics.getEventStream through real V8 and PostgreSQL:
every option, keyset pages, failure values, and one app never seeing another's events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimethods import kscript
from console.apps import services as app_services
from console.apps.models import App
from console.events import services
from console.events.intake import IncomingEvent
from console.events.models import Event
from runtime.binds.analytics import PAGE_SIZE

# The run reads through connections of its own: tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def run(app: App, code: str, params: dict[str, Any] | None = None) -> Any:
    spec = kscript.ScriptSpec("test", code, "objects", ())
    return kscript.run_top_level(app.id, 10, {"test": spec}, spec, params or {}, "tok").value


def store(app: App, *events: tuple[str, int, Any, str | None], install: str = "inst-1") -> list[str]:
    """(type, seconds after T0, data, user id) each; returns their uuids."""
    incoming = [
        IncomingEvent(str(uuid.uuid4()), kind, T0 + timedelta(seconds=offset), user, data)
        for kind, offset, data, user in events
    ]
    services.store_events(app.id, install, incoming)
    return [e.uuid for e in incoming]


def associate(app: App, user: str, attributes: dict[str, Any], offset: int = 0) -> None:
    store(app, ("k.stats.userAssociated", offset, {"id": user, "attributes": attributes}, user))


DRAIN = """
function drain(options) {
  var it = K.analytics.getEventStream(options);
  if (failed(it)) return {error: it.error};
  var out = [];
  while (it.hasNext()) out.push(it.next());
  out.push(it.next());  // past the end: null
  return out;
}
"""


def types_of(events: list[Any]) -> list[Any]:
    assert events[-1] is None
    return [e["type"] for e in events[:-1]]


@pytest.fixture
def kapp(app: App) -> App:
    return app_services.set_platform_flags(app, kscript_enabled=True)


def test_user_attributes_has_get_all_and_an_unknown_user(kapp: App) -> None:
    associate(kapp, "ann", {"email": "ann@example.com", "name": "", "age": 31, "tags": ["a"]})
    code = """
    var a = K.users.getAttributes(K.params.userId);
    var nobody = K.users.getAttributes('nobody');
    K.setResponse({has: [a.has('email'), a.has('name'), a.has('phone')], email: a.get('email'),
                   phone: a.get('phone'), all: a.all(), nobody: [nobody.has('email'), nobody.get('email'), nobody.all()],
                   none: K.users.getAttributes(null).all(), json: JSON.parse(JSON.stringify(a)).age});
    """
    assert run(kapp, code, {"userId": "ann"}) == {
        "has": [True, False, False],
        "email": "ann@example.com",
        "phone": None,
        "all": {"email": "ann@example.com", "name": "", "age": 31, "tags": ["a"]},
        "nobody": [False, None, {}],
        "none": {},
        "json": 31,
    }


def test_attributes_cannot_be_changed_through_the_object(kapp: App) -> None:
    associate(kapp, "ann", {"tags": ["a"]})
    code = """
    var a = K.users.getAttributes('ann');
    a.get('tags').push('b'); a.all().tags.push('c');
    var sneaky = false; try { a.get = function () { return 1; }; } catch (e) { sneaky = true; }
    K.setResponse(a.get('tags'));
    """
    assert run(kapp, code) == ["a"]


def test_stream_pages_through_every_event_in_time_order(kapp: App) -> None:
    # More than two pages, many at the same instant: the (time, id) keyset never skips or repeats one.
    count = PAGE_SIZE * 2 + 37
    store(kapp, *[("tick", i // 50, {"n": i}, None) for i in range(count)])
    result = run(
        kapp, DRAIN + "K.setResponse(drain({include: ['data']}).slice(0, -1).map(function (e) { return e.data.n; }));"
    )
    assert result == list(range(count))


def test_event_shape_with_each_include(kapp: App) -> None:
    associate(kapp, "ann", {"plan": "gold"}, offset=0)
    [viewed] = store(kapp, ("product.viewed", 5, {"sku": "A-1"}, "ann"))
    code = (
        DRAIN
        + """
    var types = {eventTypes: ['product.viewed']};
    K.setResponse({bare: drain(types)[0],
                   all: drain({eventTypes: ['product.viewed'], include: ['data', 'user', 'userAttributes']})[0]});
    """
    )
    base = {
        "type": "product.viewed",
        "uuid": viewed,
        "happenedAt": "2025-03-01T12:00:05.000Z",
        "timestamp": int((T0 + timedelta(seconds=5)).timestamp() * 1000),
        "installId": "inst-1",
    }
    assert run(kapp, code) == {
        "bare": base,
        "all": {**base, "data": {"sku": "A-1"}, "user": "ann", "userAttributes": {"plan": "gold"}},
    }


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["k.*"], ["k.fg", "k.core.open", "k.bg"]),
        (["k.core.*"], ["k.core.open"]),
        (["product.viewed", "k.bg"], ["product.viewed", "k.bg"]),
        (["*"], ["k.fg", "k.core.open", "product.viewed", "k_x", "k%y", "k.bg"]),
        (["k_x"], ["k_x"]),  # `_` and `%` are not wildcards
        (["k%*"], ["k%y"]),
        (["*.viewed"], ["product.viewed"]),
        (["nothing.*"], []),
    ],
)
def test_event_type_wildcards(kapp: App, types: list[str], expected: list[str]) -> None:
    store(kapp, ("k.fg", 1, None, None), ("k.core.open", 2, None, None), ("product.viewed", 3, None, None),
          ("k_x", 4, None, None), ("k%y", 5, None, None), ("k.bg", 6, None, None))  # fmt: skip
    assert types_of(run(kapp, DRAIN + f"K.setResponse(drain({{eventTypes: {types!r}}}));")) == expected


def test_happened_between_is_inclusive_and_either_bound_optional(kapp: App) -> None:
    store(kapp, *[(f"e{i}", i * 60, None, None) for i in range(5)])
    code = (
        DRAIN
        + """
    K.setResponse([
      drain({happenedBetween: {$gte: '2025-03-01T12:01:00.000Z', $lte: '2025-03-01T12:03:00Z'}}),
      drain({happenedBetween: {$gte: new Date(Date.UTC(2025, 2, 1, 12, 3)).toISOString()}}),
      drain({happenedBetween: {$lte: '2025-03-01T13:00:00+01:00'}}),
    ]);
    """
    )
    assert [types_of(r) for r in run(kapp, code)] == [["e1", "e2", "e3"], ["e3", "e4"], ["e0"]]


def test_filters_on_data_paths_and_user_attributes(kapp: App) -> None:
    associate(kapp, "ann", {"age": 25, "gender": "F"})
    associate(kapp, "bob", {"age": 40, "gender": "M"})
    store(
        kapp,
        ("beacon", 10, {"proximity": 2, "location": {"state": "NY"}, "vip": True}, "ann"),
        ("beacon", 11, {"proximity": 3, "location": {"state": "CA"}, "vip": False}, "bob"),
        ("beacon", 12, {"proximity": "2", "location": {"state": "NY"}}, None),
        ("beacon", 13, {"proximity": 1.5}, "bob"),
    )
    cases = {
        "eq2": {"data.proximity": {"$eq": 2}},
        "lt3": {"data.proximity": {"$lt": 3}},
        "gte2lte3": {"data.proximity": {"$gte": 2, "$lte": 3}},
        "gt2": {"data.proximity": {"$gt": 2}},
        "ny": {"data.location.state": {"$eq": "NY"}},
        "vip": {"data.vip": {"$eq": True}},
        "young": {"user.age": {"$lt": 30}},
        "men_ca": {"user.gender": {"$eq": "M"}, "data.location.state": {"$eq": "CA"}},
    }
    code = (
        DRAIN
        + f"""
    var cases = {cases!r};
    var out = {{}};
    Object.keys(cases).forEach(function (name) {{
      out[name] = drain({{eventTypes: ['beacon'], include: ['data'], filter: cases[name]}}).slice(0, -1)
        .map(function (e) {{ return e.timestamp / 1000 - {int(T0.timestamp())}; }});
    }});
    K.setResponse(out);
    """.replace("True", "true")
    )
    assert run(kapp, code) == {
        "eq2": [10],
        "lt3": [10, 13],
        "gte2lte3": [10, 11],
        "gt2": [11],
        "ny": [10, 12],
        "vip": [10],
        "young": [10],
        "men_ca": [11],
    }


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (
            "{eventTypes: 'k.fg', colour: 1}",
            "unknown option 'colour'; use eventTypes, happenedBetween, include and filter",
        ),
        ("{happenedBetween: {$gte: 'last tuesday'}}", "happenedBetween.$gte is not an ISO 8601 date: 'last tuesday'"),
        ("{happenedBetween: {$after: '2025-01-01'}}", "happenedBetween must be an object with $gte and/or $lte"),
        ("{include: ['data', 'device']}", "include: unknown 'device'; use 'data', 'user' or 'userAttributes'"),
        ("{filter: {'age': {$eq: 1}}}", "filter key 'age' must start with 'data.' or 'user.' and name a field"),
        ("{filter: {'data.x': {$ne: 1}}}", "filter 'data.x': unknown operator '$ne'; use $eq, $lt, $gt, $lte or $gte"),
        ("{filter: {'data.x': {$eq: {a: 1}}}}", "filter 'data.x': $eq needs a string, a number or a boolean"),
        ("{eventTypes: [1]}", "eventTypes: each must be an event type name of 1 to 200 characters"),
        ("'k.*'", "the event stream's options must be an object"),
    ],
)
def test_bad_options_are_a_failure_value_saying_why(kapp: App, options: str, error: str) -> None:
    code = f"var it = K.analytics.getEventStream({options}); K.setResponse([failed(it), it.error]);"
    assert run(kapp, code) == [True, error]


def test_aliases_and_another_apps_events(kapp: App, owner: Any) -> None:
    other = app_services.create_app(owner, "Other")
    store(kapp, ("mine", 1, None, None))
    store(other, ("theirs", 1, None, None))
    code = """
    var names = ['getEventStream', 'eventStream', 'getEvents', 'createEventIterator'];
    K.setResponse(names.map(function (n) { var it = K.analytics[n](); return it.hasNext() ? it.next().type : null; }));
    """
    assert run(kapp, code) == ["mine"] * 4
    assert Event.objects.count() == 2


def test_no_options_and_an_empty_stream(kapp: App) -> None:
    assert run(kapp, DRAIN + "K.setResponse([drain(), drain({})]);") == [[None], [None]]
