"""Typed failures of a KScript run, and the one place that turns V8's raw error text into them.

mini-racer reports an uncaught exception as text shaped like::

    <script>:<line>: <message>
    <source line>
    <spaces>^^^

    <stack, one "    at ..." line per frame>

`convert_engine_error` parses that text once; every caller gets a typed exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

INTERNAL_SCRIPT = "kiln-runtime"

_HEADER = re.compile(r"^(?P<script>[^\n:]*):(?P<line>\d+): (?P<message>.*)$")
_FRAME = re.compile(r"^\s*at (?:(?P<fn>.*?) \()?(?P<script>[^()\s:]+):(?P<line>\d+):(?P<col>\d+)\)?$")


class ScriptFailure(Exception):
    """Base of every error a script run can raise."""

    def __init__(self, message: str, *, logs: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.logs = logs


class ScriptError(ScriptFailure):
    """The script threw (or misused the API). Carries the user's location."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        line: int | None = None,
        column: int | None = None,
        stack: str = "",
        logs: tuple[Any, ...] = (),
    ) -> None:
        super().__init__(message, logs=logs)
        self.method = method
        self.line = line
        self.column = column
        self.stack = stack

    def __str__(self) -> str:
        where = f"{self.method}:{self.line}:{self.column}" if self.line else self.method
        return f"{self.message} ({where})" if where else self.message


class ScriptSyntaxError(ScriptError):
    """The code does not parse."""


class ScriptTimeout(ScriptFailure):
    """The run exceeded its wall-clock limit."""


class ScriptStopped(ScriptTimeout):
    """Someone stopped the run (Run It!'s Stop); the message says who."""


class ScriptMemoryExceeded(ScriptFailure):
    """The run exceeded its heap limit; its context was discarded."""


class ScriptResponseTooLarge(ScriptFailure):
    """The value passed to K.setResponse serialises to more than the allowed size."""


class EngineBroken(ScriptFailure):
    """The V8 context stopped answering; it was discarded. Not the script's fault alone."""


@dataclass(frozen=True)
class RawEngineError(Exception):
    """What the engine saw, before conversion: mini-racer's error type code and text."""

    kind: str  # "execute" | "parse" | "oom" | "terminated" | "timeout"
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Location:
    script: str
    line: int | None
    column: int | None


def _caret_column(lines: list[str]) -> int | None:
    for candidate in lines[1:3]:
        stripped = candidate.strip()
        if stripped and set(stripped) == {"^"}:
            return candidate.index("^") + 1
    return None


def parse_error_text(text: str) -> tuple[str, Location, str]:
    """Split mini-racer's error text into (message, location, stack)."""
    head, _, stack = text.partition("\n\n")
    lines = head.split("\n")
    match = _HEADER.match(lines[0]) if lines else None
    if match is None:
        return text.strip(), Location("", None, None), stack.strip()
    message = match.group("message")
    location = Location(match.group("script"), int(match.group("line")), _caret_column(lines))
    return message, location, stack.rstrip()


def first_user_frame(stack: str, user_scripts: set[str]) -> Location | None:
    for raw in stack.split("\n"):
        frame = _FRAME.match(raw)
        if frame and frame.group("script") in user_scripts:
            return Location(frame.group("script"), int(frame.group("line")), int(frame.group("col")))
    return None


def convert_engine_error(
    error: RawEngineError,
    *,
    method: str,
    user_scripts: dict[str, str],
    logs: tuple[Any, ...] = (),
) -> ScriptFailure:
    """The single conversion point from engine-level errors to typed script failures.

    `user_scripts` maps a sanitised script name (as V8 reports it) to the user's name for it.
    """
    if error.kind == "timeout":
        return ScriptTimeout(error.text or "script exceeded its time limit", logs=logs)
    if error.kind == "oom":
        return ScriptMemoryExceeded(error.text or "script exceeded its memory limit", logs=logs)
    if error.kind == "response_too_large":
        return ScriptResponseTooLarge(error.text, logs=logs)
    if error.kind == "broken":
        return EngineBroken(error.text, logs=logs)
    if error.kind == "terminated":
        return ScriptTimeout(error.text or "script was terminated", logs=logs)
    message, location, stack = parse_error_text(error.text)
    names = set(user_scripts)
    frame = first_user_frame(stack, names)
    if frame is not None and (
        location.script not in names or (frame.script, frame.line) == (location.script, location.line)
    ):
        # The stack's column points at the failing expression; the caret at its statement.
        location = frame
    stack = "\n".join(line for line in stack.split("\n") if INTERNAL_SCRIPT not in line and "(<anonymous>)" not in line)
    script = user_scripts.get(location.script, method)
    in_user_code = location.script in names
    cls = ScriptSyntaxError if message.startswith("SyntaxError") else ScriptError
    return cls(
        message,
        method=script,
        line=location.line if in_user_code else None,
        column=location.column if in_user_code else None,
        stack=stack,
        logs=logs,
    )
