"""Per-run limits: wall-clock time, heap size, response and log caps, and a deadline helper."""

from __future__ import annotations

import time
from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class RunLimits:
    """Limits for one invocation. The caller passes values from its settings."""

    timeout_s: float = 30.0
    memory_bytes: int = 128 * MiB
    max_response_chars: int = 16 * MiB
    max_log_entries: int = 500
    max_log_chars: int = 256 * 1024
    # How long a context may take to start a run (its previous run's leftover jobs, which
    # V8 runs first) before it is declared stuck and replaced.
    cleanup_timeout_s: float = 1.0
    # A run still going after this long, and using a CPU (not waiting for SQL or a nested
    # call), has its isolate thread's CPU priority lowered (nice 19), so runaway scripts
    # only get the CPU quick calls leave over; its context is then retired after the run.
    # None: never.
    deprioritize_after_s: float | None = 0.1

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.deprioritize_after_s is not None and self.deprioritize_after_s < 0:
            raise ValueError("deprioritize_after_s must not be negative")
        if self.memory_bytes < 8 * MiB:
            raise ValueError("memory_bytes must be at least 8 MiB")


DEFAULT_LIMITS = RunLimits()


class Deadline:
    """A monotonic point in time; `remaining()` never goes below zero."""

    __slots__ = ("at",)
    # Why the deadline was brought forward (StoppableDeadline), None when it was not.
    stopped_by: str | None = None
    # How often a thread waiting for a run looks whether the deadline moved (None: it cannot).
    poll_s: float | None = None

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at


class StoppableDeadline(Deadline):
    """A deadline that someone may bring forward to now from another thread (Run It!'s
    Stop): the run then ends exactly as at a deadline (JS terminated, running SQL
    cancelled, the transaction rolled back), and fails with ScriptStopped. The engine
    waiting for the run looks every `poll_s` whether that happened."""

    __slots__ = ("stopped_by",)
    poll_s = 0.05

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.stopped_by = None

    def stop(self, reason: str) -> None:
        if self.stopped_by is None:
            self.stopped_by = reason
        self.at = min(self.at, time.monotonic())
