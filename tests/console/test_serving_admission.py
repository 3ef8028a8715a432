"""Lane admission (console.serving.lanes): classification by path and the per-tenant
bookkeeping the event loop does, without threads (handlers run inline here)."""

from __future__ import annotations

from typing import Any

import pytest

from console.serving import lanes


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (b"/b2.2/abc123/getUsers.json", ("client", b"k:abc123")),
        (b"//b2.2//abc123/getUsers.json", ("client", b"k:abc123")),
        (b"/b2/abc123/x.plist?y=1", ("client", b"k:abc123")),
        (b"/api/apps/17/kscripts/3/run", ("console", b"a:17")),
        (b"/api/apps/", ("console", b"")),
        (b"/static/assets/x.js", ("console", b"")),
        (b"/login", ("console", b"")),
    ],
)
def test_requests_are_classified_by_path(path: bytes, expected: tuple[str, bytes]) -> None:
    assert lanes.classify(path) == expected


class Recorder:
    def __init__(self) -> None:
        self.refused: list[Any] = []


def lane(per_tenant: int = 2, max_waiting: int = 2, max_wait_s: float = 1.0) -> tuple[lanes.Lane, Recorder]:
    recorder = Recorder()
    config = lanes.LaneConfig(
        name="t", threads=4, per_tenant=per_tenant, max_wait_s=max_wait_s, max_waiting=max_waiting
    )
    return lanes.Lane(config, handler=lambda item: None, refuse=recorder.refused.append), recorder


def started(lane_: lanes.Lane) -> list[Any]:
    items = []
    while not lane_._work.empty():
        items.append(lane_._work.get_nowait())
    return items


def test_a_tenant_runs_at_most_its_limit_and_the_rest_wait_in_order() -> None:
    admission, recorder = lane(per_tenant=2, max_waiting=3)
    for number in range(5):
        admission.submit(b"k:a", ("a", number))
    admission.submit(b"k:b", ("b", 0))

    assert started(admission) == [("a", 0), ("a", 1), ("b", 0)]
    assert admission.queued() == 3 and recorder.refused == []

    admission.finished(b"k:a")
    assert started(admission) == [("a", 2)]
    assert admission.running == {b"k:a": 2, b"k:b": 1}


def test_beyond_the_queue_a_request_is_refused_at_once() -> None:
    admission, recorder = lane(per_tenant=1, max_waiting=1)
    for number in range(3):
        admission.submit(b"k:a", number)

    assert started(admission) == [0]
    assert recorder.refused == [2] and admission.refused == 1


def test_waiting_too_long_is_refused_and_other_tenants_are_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(lanes.time, "monotonic", lambda: clock[0])
    admission, recorder = lane(per_tenant=1, max_waiting=5, max_wait_s=2.0)
    admission.submit(b"k:a", "a-running")
    admission.submit(b"k:a", "a-waiting")
    clock[0] += 1.0
    admission.submit(b"k:a", "a-later")
    admission.submit(b"k:b", "b-running")

    clock[0] += 1.5
    admission.expire(clock[0])

    assert recorder.refused == ["a-waiting"]
    assert started(admission) == ["a-running", "b-running"]
    admission.finished(b"k:a")
    assert started(admission) == ["a-later"]


def test_finishing_the_last_request_forgets_the_tenant() -> None:
    admission, _ = lane()
    admission.submit(b"k:a", 1)
    admission.finished(b"k:a")
    assert admission.running == {} and admission.waiting == {}


def test_the_shared_tenant_is_bounded_by_the_threads_only() -> None:
    admission, recorder = lane(per_tenant=1, max_waiting=0)
    for number in range(4):
        admission.submit(lanes.SHARED_TENANT, number)
    assert started(admission) == [0, 1, 2, 3] and recorder.refused == []
