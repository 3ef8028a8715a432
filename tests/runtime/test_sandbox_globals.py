"""The exact surface a script sees, and the generated .d.ts."""

from __future__ import annotations

from runtime.typings import k_members, render_dts

ECMASCRIPT = {
    "Object",
    "Function",
    "Array",
    "Number",
    "parseFloat",
    "parseInt",
    "Infinity",
    "NaN",
    "undefined",
    "Boolean",
    "String",
    "Symbol",
    "Date",
    "Promise",
    "RegExp",
    "Error",
    "AggregateError",
    "EvalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
    "globalThis",
    "JSON",
    "Math",
    "Intl",
    "ArrayBuffer",
    "Uint8Array",
    "Int8Array",
    "Uint16Array",
    "Int16Array",
    "Uint32Array",
    "Int32Array",
    "BigUint64Array",
    "BigInt64Array",
    "Uint8ClampedArray",
    "Float32Array",
    "Float64Array",
    "Float16Array",
    "DataView",
    "Map",
    "BigInt",
    "Set",
    "Iterator",
    "WeakMap",
    "WeakSet",
    "WeakRef",
    "Proxy",
    "Reflect",
    "decodeURI",
    "decodeURIComponent",
    "encodeURI",
    "encodeURIComponent",
    "escape",
    "unescape",
    "eval",
    "isFinite",
    "isNaN",
    "Temporal",
    "SuppressedError",
    "DisposableStack",
    "AsyncDisposableStack",
}

K_MEMBERS = {
    "params",
    "log",
    "error",
    "trace",
    "stackTrace",
    "JSON",
    "Types",
    "setResponse",
    "setResponseTypeMap",
    "callAPIMethod",
    "query",
    "select",
    "insert",
    "update",
    "delete",
    "sec",
    "jwt",
    "session",
    "users",
    "analytics",
}


def test_script_sees_exactly_the_kiln_globals(run) -> None:  # type: ignore[no-untyped-def]
    names = run("K.setResponse(Object.getOwnPropertyNames(globalThis))").value
    assert set(names) - ECMASCRIPT == {"K", "failed", "include", "md5", "sha1", "base64_encode", "base64_decode"}


def test_k_has_exactly_the_documented_members(run) -> None:  # type: ignore[no-untyped-def]
    assert set(run("K.setResponse(Object.getOwnPropertyNames(K))").value) == K_MEMBERS
    assert set(k_members()) == K_MEMBERS


def test_dts_declares_every_k_member_and_global() -> None:
    dts = render_dts()
    assert "declare const K: KApi;" in dts
    for member in K_MEMBERS:
        assert f"  {member}(" in dts or f"  readonly {member}:" in dts, member
    for name in ("failed", "include", "md5", "sha1", "base64_encode", "base64_decode"):
        assert f"declare function {name}(" in dts
    for absent in ("http", "csv", "ftp", "aws", "push", "FB"):
        assert f" {absent}" not in dts.replace("readonly", "")
