"""Every test here sends its schedule tasks to this process's own queue."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_schedule_queue(schedule_queue: str) -> str:
    return schedule_queue
