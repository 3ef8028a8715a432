"""Plain globals: failed, include, md5, sha1, base64_encode, base64_decode."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed, Misuse

if TYPE_CHECKING:
    from runtime.invocation import Invocation

JS = r"""
defineGlobal('failed', function failed(value) { return isFailure(value); });
defineGlobal('include', function include(name) {
  const st = cur();
  const key = StringCtor(name);
  if (mapHas(st.included, key)) return;  // include-once: also breaks cycles
  mapSet(st.included, key, true);
  const found = host('include', key);
  if (isFailure(found)) throw new ErrorCtor(found.error);
  mapSet(st.scripts, found.script, key);
  evalScript(found.code, found.script);
});
defineGlobal('md5', function md5(text) { return host('g.md5', StringCtor(text)); });
defineGlobal('sha1', function sha1(text) { return host('g.sha1', StringCtor(text)); });
defineGlobal('base64_encode', function base64_encode(text) { return host('g.b64e', StringCtor(text)); });
defineGlobal('base64_decode', function base64_decode(text) { return host('g.b64d', StringCtor(text)); });
"""

_SCRIPT_NAME = re.compile(r"[^A-Za-z0-9_$.-]")


def script_name(name: str, taken: set[str] | None = None) -> str:
    """The name V8 reports for a user script (used in `//# sourceURL=`)."""
    safe = _SCRIPT_NAME.sub("_", name)[:100] or "script"
    return safe


def to_bytes(text: str) -> bytes:
    # Strings that came from base64_decode of binary data hold bytes as U+0000..U+00FF.
    try:
        return text.encode("utf-8", "surrogatepass")
    except UnicodeEncodeError:  # pragma: no cover - surrogatepass accepts everything
        return text.encode("latin-1")


def _include(inv: Invocation, name: Any) -> dict[str, str]:
    if not isinstance(name, str) or not name:
        raise Misuse("include() needs a script name")
    loader = inv.host.scripts
    code = loader.load(name) if loader is not None else None
    if code is None:
        raise Misuse(f"include(): no KScript method named {name!r}")
    script = inv.register_script(name)
    return {"code": code, "script": script}


def _md5(inv: Invocation, text: str) -> str:
    return hashlib.md5(to_bytes(text), usedforsecurity=False).hexdigest()


def _sha1(inv: Invocation, text: str) -> str:
    return hashlib.sha1(to_bytes(text), usedforsecurity=False).hexdigest()


def _b64encode(inv: Invocation, text: str) -> str:
    return base64.b64encode(to_bytes(text)).decode("ascii")


def _b64decode(inv: Invocation, text: str) -> str:
    try:
        raw = base64.b64decode(text.encode("ascii", "ignore"), validate=False)
    except (binascii.Error, ValueError) as error:
        raise Failed(f"base64_decode: {error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


BIND = Bind(
    name="globals",
    js=JS,
    handlers={
        "include": _include,
        "g.md5": _md5,
        "g.sha1": _sha1,
        "g.b64e": _b64encode,
        "g.b64d": _b64decode,
    },
    globals=("failed", "include", "md5", "sha1", "base64_encode", "base64_decode"),
    dts="""
/** True when `value` is a failure value returned by a K call (or `false`). */
declare function failed(value: unknown): boolean;
/** Run another KScript method's code in the current scope (once per run). */
declare function include(name: string): void;
/** Lowercase hex MD5 digest of the UTF-8 bytes of `text`. */
declare function md5(text: string): string;
/** Lowercase hex SHA-1 digest of the UTF-8 bytes of `text`. */
declare function sha1(text: string): string;
/** Base64 of the UTF-8 bytes of `text`. */
declare function base64_encode(text: string): string;
/** Decode base64; UTF-8 text when valid, else one character per byte. */
declare function base64_decode(text: string): string;
""",
)
