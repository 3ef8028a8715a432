"""Synchronous calls from JavaScript into Python over a SharedArrayBuffer.

mini-racer 0.14.1 exposes `mr_make_js_callback`: a native JS function that, when called,
invokes our C callback *synchronously on the isolate's thread* and only returns to JS when
that callback returns. The K API is built on that:

1. JS writes the request (a JSON string, as UTF-16 code units) into the shared buffer and
   calls the native notify function.
2. Our callback (runtime/engine.py, on the isolate thread) reads the request through a
   `memoryview`, runs the host handler there, and writes the answer into the same buffer.
   Meanwhile the thread that started the run waits for its result, so nobody else touches
   the isolate or the run's host objects (its DB connection, its transaction); the
   handler sees the caller's context variables.
3. The callback returns; JS reads the answer.

Requests and answers larger than the buffer travel in chunks (header word `more`).

Buffer layout: four int32 header words, then UTF-16 data.
    [0] what JS asks: 1 = request chunk (more follows), 2 = last request chunk,
        3 = next answer chunk
    [1] number of UTF-16 units in the data area
    [2] answer state: 0 = last chunk, 1 = more chunks follow, -1 = aborted
    [3] runs started: JS adds one as a run begins (see Engine.call's start_timeout)
"""

from __future__ import annotations

import json
from collections.abc import Callable

HEADER_BYTES = 16
REQ_MORE = 1
REQ_LAST = 2
RESP_NEXT = 3
ABORTED = -1

# JS half of the channel. Runs inside the prelude's strict-mode closure, after the
# primordials (`apply`, `ErrorCtor`, `defineProperty`, `U16`, `I32`, `fromCharCode`, `charCodeAt`,
# `JSONparse`, `JSONstringify`, `min`) were captured, so user code that rewrites built-ins
# cannot redirect it; `S` is the prelude's current run (null between runs). `notify` and
# `sab` never leave the closure.
BRIDGE_JS = r"""
const HDR = new I32(sab, 0, 4);
const DATA = new U16(sab, 16);
const CAP = (sab.byteLength - 16) >> 1;

function decodeUnits(n) {
  let out = '';
  for (let i = 0; i < n; i += 8192) {
    const k = min(8192, n - i);
    const view = new U16(sab, 16 + 2 * i, k);
    // TRICKY: an own `length` shadows %TypedArray%.prototype.length, which user code
    // could replace with a getter to capture `this` (a view on the bridge buffer).
    defineProperty(view, 'length', { value: k });
    out += apply(fromCharCode, null, view);
  }
  return out;
}

function readAnswer() {
  let text = '';
  for (;;) {
    if (HDR[2] === -1) throw new Error('host call aborted');
    text += decodeUnits(HDR[1]);
    if (HDR[2] !== 1) return text;
    HDR[0] = 3;
    notify();
  }
}

function hostCall(op, args) {
  // Jobs a script leaves behind run after its result went back: they get no host.
  if (S === null) throw new ErrorCtor('the K API can only be used while a script runs');
  const req = JSONstringify([op, args === undefined ? null : args]);
  if (typeof req !== 'string') throw new TypeError('host call arguments are not serialisable');
  const n = req.length;
  let off = 0;
  do {
    const len = min(CAP, n - off);
    for (let i = 0; i < len; i++) DATA[i] = charCodeAt(req, off + i);
    HDR[1] = len;
    HDR[0] = off + len < n ? 1 : 2;
    HDR[2] = 0;
    notify();
    if (HDR[2] === -1) throw new Error('host call aborted');
    off += len;
  } while (off < n);
  return JSONparse(readAnswer());
}
"""

Handler = Callable[[str], str]


class Channel:
    """Python half of the channel, over a memoryview of the JS SharedArrayBuffer."""

    def __init__(self, buffer: memoryview) -> None:
        self._buf = buffer
        self._hdr = buffer[:HEADER_BYTES].cast("i")
        self._capacity_units = (len(buffer) - HEADER_BYTES) // 2
        self._request_parts: list[str] = []
        self._answer = b""
        self._answer_offset = 0
        self.calls = 0

    def runs_started(self) -> int:
        return int(self._hdr[3])

    @property
    def capacity_units(self) -> int:
        return self._capacity_units

    def preload(self, text: str) -> None:
        """Place an answer in the buffer before JS runs (JS reads it without a call)."""
        self._request_parts.clear()
        self._start_answer(text)

    def abort(self) -> None:
        self._request_parts.clear()
        self._answer = b""
        self._hdr[1] = 0
        self._hdr[2] = ABORTED

    def handle(self, handler: Handler) -> None:
        """Serve one notification from JS. Never raises: garbage in, abort out."""
        try:
            kind = self._hdr[0]
            if kind in (REQ_MORE, REQ_LAST):
                units = self._hdr[1]
                if not 0 < units <= self._capacity_units:
                    self.abort()
                    return
                end = HEADER_BYTES + 2 * units
                self._request_parts.append(str(self._buf[HEADER_BYTES:end], "utf-16-le", "surrogatepass"))
                if kind == REQ_MORE:
                    self._hdr[1] = 0
                    self._hdr[2] = 0
                    return
                request = "".join(self._request_parts)
                self._request_parts.clear()
                self.calls += 1
                self._start_answer(handler(request))
            elif kind == RESP_NEXT and self._answer_offset < len(self._answer):
                self._write_chunk()
            else:
                self.abort()
        except Exception:  # noqa: BLE001 - the channel must survive any handler bug
            self.abort()

    def _start_answer(self, text: str) -> None:
        self._answer = text.encode("utf-16-le", "surrogatepass")
        self._answer_offset = 0
        self._write_chunk()

    def _write_chunk(self) -> None:
        start = self._answer_offset
        chunk = self._answer[start : start + 2 * self._capacity_units]
        self._buf[HEADER_BYTES : HEADER_BYTES + len(chunk)] = chunk
        self._answer_offset = start + len(chunk)
        self._hdr[1] = len(chunk) // 2
        self._hdr[2] = 1 if self._answer_offset < len(self._answer) else 0
        if self._answer_offset >= len(self._answer):
            self._answer = b""
            self._answer_offset = 0


# One encoder for every answer: json.dumps with options builds a new JSONEncoder per call,
# which cost a third of encoding 20 rows.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_answer(value: object) -> str:
    return _ENCODER.encode(value)
