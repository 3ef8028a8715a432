"""Per-run Python state and the dispatcher that serves the bridge's host calls."""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runtime.binds import Failed, Misuse, handler_table
from runtime.binds.globals import script_name
from runtime.bridge import encode_answer
from runtime.host import Host, JSONText
from runtime.result import log_entries

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("kiln_runtime_depth", default=0)
_HANDLERS = handler_table()


class Invocation:
    def __init__(self, app_id: str, method: str, host: Host) -> None:
        self.app_id = app_id
        self.method = method
        self.host = host
        self.script = script_name(method)
        self.scripts: dict[str, str] = {self.script: method}
        self.ephemeral_session: dict[str, Any] = {}
        self.final_state: dict[str, Any] | None = None
        self.bridge_calls = 0
        self.bridge_s = 0.0
        self.host_errors: list[str] = []

    @property
    def depth(self) -> int:
        return _depth.get()

    @contextmanager
    def nested(self) -> Iterator[None]:
        token = _depth.set(_depth.get() + 1)
        try:
            yield
        finally:
            _depth.reset(token)

    def register_script(self, name: str) -> str:
        script = script_name(name)
        if script in self.scripts and self.scripts[script] != name:
            script = f"{script}~{len(self.scripts)}"
        self.scripts[script] = name
        return script

    def handle(self, request_text: str) -> str:
        """Serve one host call. Never raises: every outcome is an answer for JS."""
        started = time.perf_counter()
        try:
            op, args = json.loads(request_text)
            if op == "__final":
                self.final_state = args if isinstance(args, dict) else {}
                return encode_answer({"v": None})
            if op == "__log" and self.host.on_log is not None:
                self.host.on_log(log_entries([args])[0])
                return encode_answer({"v": None})
            handler = _HANDLERS.get(op)
            if handler is None:
                return encode_answer({"t": f"unknown host call {op!r}"})
            value = handler(self, args)
            if isinstance(value, JSONText):
                return f'{{"v":{value}}}'
            return encode_answer({"v": value})
        except Failed as failure:
            return encode_answer({"f": str(failure)})
        except Misuse as misuse:
            return encode_answer({"t": str(misuse)})
        except (ValueError, TypeError, KeyError) as error:
            self.host_errors.append(repr(error))
            return encode_answer({"t": f"invalid host call: {error}"})
        except Exception as error:  # noqa: BLE001 - a host bug must not kill the run loop
            self.host_errors.append(repr(error))
            return encode_answer({"f": "internal error"})
        finally:
            self.bridge_calls += 1
            self.bridge_s += time.perf_counter() - started
