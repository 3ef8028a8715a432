"""K.session quotas through real V8 and Redis: a value over KILN_SESSION_VALUE_BYTES or a
session over KILN_SESSION_BYTES is refused with an error the script sees, and nothing of
it is written (issue 10: 8 MiB values were accepted without limit)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import override_settings

from apimethods import kscript
from apimethods.hosts import SIZE_FIELD, RedisSessionStore, redis_client
from console.apps import services as app_services
from console.apps.models import App
from runtime import HostError, ScriptError

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


@pytest.fixture
def token(kapp: App) -> Any:
    made = f"quota-{uuid.uuid4()}"
    yield made
    redis_client().delete(RedisSessionStore(kapp.id, made).key)


def run(app: App, code: str, token: str) -> Any:
    spec = kscript.ScriptSpec("test", code, "objects", ())
    return kscript.run_top_level(app.id, 20, {"test": spec}, spec, {}, token).value


def stored(app: App, token: str) -> dict[bytes, bytes]:
    return dict(redis_client().hgetall(RedisSessionStore(app.id, token).key))


def test_an_8_mib_value_is_refused_and_the_script_sees_why(kapp: App, token: str) -> None:
    run(kapp, "K.session.keep = 'me'; K.setResponse(true);", token)
    code = """
    var big = 'x'.repeat(8 * 1024 * 1024);
    var error = null;
    try { K.session.big = big; } catch (e) { error = e.message; }
    K.setResponse({error: error, big: K.session.big, has: K.session.has('big'), keys: Object.keys(K.session)});
    """
    assert run(kapp, code, token) == {
        "error": f"K.session.big was not stored: its value takes {8 * MiB + 2} bytes as JSON, "
        "more than the 65536 bytes one value may take",
        "big": None,
        "has": False,
        "keys": ["keep"],
    }
    assert stored(kapp, token) == {b"keep": b'"me"', SIZE_FIELD.encode(): b"8"}


def test_an_uncaught_refusal_fails_the_run(kapp: App, token: str) -> None:
    with pytest.raises(ScriptError, match="K.session.big was not stored"):
        run(kapp, "K.session.set('big', 'x'.repeat(8 * 1024 * 1024)); K.setResponse(1);", token)
    assert stored(kapp, token) == {}


def test_a_value_of_exactly_the_cap_is_stored_one_byte_more_is_not(kapp: App, token: str) -> None:
    # A string of n characters takes n + 2 bytes as JSON.
    code = """
    var results = [];
    [65534, 65535].forEach(function (n) {
      try { K.session.set('v' + n, 'y'.repeat(n)); results.push('stored'); } catch (e) { results.push('refused'); }
    });
    K.setResponse(results);
    """
    assert run(kapp, code, token) == ["stored", "refused"]
    assert set(stored(kapp, token)) == {b"v65534", SIZE_FIELD.encode()}
    assert stored(kapp, token)[SIZE_FIELD.encode()] == str(len("v65534") + 65536).encode()


def test_a_session_over_the_total_cap_is_refused_and_keeps_what_it_had(kapp: App, token: str) -> None:
    # 16 values of 64 KiB less their key fit in 1 MiB; the 17th does not.
    code = """
    var stored = 0, error = null;
    for (var i = 0; i < 20 && error === null; i++) {
      try { K.session.set('k' + (i < 10 ? '0' : '') + i, 'z'.repeat(65536 - 2 - 3)); stored++; }
      catch (e) { error = e.message; }
    }
    K.setResponse({stored: stored, error: error, count: Object.keys(K.session).length});
    """
    result = run(kapp, code, token)
    assert result == {
        "stored": 16,
        "error": f"K.session.k16 was not stored: the session would take more than {MiB} bytes (it holds {MiB}); "
        "unset values it no longer needs",
        "count": 16,
    }
    raw = stored(kapp, token)
    assert len(raw) == 17 and b"k16" not in raw and raw[SIZE_FIELD.encode()] == str(MiB).encode()
    # Freeing one value makes room again; the size follows every write.
    assert run(kapp, "K.session.unset('k00'); K.session.k16 = 'small'; K.setResponse(K.session.k16);", token) == "small"
    assert stored(kapp, token)[SIZE_FIELD.encode()] == str(MiB - 65536 + 3 + 7).encode()


@override_settings(KILN_SESSION_VALUE_BYTES=100, KILN_SESSION_BYTES=250)
def test_replacing_a_value_counts_only_the_new_one(kapp: App, token: str) -> None:
    store = RedisSessionStore(kapp.id, token)
    store.set("a", "x" * 90)  # 1 + 92
    store.set("b", "x" * 90)  # 1 + 92: 186
    store.set("a", "y" * 98)  # 1 + 100 replaces 93: 194
    assert store.load() == {"a": "y" * 98, "b": "x" * 90}
    with pytest.raises(HostError, match=r"would take more than 250 bytes \(it holds 194\)"):
        store.set("c", "z" * 60)  # 1 + 62 -> 257
    store.unset("b")
    store.set("c", "z" * 60)  # 101 + 63
    assert store.load() == {"a": "y" * 98, "c": "z" * 60}
    assert stored(kapp, token)[SIZE_FIELD.encode()] == b"164"
    store.unset("a")
    store.unset("c")
    assert stored(kapp, token) == {}  # an emptied session leaves no hash behind


def test_a_session_written_before_sizes_were_kept_is_counted_once(kapp: App, token: str) -> None:
    store = RedisSessionStore(kapp.id, token)
    redis_client().hset(store.key, mapping={"old": json.dumps("v" * 20)})  # 3 + 22 bytes
    with override_settings(KILN_SESSION_BYTES=40):
        with pytest.raises(HostError, match=r"\(it holds 25\)"):
            store.set("new", "w" * 20)
        store.set("n", "w" * 10)  # 25 + 1 + 12
    assert store.load() == {"old": "v" * 20, "n": "w" * 10}
    assert stored(kapp, token)[SIZE_FIELD.encode()] == b"38"


def test_non_ascii_values_are_counted_in_utf8_bytes(kapp: App, token: str) -> None:
    with override_settings(KILN_SESSION_VALUE_BYTES=8):
        run(kapp, "K.session.a = 'ééé'; K.setResponse(1);", token)  # 2 + 6 bytes
        with pytest.raises(ScriptError, match="its value takes 10 bytes as JSON"):
            run(kapp, "K.session.b = 'éééé'; K.setResponse(1);", token)
    assert RedisSessionStore(kapp.id, token).load() == {"a": "ééé"}


def test_the_size_field_is_not_a_session_key_and_nul_keys_are_refused(kapp: App, token: str) -> None:
    code = """
    K.session.a = 1;
    var error = null;
    try { K.session['\\u0000size'] = 5; } catch (e) { error = e.message; }
    K.setResponse({keys: Object.keys(K.session), error: error, size: K.session['\\u0000size']});
    """
    assert run(kapp, code, token) == {
        "keys": ["a"],
        "error": "K.session keys cannot contain NUL characters",
        "size": None,
    }
    assert run(kapp, "K.setResponse(Object.keys(K.session));", token) == ["a"]


def test_the_session_keeps_its_time_to_live(kapp: App, token: str) -> None:
    run(kapp, "K.session.a = 1; K.setResponse(1);", token)
    ttl = redis_client().ttl(RedisSessionStore(kapp.id, token).key)
    assert 3590 <= ttl <= 3600
