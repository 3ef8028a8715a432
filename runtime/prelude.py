"""The JS prelude: primordials, the bridge, per-run state, the run/cleanup entry points and
the built-in snapshot that keeps runs from leaking into each other.

The prelude runs once per context, in strict mode, inside one closure. It captures every
built-in it uses before any user code runs ("primordials"), so a script that rewrites
`JSON.stringify` or `Array.prototype.push` cannot steer the runtime. Each bind module
(`runtime/binds/*.py`) contributes a JS fragment that runs inside the same closure.

Isolation between runs:
- user code runs by *indirect eval* (global scope, like a plain script; `include`d code
  lands in the same scope). Bindings created by eval are configurable, so they can be
  deleted afterwards; `let`/`const` stay private to each eval.
- at the end of the prelude we snapshot every object reachable from the global object
  and the hidden intrinsics (prototype, extensibility, every own property descriptor).
  `cleanup()` runs at the start of every run, in the same V8 task (after the previous
  run's microtasks drained, before any user code): it restores changed properties,
  deletes added ones and reports `false` when something cannot be restored (a new
  non-configurable property, a frozen prototype...) — the run then returns `false`
  and the pool recycles the context. One task per run: no second thread hand-off.
- cleanup() is cheap when a run left the built-ins alone, which is nearly always. One
  `Object.assign` into a frozen object looks for added keys (string or symbol) on most
  objects at once; the global object, String.prototype, Date.prototype and objects with
  enumerable keys of their own count their keys instead. Keys a run added (a global
  `var`, a polyfill) are deleted without the full compare. Per object a function generated at snapshot time
  checks extensibility, that each accessor (and each data property that would read the
  same once deleted) is still own, and the *values* of the mutable data properties, read
  by name (no descriptor objects, no key lists; see unchanged()). Objects are compared
  in prototype-chain order. What that cannot see — attributes, a data property turned
  accessor — can only be changed through the descriptor-changing built-ins
  (`Object.defineProperty` and kin, `freeze`, `__defineGetter__`,
  `Error.captureStackTrace`...). Those are wrapped to flag the run, and a flagged run (or
  an object that fails the cheap check) gets the full descriptor compare.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.bridge import BRIDGE_JS
from runtime.errors import INTERNAL_SCRIPT

# Globals removed from the sandbox: host-ish or able to run code outside a run.
REMOVED_GLOBALS = (
    "console",
    "WebAssembly",
    "SharedArrayBuffer",
    "Atomics",
    "FinalizationRegistry",
)

HEAD_JS = r"""
const G = globalThis;
const notify = G.__kiln_notify;
delete G.__kiln_notify;
const R = Reflect, O = Object;
const apply = R.apply, ownKeys = R.ownKeys, defineProperty = O.defineProperty;
const reflectDefine = R.defineProperty, reflectDelete = R.deleteProperty;
const gOPD = O.getOwnPropertyDescriptor, getProto = O.getPrototypeOf, setProto = R.setPrototypeOf;
const isExtensible = O.isExtensible, isFrozen = O.isFrozen, freeze = O.freeze, create = O.create;
const hasOwn = O.hasOwn, objectIs = O.is, keysOf = O.keys, ownSymbols = O.getOwnPropertySymbols;
const assign = O.assign, FunctionCtor = Function;
const I32 = Int32Array, U16 = Uint16Array;
const SAB = G.SharedArrayBuffer;
const JSONparse = JSON.parse, JSONstringify = JSON.stringify;
const fromCharCode = String.fromCharCode, StringCtor = String, NumberCtor = Number;
const min = Math.min, floor = Math.floor;
const isArray = Array.isArray;
const indirectEval = G.eval;
const ErrorCtor = Error, TypeErrorCtor = TypeError;
const captureStackTrace = Error.captureStackTrace;
const bind = Function.prototype.bind, fcall = Function.prototype.call;
const uncurry = (f) => apply(bind, fcall, [f]);
const charCodeAt = uncurry(String.prototype.charCodeAt);
const strIndexOf = uncurry(String.prototype.indexOf);
const strSlice = uncurry(String.prototype.slice);
const regexpExec = uncurry(RegExp.prototype.exec);
const arrayPush = uncurry(Array.prototype.push), arrayJoin = Array.prototype.join;
const MapCtor = Map, mapGet = uncurry(Map.prototype.get), mapSet = uncurry(Map.prototype.set);
const mapHas = uncurry(Map.prototype.has);
const WeakSetCtor = WeakSet, wsHas = uncurry(WeakSet.prototype.has), wsAdd = uncurry(WeakSet.prototype.add);
const sab = new SAB(__BUFFER_BYTES__);
"""

STATE_JS = r"""
// ---- per-run state ------------------------------------------------------------------
let S = null;
function cur() {
  if (S === null) throw new ErrorCtor('the K API can only be used while a script runs');
  return S;
}

function Failure(message) {
  this.error = message;
}
Failure.prototype.toString = function () { return 'Error: ' + this.error; };
Failure.prototype.toJSON = function () { return { error: this.error }; };
freeze(Failure.prototype);
freeze(Failure);
const fail = (message) => new Failure(StringCtor(message));
const isFailure = (v) => v === false || (v !== null && typeof v === 'object' && getProto(v) === Failure.prototype);

function host(op, args) {
  const answer = hostCall(op, args);
  if (answer === null || typeof answer !== 'object') throw new ErrorCtor('bad host answer');
  if (answer.t !== undefined) throw new ErrorCtor(answer.t);
  if (answer.f !== undefined) return fail(answer.f);
  return answer.v;
}

const FRAME = /^\s*at (?:(.*?) \()?([^()\s:]+):(\d+):(\d+)\)?$/;
// Frames of user scripts only, newest first: [{fn, script, line, column}]
function userFrames(skip) {
  const holder = {};
  try { captureStackTrace(holder, skip); } catch (e) { return []; }
  const stack = holder.stack;
  const frames = [];
  if (typeof stack !== 'string' || S === null) return frames;
  let start = 0;
  while (start < stack.length) {
    let end = strIndexOf(stack, '\n', start);
    if (end < 0) end = stack.length;
    const m = regexpExec(FRAME, strSlice(stack, start, end));
    if (m !== null && mapHas(S.scripts, m[2])) {
      // Top-level code shows up as a frame named "eval" (it runs by indirect eval).
      arrayPush(frames, { fn: m[1] === undefined || m[1] === 'eval' ? null : m[1], script: mapGet(S.scripts, m[2]),
                          line: NumberCtor(m[3]), column: NumberCtor(m[4]) });
    }
    start = end + 1;
  }
  return frames;
}

const MAX_LOG_DEPTH = 64;

function deeperThan(value, limit) {
  // Iterative, so a hostile value cannot overflow the stack here either; plain indexing
  // only (the script may have replaced Array.prototype methods).
  const nodes = [value], depths = [1];
  let n = 1;
  while (n > 0) {
    n--;
    const node = nodes[n], depth = depths[n];
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    const keys = keysOf(node);
    for (let i = 0; i < keys.length; i++) {
      nodes[n] = node[keys[i]];
      depths[n] = depth + 1;
      n++;
    }
  }
  return false;
}

function plain(value) {
  // Snapshot a value the way the response would show it (result sets become arrays).
  // The host parses log entries with a recursive JSON reader: values nested deeper than
  // MAX_LOG_DEPTH are logged as a note instead.
  if (value === undefined) return null;
  try {
    const text = JSONstringify(value);
    if (text === undefined) return null;
    const copy = JSONparse(text);
    if (!deeperThan(copy, MAX_LOG_DEPTH)) return copy;
    const note = '[a value nested deeper than ' + MAX_LOG_DEPTH + ' levels]';
    if (!isArray(copy)) return note;
    for (let i = 0; i < copy.length; i++) if (deeperThan(copy[i], MAX_LOG_DEPTH - 1)) copy[i] = note;
    return copy;
  } catch (e) {
    return StringCtor(value);
  }
}

function addLog(level, args, extra, skip) {
  const st = cur();
  if (st.logs.length >= st.maxLogEntries) { st.logsDropped++; return; }
  const frames = userFrames(skip);
  const entry = { level: level, args: plain(args), line: frames.length ? frames[0].line : null,
                  script: frames.length ? frames[0].script : null };
  if (extra) {
    entry.stack = frames;
    entry.caller = frames.length ? frames[0].fn : null;
  }
  const size = JSONstringify(entry).length;
  if (st.logChars + size > st.maxLogChars) { st.logsDropped++; return; }
  st.logChars += size;
  arrayPush(st.logs, entry);
  if (st.liveLogs) hostCall('__log', entry);  // shown while the run goes on (Run It!)
}

const K = {};
const GLOBALS = create(null);
function defineGlobal(name, fn) { GLOBALS[name] = fn; }
"""

TAIL_JS = r"""
// ---- run / cleanup --------------------------------------------------------------------
function scriptName(name) {
  return name;
}

function sourceText(code, script) {
  return code + '\n//# sourceURL=' + script;
}

function evalScript(code, script) {
  evalSource(sourceText(code, script), script);
}

function evalSource(source, script) {
  // A syntax error in eval'd code is reported as script "undefined" (the sourceURL is
  // not applied); the innermost entry left on `evaluating` names the culprit.
  const st = cur();
  arrayPush(st.evaluating, script);
  indirectEval(source);
  st.evaluating.length = st.evaluating.length - 1;
}

// The sources of earlier runs on this context, by the id the host gave them: a method's
// code crosses the bridge once per context, not on every run, and V8 finds the same
// string (its hash already computed) in its eval cache. The host keeps the same map's
// keys (runtime/pool.py, Context.source) and resends a source this context lost.
let SOURCES = new MapCtor(), sourceCount = 0;
const MAX_SOURCES = __MAX_SOURCES__;

// The source to run, or undefined when the host sent only an id this context lost.
function sourceOf(inv) {
  if (inv.code === null) return mapGet(SOURCES, inv.sourceId);
  if (sourceCount >= MAX_SOURCES) { SOURCES = new MapCtor(); sourceCount = 0; }
  const source = sourceText(inv.code, inv.script);
  mapSet(SOURCES, inv.sourceId, source);
  sourceCount++;
  return source;
}

function finalState(st) {
  return { logs: st.logs, logsDropped: st.logsDropped, tooLarge: st.tooLarge,
           evaluating: st.evaluating.length ? st.evaluating[st.evaluating.length - 1] : null };
}

function run() {
  HDR[3] = HDR[3] + 1;  // started: the host can tell a slow run from a context that never got here
  // Undo what the previous run on this context left behind. Its jobs (promise reactions)
  // have run by now: V8 drains them after each task. `false`: it cannot be undone, and
  // the pool replaces this context before any user code runs in it.
  let restored = false;
  try { restored = cleanup(); } catch (e) { /* a built-in the snapshot relies on was broken */ }
  if (!restored) return false;
  const inv = JSONparse(readAnswer());
  if (S !== null) throw new ErrorCtor('a run is already active');
  const source = sourceOf(inv);
  if (source === undefined) return 0;  // nothing ran: the host sends the code again
  S = {
    params: makeParams(inv.params),
    method: inv.method,
    scripts: new MapCtor(),
    included: new MapCtor(),
    logs: [], logsDropped: 0, logChars: 0,
    maxLogEntries: inv.maxLogEntries, maxLogChars: inv.maxLogChars,
    maxResponseChars: inv.maxResponseChars, liveLogs: inv.liveLogs === true,
    response: null, hasResponse: false, typeMap: null, tooLarge: false,
    session: null, evaluating: [],
  };
  mapSet(S.scripts, inv.script, inv.method);
  const st = S;
  let finished = false;
  try {
    evalSource(source, inv.script);
    const out = { logs: st.logs, logsDropped: st.logsDropped, typeMap: st.typeMap, hasResponse: st.hasResponse };
    // The run's state, then (after a newline, which JSON text never contains) the response
    // as JSON text: the host can pass it on to the client without parsing it.
    let text = JSONstringify(out);
    if (st.hasResponse) {
      const body = JSONstringify(st.response);
      const bodyText = body === undefined ? 'null' : body;
      if (bodyText.length > st.maxResponseChars) {
        st.tooLarge = true;
        throw new ErrorCtor('response too large: ' + bodyText.length + ' characters');
      }
      text = text + '\n' + bodyText;
    }
    finished = true;
    return text;
  } finally {
    if (!finished) {
      try { hostCall('__final', finalState(st)); } catch (e) { /* the original error wins */ }
    }
    S = null;
  }
}

// Hidden intrinsics not reachable as properties of the global object.
function hiddenIntrinsics() {
  const out = [];
  const add = (f) => { try { arrayPush(out, f()); } catch (e) { } };
  add(() => getProto(function* () {}));
  add(() => getProto(async function () {}));
  add(() => getProto(async function* () {}));
  add(() => getProto((function* () {})()));
  add(() => getProto((async function* () {})()));
  add(() => getProto([][Symbol.iterator]()));
  add(() => getProto(new Map()[Symbol.iterator]()));
  add(() => getProto(new Set()[Symbol.iterator]()));
  add(() => getProto(''[Symbol.iterator]()));
  add(() => getProto(/a/[Symbol.matchAll]('')));
  add(() => getProto(Int8Array));
  add(() => getProto([].values().map((x) => x)));
  add(() => getProto(Iterator.from({ next() { return { done: true }; } })));
  add(() => gOPD(Function.prototype, 'caller').get);
  add(() => getProto(new Intl.Segmenter().segment('')));
  add(() => getProto(new Intl.Segmenter().segment('')[Symbol.iterator]()));
  add(() => getProto((function () { return arguments; })()));
  return out;
}

// DESCS keeps null-prototype descriptors to restore from; FLAT the same facts as plain
// array entries (5 per key: is-data, value|get, writable|set, enumerable, configurable),
// because reading fields of null-prototype objects is slow and cleanup() compares every key.
const OBJS = [], PROTOS = [], EXTS = [], KEYS = [], DESCS = [], FLAT = [];
// The cheap compare, per object: how many enumerable string keys and symbol keys it has,
// whether cleanup() counts them on every run (COUNTED) or leaves additions to one
// Object.assign (ASSIGN_ARGS), and its generated check of values and own keys (CHECKS).
const ENUMS = [], SYMS = [], COUNTED = [], CHECKS = [];
const ASSIGN_ARGS = [null], ASSIGNED = [-1];  // [target, ...objects]; ASSIGNED: their indexes
// Objects are listed after every object on their prototype chain, so a prototype is
// restored before the objects that inherit from it are compared (see unchanged()).
function snapshot() {
  const seen = new WeakSetCtor();
  const stack = [G];
  const hidden = hiddenIntrinsics();
  for (let i = 0; i < hidden.length; i++) arrayPush(stack, hidden[i]);
  const push = (v) => {
    if (v !== null && (typeof v === 'object' || typeof v === 'function') && !wsHas(seen, v)) arrayPush(stack, v);
  };
  const byDepth = [];
  while (stack.length) {
    const o = stack[stack.length - 1];
    stack.length = stack.length - 1;
    if (wsHas(seen, o)) continue;
    wsAdd(seen, o);
    const keys = ownKeys(o);
    for (let i = 0; i < keys.length; i++) {
      const d = gOPD(o, keys[i]);
      if (hasOwn(d, 'value')) push(d.value); else { push(d.get); push(d.set); }
    }
    push(getProto(o));
    if (isFrozen(o) && o !== G) continue;  // cannot change; nothing to restore
    let depth = 0;
    for (let p = getProto(o); p !== null; p = getProto(p)) depth++;
    while (byDepth.length <= depth) arrayPush(byDepth, []);
    arrayPush(byDepth[depth], o);
  }
  const sources = [];
  for (let d = 0; d < byDepth.length; d++) {
    for (let j = 0; j < byDepth[d].length; j++) arrayPush(sources, recordObject(byDepth[d][j]));
  }
  const make = new FunctionCtor('A', 'hasOwn', 'isExtensible', 'objectIs',
                                "'use strict';\nreturn [\n" + apply(arrayJoin, sources, [',\n']) + '];');
  const checks = make(CHECK_ARGS, hasOwn, isExtensible, objectIs);
  for (let i = 0; i < checks.length; i++) arrayPush(CHECKS, checks[i]);
}

// What a read of key k finds on o's prototype chain once o's own k is gone.
const ACCESSOR = {};
function inherited(o, k) {
  for (let p = getProto(o); p !== null; p = getProto(p)) {
    const d = gOPD(p, k);
    if (d !== undefined) return hasOwn(d, 'value') ? d.value : ACCESSOR;
  }
  return undefined;
}

// Snapshot object o; returns the source of its check (a function of o, true when the
// values and own keys the cheap compare looks at are as now). Values are read by name
// (`o["push"]`; a symbol key from CHECK_ARGS) so every read site sees one object: cheaper
// than one loop of keyed reads over objects of a hundred shapes.
const CHECK_ARGS = [];
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
// Names the generated checks bind themselves (a global of that name is read as o[...]).
const CHECK_NAMES = new MapCtor([['A', 1], ['hasOwn', 1], ['isExtensible', 1], ['objectIs', 1], ['o', 1], ['e', 1],
                                 ['arguments', 1]]);
function recordObject(o) {
  const i = OBJS.length;
  const keys = ownKeys(o);
  const descs = [], flat = [];
  for (let j = 0; j < keys.length; j++) {
    const d = gOPD(o, keys[j]);
    const isData = hasOwn(d, 'value');
    arrayPush(flat, isData, isData ? d.value : d.get, isData ? d.writable : d.set, d.enumerable, d.configurable);
    setProto(d, null);
    arrayPush(descs, d);
  }
  arrayPush(OBJS, o); arrayPush(PROTOS, getProto(o)); arrayPush(EXTS, isExtensible(o));
  arrayPush(KEYS, keys); arrayPush(DESCS, descs); arrayPush(FLAT, flat);
  const enums = keysOf(o).length;
  arrayPush(ENUMS, enums); arrayPush(SYMS, ownSymbols(o).length);
  // Object.assign into an empty null-prototype object copies every enumerable own key,
  // string or symbol, of the objects after it: one call checks most objects for added
  // keys. Objects with enumerable keys of their own, and those V8 copies slowly (the global
  // object and String.prototype are exotic, Date.prototype is in dictionary mode), have
  // their keys counted instead.
  const counted = enums !== 0 || o === G || o === StringCtor.prototype || o === G.Date.prototype;
  arrayPush(COUNTED, counted);
  if (!counted) { arrayPush(ASSIGN_ARGS, o); arrayPush(ASSIGNED, i); }
  const vals = [], keyArgs = [], owns = [], reads = [], valKeys = [], mustOwn = [];
  const key = (k) => {
    if (typeof k === 'string') return JSONstringify(k);
    arrayPush(keyArgs, k);
    return 'A[' + i + '][1][' + (keyArgs.length - 1) + ']';
  };
  for (let j = 0; j < keys.length; j++) {
    const isData = flat[5 * j], value = flat[5 * j + 1];
    if (!isData) { arrayPush(owns, 'hasOwn(o, ' + key(keys[j]) + ')'); arrayPush(mustOwn, keys[j]); continue; }
    // Data properties that are writable or configurable; the rest cannot change.
    if (!flat[5 * j + 2] && !flat[5 * j + 4]) continue;
    // A deleted data property reads differently, unless the chain holds the same value
    // (Map.length is 0 like Function.prototype.length) or a getter: then ask hasOwn.
    const below = inherited(o, keys[j]);
    const k = key(keys[j]);
    if (below === ACCESSOR || objectIs(below, value)) { arrayPush(owns, 'hasOwn(o, ' + k + ')'); arrayPush(mustOwn, keys[j]); }
    arrayPush(vals, value); arrayPush(valKeys, keys[j]);
    // The global object's bindings are read as bare names (global loads that stay cheap
    // when a run adds and deletes other globals, unlike reads of globalThis[...]); a deleted
    // one throws, and the check then fails. No other scope can hold those names: user code
    // runs by eval, whose `let`/`const` stay inside it, and never as a script of its own.
    const bare = o === G && typeof keys[j] === 'string' && regexpExec(IDENTIFIER, keys[j]) !== null &&
                 !mapHas(CHECK_NAMES, keys[j]);
    const read = bare ? keys[j] : 'o[' + k + ']', want = 'A[' + i + '][0][' + (vals.length - 1) + ']';
    const exact = typeof value === 'number' && (value !== value || value === 0);
    arrayPush(reads, exact ? 'objectIs(' + read + ', ' + want + ')' : read + ' === ' + want);
  }
  arrayPush(CHECK_ARGS, [vals, keyArgs, valKeys, mustOwn]);
  const tests = [];
  if (EXTS[i]) arrayPush(tests, 'isExtensible(o)');
  for (let j = 0; j < owns.length; j++) arrayPush(tests, owns[j]);
  for (let j = 0; j < reads.length; j++) arrayPush(tests, reads[j]);
  const body = 'return ' + (tests.length ? apply(arrayJoin, tests, [' && ']) : 'true') + ';';
  return 'function (o) { ' + (o === G ? 'try { ' + body + ' } catch (e) { return false; }' : body) + ' }';
}
// Set when a run called a built-in that can change property attributes or accessors
// (on any object: a Proxy can forward the change to a built-in): cleanup() then compares
// every descriptor. The wrappers are installed before the snapshot, so they are what
// scripts see and what cleanup() restores.
let touched = false;
function guard(holder, name) {
  const original = holder[name];
  if (typeof original !== 'function') return;
  const wrapper = { [name](...args) { touched = true; return apply(original, this, args); } }[name];
  defineProperty(wrapper, 'length', { value: original.length });
  defineProperty(holder, name, { value: wrapper, writable: true, enumerable: false, configurable: true });
}

// d: a fresh descriptor from gOPD (its fields are own); flat[at..at+4]: the snapshot's.
function sameDescriptor(d, flat, at) {
  if (d.enumerable !== flat[at + 3] || d.configurable !== flat[at + 4]) return false;
  if (flat[at]) return hasOwn(d, 'value') && objectIs(d.value, flat[at + 1]) && d.writable === flat[at + 2];
  return hasOwn(d, 'get') && d.get === flat[at + 1] && d.set === flat[at + 2];
}

// Object i as the snapshot saw it, judged without descriptor objects or key lists; keys
// a script added by assignment are deleted on the way (a global `var`, a polyfill: the
// common change, and the global object's full compare is dear). Only valid for a run that
// was not `touched`, where the only changes possible are by assignment and `delete` (or
// CreateDataProperty: class fields, eval'd declarations): a key added or redefined that
// way is enumerable (a re-added deleted key too, as built-in keys are not enumerable), so
// Object.assign or the counts see it; a deleted accessor is no longer own; a changed or
// deleted data property reads differently (reading o[k] is a plain data read: no getter
// runs), or is checked with hasOwn where it would not. `added`: the objects Object.assign
// found added keys on (see addedKeys()), which count their keys too.
function unchanged(i, added) {
  const o = OBJS[i];
  if (COUNTED[i] || added[i] === true) {
    if (ownSymbols(o).length !== SYMS[i]) return false;
    const keys = keysOf(o);
    if (keys.length !== ENUMS[i]) {
      // With no enumerable key in the snapshot, each key listed was added, or is a built-in
      // one redefined (the full compare puts that back).
      if (ENUMS[i] !== 0) return false;
      for (let j = 0; j < keys.length; j++) {
        if (isKnown(i, keys[j]) || !reflectDelete(o, keys[j])) return false;
      }
      if (o !== G) CHECKS[i] = byKeys(i);  // the global's bare-name reads do not mind
    }
  }
  return CHECKS[i](o);
}

// Whether key k is one object i had in the snapshot.
const KNOWN = [];
function isKnown(i, k) {
  if (KNOWN[i] === undefined) {
    KNOWN[i] = new MapCtor();
    for (let j = 0; j < KEYS[i].length; j++) mapSet(KNOWN[i], KEYS[i][j], true);
  }
  return mapHas(KNOWN[i], k);
}

// Put object i back as the snapshot saw it; false when that is impossible.
function restore(i) {
  let clean = true;
  const o = OBJS[i];
  if (getProto(o) !== PROTOS[i] && !setProto(o, PROTOS[i])) clean = false;
  if (EXTS[i] && !isExtensible(o)) clean = false;
  const keys = KEYS[i], descs = DESCS[i], flat = FLAT[i];
  for (let j = 0; j < keys.length; j++) {
    const d = gOPD(o, keys[j]);
    if (d === undefined || !sameDescriptor(d, flat, 5 * j)) {
      if (!reflectDefine(o, keys[j], descs[j])) clean = false;
    }
  }
  const now = ownKeys(o);
  if (now.length !== keys.length) {
    const known = new MapCtor();
    for (let j = 0; j < keys.length; j++) mapSet(known, keys[j], true);
    for (let j = 0; j < now.length; j++) {
      if (!mapHas(known, now[j]) && !reflectDelete(o, now[j])) clean = false;
    }
  }
  return clean;
}

// The same check as object i's generated one, by keyed reads: for an object a run changed.
// Scripts that patch a built-in tend to do it on every run, and each restore gives the
// object a new shape, which the generated check's named reads would miss every time.
function checkByKeys(i, o) {
  const a = CHECK_ARGS[i], vals = a[0], keys = a[2], mustOwn = a[3];
  if (EXTS[i] && !isExtensible(o)) return false;
  for (let j = 0; j < mustOwn.length; j++) if (!hasOwn(o, mustOwn[j])) return false;
  for (let j = 0; j < keys.length; j++) {
    const v = o[keys[j]], w = vals[j];
    if (v === w ? v === 0 && 1 / v !== 1 / w : v === v || w === w) return false;
  }
  return true;
}
function byKeys(i) {
  return (o) => checkByKeys(i, o);
}

// Which objects hold the keys the Object.assign check copied (a polyfill adds keys to one
// or two objects; counting the keys of every object costs more). An object that has such
// a key as a built-in one of its own is only counted for nothing.
const NONE = [];
function addedKeys(copy) {
  const keys = ownKeys(copy), found = [];
  for (let j = 1; j < ASSIGN_ARGS.length; j++) {
    for (let k = 0; k < keys.length; k++) {
      if (hasOwn(ASSIGN_ARGS[j], keys[k])) { found[ASSIGNED[j]] = true; break; }
    }
  }
  return found;
}

const RESET_REGEXP = /(?:)/;
function cleanup() {
  let clean = true;
  let full = touched;
  // Prototypes first. With every snapshotted object's prototype as it was, the value
  // reads below (a deleted key is looked up along the chain) pass through built-ins only:
  // a script's accessor or Proxy placed on a chain cannot run in the middle of a restore.
  // A changed prototype is rare: then every object gets the full descriptor compare.
  for (let i = 0; i < OBJS.length; i++) {
    if (getProto(OBJS[i]) !== PROTOS[i]) {
      full = true;
      if (!setProto(OBJS[i], PROTOS[i])) clean = false;
    }
  }
  // One call looks for added keys on most objects (see recordObject()).
  let added = NONE;
  if (!full) {
    const copy = create(null);
    ASSIGN_ARGS[0] = copy;
    apply(assign, null, ASSIGN_ARGS);
    ASSIGN_ARGS[0] = null;
    if (keysOf(copy).length !== 0 || ownSymbols(copy).length !== 0) added = addedKeys(copy);
  }
  // In chain order: an object is compared once its prototypes are as the snapshot saw them.
  for (let i = 0; i < OBJS.length; i++) {
    if (full) {
      if (!restore(i)) clean = false;
    } else if (!unchanged(i, added)) {
      if (!restore(i)) clean = false;
      if (OBJS[i] !== G) CHECKS[i] = byKeys(i);
    }
  }
  touched = false;
  regexpExec(RESET_REGEXP, '');  // forget RegExp.lastMatch / $1 of the previous run
  S = null;
  return clean;
}

// ---- install --------------------------------------------------------------------------
function deepFreeze(o) {
  const todo = [o];
  while (todo.length) {
    const x = todo[todo.length - 1];
    todo.length = todo.length - 1;
    if (x === null || (typeof x !== 'object' && typeof x !== 'function') || isFrozen(x)) continue;
    freeze(x);
    const keys = ownKeys(x);
    for (let i = 0; i < keys.length; i++) {
      const d = gOPD(x, keys[i]);
      if (hasOwn(d, 'value')) arrayPush(todo, d.value); else { arrayPush(todo, d.get); arrayPush(todo, d.set); }
    }
    const p = getProto(x);
    if (p !== O.prototype && p !== Function.prototype && p !== Array.prototype) arrayPush(todo, p);
  }
}

// Built-in methods (functions without a `prototype`), and the Intl / Temporal trees, are
// frozen: nobody legitimately adds properties to them, and frozen objects need no
// snapshot, which keeps cleanup() cheap. Constructors and prototypes stay writable
// (scripts may patch them during a run) and are restored by cleanup().
function freezeBuiltins() {
  const seen = new WeakSetCtor();
  const stack = [G];
  const hidden = hiddenIntrinsics();
  for (let i = 0; i < hidden.length; i++) arrayPush(stack, hidden[i]);
  while (stack.length) {
    const o = stack[stack.length - 1];
    stack.length = stack.length - 1;
    if (o === null || (typeof o !== 'object' && typeof o !== 'function') || wsHas(seen, o)) continue;
    wsAdd(seen, o);
    const keys = ownKeys(o);
    for (let i = 0; i < keys.length; i++) {
      const d = gOPD(o, keys[i]);
      if (hasOwn(d, 'value')) arrayPush(stack, d.value); else { arrayPush(stack, d.get); arrayPush(stack, d.set); }
    }
    arrayPush(stack, getProto(o));
    if (typeof o === 'function' && o !== Function.prototype && !hasOwn(o, 'prototype')) freeze(o);
  }
  if (G.Intl) deepFreeze(G.Intl);
  if (G.Temporal) deepFreeze(G.Temporal);
}

deepFreeze(K);
defineProperty(G, 'K', { value: K, writable: true, enumerable: false, configurable: true });
const globalNames = keysOf(GLOBALS);
for (let i = 0; i < globalNames.length; i++) {
  const fn = GLOBALS[globalNames[i]];
  deepFreeze(fn);
  defineProperty(G, globalNames[i], { value: fn, writable: true, enumerable: false, configurable: true });
}
const REMOVED = __REMOVED__;
for (let i = 0; i < REMOVED.length; i++) delete G[REMOVED[i]];
const GUARDED = [[O, ['defineProperty', 'defineProperties', 'freeze', 'seal', 'preventExtensions']],
                 [R, ['defineProperty', 'preventExtensions']],
                 [O.prototype, ['__defineGetter__', '__defineSetter__']],
                 [ErrorCtor, ['captureStackTrace']]];
for (let i = 0; i < GUARDED.length; i++) {
  for (let j = 0; j < GUARDED[i][1].length; j++) guard(GUARDED[i][0], GUARDED[i][1][j]);
}
freezeBuiltins();
snapshot();
return [run, sab];
"""


MAX_SOURCES = 64  # per context; the host mirrors the same limit


def build(bind_fragments: Iterable[str], buffer_bytes: int) -> str:
    body = (
        HEAD_JS.replace("__BUFFER_BYTES__", str(int(buffer_bytes)))
        + BRIDGE_JS
        + STATE_JS
        + "\n".join(bind_fragments)
        + TAIL_JS.replace("__REMOVED__", repr(list(REMOVED_GLOBALS))).replace("__MAX_SOURCES__", str(MAX_SOURCES))
    )
    return f"(function () {{\n'use strict';\n{body}\n}})()\n//# sourceURL={INTERNAL_SCRIPT}\n"
