"""Hostile scripts are contained, fail with the expected type, and the pool keeps serving."""

from __future__ import annotations

import pytest

from runtime import (
    RunLimits,
    ScriptError,
    ScriptMemoryExceeded,
    ScriptResponseTooLarge,
    ScriptTimeout,
)

SHORT = RunLimits(timeout_s=0.3)


def _still_serves(run) -> None:  # type: ignore[no-untyped-def]
    assert run("K.setResponse(1 + 1)").value == 2


@pytest.mark.parametrize(
    "code",
    [
        "while (true) {}",
        "for (;;) { Math.random(); }",
        "function f() { while (true) {} } f();",
        "var x = 0; while (true) { x = md5('a'); }",
    ],
)
def test_infinite_loops_time_out(run, code: str) -> None:  # type: ignore[no-untyped-def]
    # When a script never ends
    with pytest.raises(ScriptTimeout):
        run(code, limits=SHORT)
    # Then the pool still serves
    _still_serves(run)


def test_infinite_microtask_after_the_script_is_contained(run, pool) -> None:  # type: ignore[no-untyped-def]
    # Given a script that leaves a never-ending job behind after it returns
    result = run("Promise.resolve().then(function () { while (true) {} }); K.setResponse('done')", limits=SHORT)
    # Then its own result comes back; the stuck context is discarded (when the next run
    # collects its cleanup) and the pool serves
    assert result.value == "done"
    _still_serves(run)
    # (When the next run found the job still spinning, it lowered that context, so the app
    # counts as runaway and the run after it started on a lowered context, retired too.)
    assert pool.discarded - pool.started_low == 1


def test_memory_bomb_is_stopped_and_the_context_replaced(run, pool) -> None:  # type: ignore[no-untyped-def]
    limits = RunLimits(timeout_s=10, memory_bytes=32 * 1024 * 1024)
    with pytest.raises(ScriptMemoryExceeded):
        run("var a = []; while (true) a.push(new Array(100000).fill(1.5));", limits=limits)
    assert pool.discarded == 1
    _still_serves(run)


def test_runaway_recursion_is_a_script_error(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("function r(n) { return r(n + 1) + 1; }\nr(0);")
    assert caught.value.message == "RangeError: Maximum call stack size exceeded"
    assert caught.value.line == 1
    _still_serves(run)


def test_huge_response_is_refused(run) -> None:  # type: ignore[no-untyped-def]
    limits = RunLimits(timeout_s=10, max_response_chars=1000)
    with pytest.raises(ScriptResponseTooLarge):
        run("K.setResponse(new Array(2000).join('x'))", limits=limits)
    _still_serves(run)


@pytest.mark.parametrize(
    ("polluter", "probe"),
    [
        ("Array.prototype.x = 42;", "[].x"),
        ("Object.prototype.polluted = 1;", "({}).polluted"),
        (
            "Object.defineProperty(Object.prototype, 'y', {get: function () { return 7; }, configurable: true});",
            "({}).y",
        ),
        ("String.prototype.trim = function () { return 'hacked'; };", "' a '.trim()"),
        ("JSON.parse = function () { return 'hacked'; };", "JSON.parse('1')"),
        ("Math.max = null;", "typeof Math.max"),
        ("Object.setPrototypeOf(Array.prototype, null);", "typeof [].hasOwnProperty"),
        # Every other way to change a built-in's prototype (cleanup checks prototypes only
        # after a run that used one of them)
        ("Array.prototype.__proto__ = null;", "typeof [].hasOwnProperty"),
        (
            "Map.prototype['__proto__'] = {get: function () { return 'hacked'; }};",
            "Object.getPrototypeOf(Map.prototype) === Object.prototype",
        ),
        (
            "Reflect.setPrototypeOf(Math, {max: function () { return 'hacked'; }});",
            "Object.getPrototypeOf(Math) === Object.prototype",
        ),
        ("Reflect.set(JSON, '__proto__', Array.prototype);", "typeof JSON.map"),
        ("Object.assign(Date.prototype, JSON.parse('{\"__proto__\": null}'));", "typeof new Date(0).hasOwnProperty"),
        ("Object.setPrototypeOf(new Proxy(String.prototype, {}), null);", "typeof ''.hasOwnProperty"),
        (
            "var set = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__').set; set.call(Number.prototype, null);",
            "typeof (1).hasOwnProperty",
        ),
        ("K = null;", "typeof K"),
        ("failed = function () { return 'hacked'; };", "failed(false)"),
        ("Error.prepareStackTrace = function () { return 'hacked'; };", "typeof Error.prepareStackTrace"),
        ("delete Array.prototype.map;", "typeof [].map"),
        # The cheap cleanup compares values and key order only; these change what it cannot
        # see, and must still be undone.
        ("delete Array.prototype.map; Array.prototype.map = function () { return 'hacked'; };", "[1].map(String)"),
        ("delete Map.prototype.size; Map.prototype.size = 'hacked';", "new Map().size"),
        ("Map.prototype.__defineGetter__('size', function () { return 'hacked'; });", "new Map().size"),
        (
            "var m = Array.prototype.map;"
            " Reflect.defineProperty(new Proxy(Array.prototype, {}), 'map', {get: () => m, configurable: true});",
            "typeof Object.getOwnPropertyDescriptor(Array.prototype, 'map').value",
        ),
        (
            "Object.defineProperty(Array.prototype, 'map', {writable: false});",
            "(function () { 'use strict'; try { Array.prototype.map = Array.prototype.map; return 'ok'; }"
            " catch (e) { return 'stuck'; } })()",
        ),
        ("Object.freeze(new Proxy(Math, {}));", "Object.isFrozen(Math)"),
        ("Error.captureStackTrace(Array.prototype);", "Object.getOwnPropertyNames(Array.prototype).includes('stack')"),
        ("Array.prototype[Symbol.for('leak')] = 'hacked';", "[][Symbol.for('leak')] === undefined"),
        ("Array.prototype.length = 3;", "Array.prototype.length"),
        (
            "var m = Array.prototype.map; delete Array.prototype.map; Array.prototype.map = m;",
            "[Object.keys(Array.prototype).length, Object.getOwnPropertyNames(Array.prototype).indexOf('map') > 0]",
        ),
        ("delete Map.prototype.size;", "typeof Object.getOwnPropertyDescriptor(Map.prototype, 'size')"),
        ("delete Math[Symbol.toStringTag]; Math[Symbol.for('x')] = 1;", "Object.prototype.toString.call(Math)"),
        (
            "delete Array[Symbol.species]; Array[Symbol.for('y')] = 1;",
            "[typeof Object.getOwnPropertyDescriptor(Array, Symbol.species), Array[Symbol.for('y')] === undefined]",
        ),
        ("globalThis.NaN2 = NaN; Number.prototype.toFixed = 1;", "[typeof NaN2, typeof (1).toFixed]"),
        # A deleted property that reads the same through the prototype chain (Function.prototype.length
        # is 0 too), or whose prototype was given the same value, is still missed.
        ("delete Map.length;", "Object.getOwnPropertyNames(Map).includes('length')"),
        (
            "var TA = Object.getPrototypeOf(Int8Array.prototype);"
            " delete Int8Array.prototype.constructor; TA.constructor = Int8Array;",
            "[Object.getOwnPropertyNames(Int8Array.prototype).includes('constructor'),"
            " Object.getPrototypeOf(Int8Array.prototype).constructor.name]",
        ),
        # Keys added without assignment (class fields define them), with the value they had
        (
            "class B { constructor(o) { return o; } } class F extends B { push = Array.prototype.push; } new F(Array.prototype);",
            "Object.keys(Array.prototype)",
        ),
        (
            "class B { constructor(o) { return o; } } class F extends B { trim = String.prototype.trim; } new F(String.prototype);",
            "Object.keys(String.prototype)",
        ),
        (
            "class B { constructor(o) { return o; } } class F extends B { ['__proto__'] = 1; } new F(JSON);",
            "Object.getOwnPropertyNames(JSON).includes('__proto__')",
        ),
        # Index keys and symbol keys on objects Object.assign checks, and on exotic ones
        ("Math[0] = 1; Array.prototype[0] = 1; String.prototype[1] = 'x';", "[Math[0], [][0], ''[1]]"),
        ("Math[Symbol.iterator] = function* () {};", "Object.getOwnPropertySymbols(Math).length"),
        ("Array.prototype.extra = 1; Array.prototype.map = null;", "[typeof [].map, [].extra]"),
        # The global object: a built-in redeclared, deleted, or shadowed from Object.prototype
        ("function Array() { return 'hacked'; }", "[typeof Array.from, Object.keys(globalThis).length]"),
        ("delete globalThis.JSON;", "typeof JSON"),
        (
            "var k = K; delete globalThis.K; Object.prototype.K = k;",
            "Object.getOwnPropertyNames(globalThis).includes('K')",
        ),
    ],
)
def test_prototype_pollution_does_not_survive_the_run(run, polluter: str, probe: str) -> None:  # type: ignore[no-untyped-def]
    # Given a clean answer for the probe
    clean = run(f"K.setResponse({probe})").value
    # When a run pollutes a built-in (and sees its own change)
    run(polluter)
    # Then the next run sees the clean value again
    assert run(f"K.setResponse({probe})").value == clean


def test_built_ins_patched_on_every_run_are_restored_every_time(run) -> None:  # type: ignore[no-untyped-def]
    # Given a probe of built-ins that runs patch one after another (once restored, a changed
    # object is compared by keyed reads instead of its generated check)
    probe = (
        "K.setResponse([typeof [].map, [].total, Math.extra, typeof Math.max,"
        " Object.getOwnPropertyNames(Map).includes('length'), [][Symbol.for('t')], [].constructor === Array])"
    )
    clean = run(probe).value
    for polluter in (
        "Array.prototype.total = 1; Math.extra = 2;",
        "Array.prototype.map = null; delete Math.max;",
        "delete Map.length; Array.prototype[Symbol.for('t')] = 1;",
        "Array.prototype.constructor = Object; Math.extra = 3;",
        "Array.prototype.total = 1; Math.extra = 2;",
    ):
        # When a run patches them
        run(polluter)
        # Then the next run sees them as before
        assert run(probe).value == clean, polluter


def test_a_trap_on_a_built_in_prototype_chain_never_runs_during_the_restore(run, pool) -> None:  # type: ignore[no-untyped-def]
    # Given a run that deletes built-in methods (so reading them walks the prototype chain)
    # and puts a Proxy under every built-in prototype it can, armed once the run is over
    run(
        """
        const now = Date.now, t0 = now(), getP = Object.getPrototypeOf, setP = Object.setPrototypeOf;
        const names = Object.getOwnPropertyNames, OP = Object.prototype;
        const trap = new Proxy({}, { get(t, k, r) {
          if (now() > t0 + 400) { Object.prototype.leak = 'yes'; throw new Error('trap ran: ' + String(k)); }
          return Reflect.get(t, k, r);
        } });
        const victims = [Function.prototype, getP([][Symbol.iterator]()), getP(new Map()[Symbol.iterator]())];
        const all = names(globalThis);
        for (let i = 0; i < all.length; i++) {
          const v = globalThis[all[i]];
          if (typeof v === 'function' && v.prototype && typeof v.prototype === 'object') victims.push(v.prototype);
          if (v && (typeof v === 'object' || typeof v === 'function')) victims.push(v);
        }
        const doomed = [];
        for (let i = 0; i < victims.length; i++) {
          const keys = names(victims[i]);
          for (let j = 0; j < keys.length; j++) {
            const d = Object.getOwnPropertyDescriptor(victims[i], keys[j]);
            if ('value' in d && d.configurable && typeof d.value === 'function' && keys[j] !== 'constructor') {
              doomed.push(victims[i], keys[j]);
              break;
            }
          }
        }
        for (let i = 0; i < doomed.length; i += 2) delete doomed[i][doomed[i + 1]];
        for (let i = 0; i < victims.length; i++) {
          if (victims[i] !== OP && getP(victims[i]) === OP) { try { setP(victims[i], trap); } catch (e) {} }
        }
        """
    )
    import time

    time.sleep(0.5)
    # Then the next run is clean, and the trap did not run while the globals were restored
    probe = "K.setResponse([typeof Array.from, typeof [].map, ({}).leak, [1, 2][Symbol.iterator]().next().value])"
    assert run(probe).value == ["function", "function", None, 1]


def test_globals_do_not_leak_between_runs(run) -> None:  # type: ignore[no-untyped-def]
    run("var leaked = 1; implicitGlobal = 2; function helper() {} let scoped = 3; globalThis.direct = 4;")
    result = run("K.setResponse([typeof leaked, typeof implicitGlobal, typeof helper, typeof scoped, typeof direct])")
    assert result.value == ["undefined"] * 5


def test_unrestorable_tampering_recycles_the_context(run, pool) -> None:  # type: ignore[no-untyped-def]
    run("Object.defineProperty(globalThis, 'stuck', {value: 1, configurable: false}); Object.freeze(Array.prototype);")
    # The next run gets a fresh context: the dirty one is closed when its cleanup is collected.
    assert run("Array.prototype.z = 1; K.setResponse([typeof stuck, [].z])").value == ["undefined", 1]
    assert pool.discarded == 1


def test_params_of_a_previous_run_are_gone(run) -> None:  # type: ignore[no-untyped-def]
    run("K.setResponse(K.params.secret)", {"secret": "s3cr3t"})
    assert run("K.setResponse([K.params.secret === undefined, K.params.has('secret')])").value == [True, False]


@pytest.mark.parametrize(
    "probe",
    [
        "typeof this.constructor.constructor('return this')().process",
        "typeof require",
        "typeof process",
        "typeof WebAssembly",
        "typeof SharedArrayBuffer",
        "typeof Atomics",
        "typeof __kiln_notify",
        "typeof FinalizationRegistry",
        "typeof console",
        "typeof Function('return this')().__kiln_notify",
    ],
)
def test_host_is_unreachable(run, probe: str) -> None:  # type: ignore[no-untyped-def]
    assert run(f"K.setResponse({probe})").value == "undefined"


def test_dynamic_import_fails_inside_the_script(run) -> None:  # type: ignore[no-untyped-def]
    result = run("var p = import('fs'); K.setResponse(typeof p.then)")
    assert result.value == "function"
    _still_serves(run)


def test_runtime_internals_are_not_reachable_from_k(run) -> None:  # type: ignore[no-untyped-def]
    code = """
    var found = [];
    function scan(o, path, depth) {
      if (depth > 3 || o === null || (typeof o !== 'object' && typeof o !== 'function')) return;
      Object.getOwnPropertyNames(o).forEach(function (k) {
        var d = Object.getOwnPropertyDescriptor(o, k);
        if (d.value instanceof Object && /SharedArrayBuffer|Int32Array|Uint16Array/.test(Object.prototype.toString.call(d.value))) found.push(path + '.' + k);
        if (d.value !== undefined) scan(d.value, path + '.' + k, depth + 1);
      });
    }
    scan(K, 'K', 0);
    var frozen = Object.isFrozen(K) && Object.isFrozen(K.sec);
    K.query.toString();
    K.setResponse([found, frozen, String(K.log).indexOf('notify') === -1]);
    """
    assert run(code).value == [[], True, True]


def test_typed_array_length_trap_cannot_capture_the_bridge_buffer(run) -> None:  # type: ignore[no-untyped-def]
    code = """
    var TA = Object.getPrototypeOf(Int8Array.prototype);
    var captured = null;
    Object.defineProperty(TA, 'length', { get: function () { captured = this; return 0; }, configurable: true });
    var rows = K.query('SELECT 1', []);
    K.setResponse([captured === null, rows.length]);
    """
    assert run(code).value == [True, 1]
    _still_serves(run)


def test_garbage_host_calls_are_refused_without_harm(run) -> None:  # type: ignore[no-untyped-def]
    code = """
    var r1 = K.select('bad alias; drop').run === undefined;
    var err = null;
    try { K.select("x'; DROP TABLE t").run(); } catch (e) { err = String(e); }
    K.setResponse(err);
    """
    assert run(code).value == 'Error: invalid table alias: "x\'; DROP TABLE t"'
    _still_serves(run)


def test_thrown_object_with_a_hostile_to_string_is_still_bounded(run) -> None:  # type: ignore[no-untyped-def]
    # Formatting the uncaught value runs its toString, under the same time limit
    with pytest.raises(ScriptTimeout):
        run("throw { toString: function () { while (true) {} } };", limits=SHORT)
    _still_serves(run)


def test_jobs_left_behind_never_reach_the_next_runs_host(run, pool, session) -> None:  # type: ignore[no-untyped-def]
    from runtime import Host

    # Given a run that leaves jobs behind which try the host, directly and through K
    first, second = type(session)({"who": "first"}), type(session)({"who": "second"})
    leave_behind = """
    var n = 0;
    function late() {
      try { globalThis.seen = K.session.get('who'); } catch (e) { globalThis.seen = 'refused'; }
      if (++n < 200) Promise.resolve().then(late);
    }
    Promise.resolve().then(late);
    K.setResponse('done');
    """
    assert run(leave_behind, host_=Host(session=first)).value == "done"
    # When the next run on that context reads the session
    result = run("K.setResponse([K.session.get('who'), typeof seen])", host_=Host(session=second))
    # Then it sees its own session and nothing the jobs did; they got no host at all
    assert result.value == ["second", "undefined"]
    assert first.values == {"who": "first"} and second.values == {"who": "second"}
    assert pool.discarded == 0


def test_a_log_nested_too_deep_for_the_host_is_logged_as_a_note(run) -> None:  # type: ignore[no-untyped-def]
    code = """
    var deep = {}, here = deep;
    for (var i = 0; i < 5000; i++) { here.x = {}; here = here.x; }
    var shallow = [[[1]]];
    K.log(deep); K.log(shallow); K.setResponse('ok');
    """
    result = run(code)

    assert result.value == "ok"
    assert [entry.args for entry in result.logs] == [("[a value nested deeper than 64 levels]",), ([[[1]]],)]
