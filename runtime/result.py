"""The frozen outcome of a run: the response (as JSON text, parsed on demand), logs,
duration and per-phase timings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class LogEntry:
    level: str  # "log" | "error" | "trace"
    args: tuple[Any, ...]
    line: int | None
    script: str | None
    stack: tuple[dict[str, Any], ...] = ()
    caller: str | None = None


@dataclass(frozen=True)
class Timings:
    checkout_s: float
    run_s: float  # includes restoring the globals after the previous run of that context
    bridge_calls: int
    bridge_s: float


@dataclass(frozen=True)
class RunResult:
    response_json: str  # the K.setResponse payload as JSON text, "null" when never set
    has_response: bool
    type_map: dict[str, str] | None
    logs: tuple[LogEntry, ...]
    logs_dropped: int
    duration_s: float
    timings: Timings

    @cached_property
    def value(self) -> Any:
        """The K.setResponse payload (JSON-compatible), None when never set."""
        return json.loads(self.response_json)


def log_entries(raw: Any) -> tuple[LogEntry, ...]:
    entries = []
    for item in raw or ():
        entries.append(
            LogEntry(
                level=str(item.get("level")),
                args=tuple(item.get("args") or ()),
                line=item.get("line"),
                script=item.get("script"),
                stack=tuple(item.get("stack") or ()),
                caller=item.get("caller"),
            )
        )
    return tuple(entries)
