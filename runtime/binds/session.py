"""K.session: values of the current client session, read like K.params and assignable.

Loaded from the host store on first use in a run; writes go straight to the store.
Without a session (scheduled runs) values live only for the run. A store that refuses a
write (a size cap, a full or unreachable Redis) raises HostError: the script sees a thrown
Error with its message, and the value it tried to store is not in K.session afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed, Misuse
from runtime.host import HostError

if TYPE_CHECKING:
    from runtime.invocation import Invocation

JS = r"""
const SESSION_METHODS = {
  has: function has(key) { const v = sessionValues()[StringCtor(key)]; return v !== undefined && v !== null && v !== ''; },
  get: function get(key) { const v = sessionValues()[StringCtor(key)]; return v === undefined ? null : v; },
  set: function set(key, value) { sessionSet(StringCtor(key), value); },
  unset: function unset(key) { sessionUnset(StringCtor(key)); },
  remove: function remove(key) { sessionUnset(StringCtor(key)); },
  delete: function (key) { sessionUnset(StringCtor(key)); },
  destroy: function destroy() { sessionClear(); },
  clear: function clear() { sessionClear(); },
};
freeze(SESSION_METHODS);
function sessionValues() {
  const st = cur();
  if (st.sessionValues === undefined) {
    const loaded = host('session.load', null);
    if (isFailure(loaded)) throw new ErrorCtor(loaded.error);
    st.sessionValues = create(null);
    const names = keysOf(loaded);
    for (let i = 0; i < names.length; i++) st.sessionValues[names[i]] = loaded[names[i]];
  }
  return st.sessionValues;
}
function sessionSet(key, value) {
  const stored = plain(value);
  const r = host('session.set', [key, stored]);
  if (isFailure(r)) throw new ErrorCtor(r.error);
  sessionValues()[key] = stored;
}
function sessionUnset(key) {
  const r = host('session.unset', key);
  if (isFailure(r)) throw new ErrorCtor(r.error);
  delete sessionValues()[key];
}
function sessionClear() {
  const r = host('session.clear', null);
  if (isFailure(r)) throw new ErrorCtor(r.error);
  cur().sessionValues = create(null);
}
const sessionHandler = {
  get(target, key) {
    if (typeof key !== 'string') return undefined;
    if (hasOwn(SESSION_METHODS, key)) return SESSION_METHODS[key];
    const v = sessionValues()[key];
    return v === undefined ? null : v;
  },
  set(target, key, value) {
    if (typeof key !== 'string' || hasOwn(SESSION_METHODS, key)) return false;
    sessionSet(key, value);
    return true;
  },
  has(target, key) { return typeof key === 'string' && key in sessionValues(); },
  deleteProperty(target, key) { if (typeof key === 'string') sessionUnset(key); return true; },
  ownKeys(target) { return keysOf(sessionValues()); },
  getOwnPropertyDescriptor(target, key) {
    const values = sessionValues();
    if (typeof key !== 'string' || !hasOwn(values, key)) return undefined;
    return { value: values[key], writable: true, enumerable: true, configurable: true };
  },
  defineProperty() { return false; },
  setPrototypeOf() { return false; },
  getPrototypeOf() { return null; },
};
freeze(sessionHandler);
const sessionProxy = new Proxy({}, sessionHandler);
defineProperty(K, 'session', { get: function () { cur(); return sessionProxy; }, enumerable: true, configurable: false });
"""


def _store(inv: Invocation) -> Any:
    return inv.host.session


def _load(inv: Invocation, _: Any) -> dict[str, Any]:
    store = _store(inv)
    if store is None:
        return dict(inv.ephemeral_session)
    try:
        return dict(store.load())
    except HostError as error:
        raise Failed(str(error)) from None


def _set(inv: Invocation, args: Any) -> None:
    key, value = args
    if not isinstance(key, str) or not key:
        raise Misuse("session keys must be non-empty strings")
    store = _store(inv)
    if store is None:
        inv.ephemeral_session[key] = value
        return
    try:
        store.set(key, value)  # the store enforces its size caps: nothing is written over one
    except HostError as error:
        raise Failed(str(error)) from None


def _unset(inv: Invocation, key: Any) -> None:
    store = _store(inv)
    if store is None:
        inv.ephemeral_session.pop(key, None)
        return
    try:
        store.unset(key)
    except HostError as error:
        raise Failed(str(error)) from None


def _clear(inv: Invocation, _: Any) -> None:
    store = _store(inv)
    if store is None:
        inv.ephemeral_session.clear()
        return
    try:
        store.clear()
    except HostError as error:
        raise Failed(str(error)) from None


BIND = Bind(
    name="session",
    js=JS,
    handlers={"session.load": _load, "session.set": _set, "session.unset": _unset, "session.clear": _clear},
    k_members=("session",),
    dts="""
  /** Values of the current client session: read and assign like properties (missing -> null). */
  readonly session: {
    [key: string]: any;
    has(key: string): boolean;
    get(key: string): any;
    set(key: string, value: any): void;
    unset(key: string): void;
    remove(key: string): void;
    delete(key: string): void;
    destroy(): void;
    clear(): void;
  };
""",
)
