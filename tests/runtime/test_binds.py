"""The K families: params, logging, JSON, responses, include, callAPIMethod, database,
security, JWT and sessions — through real V8 and the in-Python test host."""

from __future__ import annotations

import time

import bcrypt
import jwt as pyjwt
import pytest
from conftest import MemoryMethods

from runtime import Host, ScriptError


def test_params_has_is_true_only_for_non_empty_values(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "K.setResponse([K.params.a, K.params.has('a'), K.params.has('empty'), K.params.has('nope'), Object.keys(K.params)])",
        {"a": "1", "empty": ""},
    )
    assert result.value == ["1", True, False, False, ["a", "empty"]]


def test_logging_captures_level_args_line_and_caller(run) -> None:  # type: ignore[no-untyped-def]
    result = run("K.log('a', 1, {b: [2]});\nfunction check() {\n  K.error('bad', 3);\n}\ncheck();\nK.trace();")
    log, error, trace = result.logs
    assert (log.level, log.args, log.line) == ("log", ("a", 1, {"b": [2]}), 1)
    assert (error.level, error.args, error.line, error.caller) == ("error", ("bad", 3), 3, "check")
    assert [(f["fn"], f["line"]) for f in error.stack] == [("check", 3), (None, 5)]
    assert (trace.level, trace.line) == ("trace", 6)


def test_logs_are_capped(run) -> None:  # type: ignore[no-untyped-def]
    from runtime import RunLimits

    result = run("for (var i = 0; i < 50; i++) K.log(i);", limits=RunLimits(max_log_entries=10))
    assert len(result.logs) == 10
    assert result.logs_dropped == 40


def test_json_and_response_type_map(run, db) -> None:  # type: ignore[no-untyped-def]
    db.add("1_1_users", name="ann", avatar="AAEC")
    result = run(
        "var rows = K.select('1_1_users').run();"
        "K.setResponseTypeMap({avatar: K.Types.DATA});"
        "K.setResponse({text: K.JSON.stringify(rows), back: K.JSON.parse('[1]'), types: K.Types.DATE_TIME});"
    )
    assert result.value == {"text": '[{"id":1,"name":"ann","avatar":"AAEC"}]', "back": [1], "types": "DATE_TIME"}
    assert result.type_map == {"avatar": "DATA"}


def test_no_response_gives_none(run) -> None:  # type: ignore[no-untyped-def]
    result = run("var x = 1;")
    assert (result.value, result.has_response) == (None, False)


def test_include_runs_in_the_current_scope_once(run, scripts) -> None:  # type: ignore[no-untyped-def]
    scripts.scripts["_init_"] = (
        "var COUNT = (typeof COUNT === 'number' ? COUNT : 0) + 1; include('_other_'); function twice(x) { return x * 2; }"
    )
    scripts.scripts["_other_"] = "include('_init_'); var OTHER = TABLE + '!';"
    result = run("var TABLE = 't'; include('_init_'); include('_init_'); K.setResponse([twice(COUNT), OTHER])")
    assert result.value == [2, "t!"]


def test_include_of_an_unknown_script_throws(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("include('_nope_');")
    assert caught.value.message == "Error: include(): no KScript method named '_nope_'"


def test_globals_md5_sha1_base64(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "K.setResponse([md5('abc'), sha1('abc'), base64_encode('u:p'), base64_decode('dTpw'), base64_decode(base64_encode('é'))])"
    )
    assert result.value == [
        "900150983cd24fb0d6963f7d28e17f72",
        "a9993e364706816aba3e25717850c26c9cd0d89d",
        "dTpw",
        "u:p",
        "é",
    ]


def test_call_api_method_does_not_disturb_params(pool, host) -> None:  # type: ignore[no-untyped-def]
    methods = MemoryMethods(pool, "app1", {"double": "K.setResponse(K.params.n * 2)"}, lambda: full)
    full = Host(database=host.database, session=host.session, scripts=host.scripts, methods=methods)
    from runtime import run_script

    result = run_script(
        "app1",
        "var r = K.callAPIMethod('double', {n: 21}); var bad = K.callAPIMethod('nope', {});"
        "K.setResponse([r, K.params.n, failed(bad), bad.error])",
        params={"n": "mine"},
        host=full,
        pool=pool,
    )
    assert result.value == [42, "mine", True, "no API method named nope"]
    assert methods.calls == [("double", {"n": 21}), ("nope", {})]


def test_select_builder_sends_the_structured_request(run, db) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        db.add("1_1_posts", authorID=n % 2, score=n)
    result = run(
        "var rs = K.select('1_1_posts').filter('authorID', 0).filter('score', '>=', 1)"
        ".filter({hidden: undefined}).sort('score', 'DESC').limit(1, 1).run();"
        "K.setResponse(rs)"
    )
    assert result.value == [{"id": 3, "authorID": 0, "score": 2}]
    assert db.requests[-1] == {
        "action": "select",
        "table": "1_1_posts",
        "filters": [
            {"field": "authorID", "op": "=", "value": 0},
            {"field": "score", "op": ">=", "value": 1},
            {"field": "hidden", "op": "=", "value": None},
        ],
        "sort": [{"field": "score", "direction": "DESC"}],
        "limit": 1,
        "offset": 1,
    }


def test_result_set_helpers(run, db) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        db.add("1_1_items", price=n)
    code = """
    var rs = K.select('1_1_items').run();
    var seen = [];
    while (rs.hasNext()) { var it = rs.next(); it.text = '$' + it.price; seen.push(it.price); }
    rs.push({extra: true});
    K.setResponse({n: rs.length, first: rs.first().price, last: rs.last(), at: rs.itemAtIndex(1).text,
                   seen: seen, all: rs, empty: K.select('1_1_none').run().first()});
    """
    value = run(code).value
    assert value["n"] == 4 and value["first"] == 0 and value["last"] == {"extra": True}
    assert value["at"] == "$1" and value["seen"] == [0, 1, 2] and value["empty"] is None
    assert value["all"][0] == {"id": 1, "price": 0, "text": "$0"}


def test_insert_update_delete(run, db) -> None:  # type: ignore[no-untyped-def]
    code = """
    var a = K.insert('1_1_notes', {body: 'x'});
    var b = K.insert('1_1_notes', {body: 'y'});
    var changed = K.update('1_1_notes', {body: 'y'}).filter('body', 'IN', ['x', 'y']).run();
    var gone = K.delete('1_1_notes').filter({id: a}).run();
    var all = K.delete('1_1_notes').forceDeleteAll().run();
    K.setResponse([a, b, changed, gone, all]);
    """
    assert run(code).value == [1, 2, 1, 1, 1]
    assert db.tables["1_1_notes"] == []


def test_database_failures_are_values_not_exceptions(run) -> None:  # type: ignore[no-untyped-def]
    code = """
    var q = K.query('SELECT BROKEN FROM x', []);
    var s = K.select('1_1_missing').run();
    var ok = K.query('SELECT 1');
    K.setResponse([failed(q), q.error, failed(s), s.error, failed(ok), ok.length, failed(false), failed(0), failed(null)]);
    """
    assert run(code).value == [
        True,
        "syntax error at or near BROKEN",
        True,
        "relation 1_1_missing does not exist",
        False,
        1,
        True,
        False,
        False,
    ]


def test_database_unavailable_is_a_failure_value(run) -> None:  # type: ignore[no-untyped-def]
    result = run("var r = K.query('SELECT 1', []); K.setResponse([failed(r), r.error])", host_=Host())
    assert result.value == [True, "no database is available to this run"]


def test_password_hash_and_verify(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "var h = K.sec.passwordHash('pw'); var h2 = K.sec.passwordHash('pw');"
        "K.setResponse([h, h !== h2, K.sec.passwordVerify('pw', h), K.sec.passwordVerify('no', h), K.sec.passwordVerify('pw', 'junk')])"
    )
    hashed, differs, good, bad, junk = result.value
    assert bcrypt.checkpw(b"pw", hashed.encode()) and differs and good and not bad and not junk


def test_aes_round_trip_and_wrong_key_failure(run) -> None:  # type: ignore[no-untyped-def]
    result = run(
        "var c = K.sec.aesEncrypt('card ✓', 'k1'); var p = K.sec.aesDecrypt(c, 'k1'); var w = K.sec.aesDecrypt(c, 'k2');"
        "var junk = K.sec.aesDecrypt('abc', 'k1');"
        "K.setResponse([c.length > 40, c === K.sec.aesEncrypt('card ✓', 'k1'), p, failed(w), w.error, failed(junk)])"
    )
    assert result.value == [True, False, "card ✓", True, "aesDecrypt: wrong password or damaged ciphertext", True]


def test_jwt_builder_and_parser(run) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    code = f"""
    var S = K.jwt.Signature;
    var tok = K.jwt.createBuilder(S.HS256, 'kiln-test-signing-key-0123456789abcdef').setIssuer('kiln').setAudience('shop')
      .setIssuedAt({now}).setExpiry({now} + 900).addClaim('uid', 7).addClaim('roles', ['a']).getToken();
    var p = K.jwt.createParser(S.HS256, 'kiln-test-signing-key-0123456789abcdef');
    var t = p.parseAndVerify(tok, {{audience: 'shop', issuer: 'kiln'}});
    var wrongKey = K.jwt.createParser(S.HS256, 'another-signing-key-0123456789abcdef!!').parseAndVerify(tok);
    var wrongAud = p.parseAndVerify(tok, {{audience: 'admin'}});
    var expired = K.jwt.createParser(S.HS256, 'kiln-test-signing-key-0123456789abcdef').parseAndVerify(
      K.jwt.createBuilder(S.HS256, 'kiln-test-signing-key-0123456789abcdef').setExpiry({now} - 10).getToken());
    K.setResponse([tok, t.getClaim('uid', null), t.getClaim('roles'), t.getClaim('nope', 'dflt'),
                   failed(wrongKey), failed(wrongAud), failed(expired)]);
    """
    tok, uid, roles, missing, wrong_key, wrong_aud, expired = run(code).value
    assert (
        pyjwt.decode(tok, "kiln-test-signing-key-0123456789abcdef", algorithms=["HS256"], audience="shop")["uid"] == 7
    )
    assert (uid, roles, missing, wrong_key, wrong_aud, expired) == (7, ["a"], "dflt", True, True, True)


def test_session_reads_writes_and_unsets_through_the_store(run, session) -> None:  # type: ignore[no-untyped-def]
    session.values.update({"uid": 5})
    code = """
    var before = [K.session.uid, K.session.has('uid'), K.session.missing];
    K.session.lastCall = 123;
    K.session.unset('uid');
    K.setResponse([before, K.session.uid, K.session.lastCall]);
    """
    assert run(code).value == [[5, True, None], None, 123]
    assert session.values == {"lastCall": 123}
    assert run("K.session.destroy(); K.setResponse(K.session.has('lastCall'))").value is False
    assert session.values == {}


def test_session_without_a_store_lives_for_the_run_only(run) -> None:  # type: ignore[no-untyped-def]
    assert run("K.session.a = 1; K.setResponse(K.session.a)", host_=Host()).value == 1
    assert run("K.setResponse(K.session.a)", host_=Host()).value is None
