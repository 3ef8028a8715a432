"""What Kiln keeps in Redis, against a real embedded Redis started with the launcher's own
arguments and a small memory limit (issue 10, item 7): everything Kiln writes that may be
evicted carries a TTL, Celery's queue carries none, so a full Redis evicts sessions and
caches but never a queued task; once nothing is left to evict, a K.session write fails
with an error the script sees, and the queue is still whole."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from django.conf import settings

import runtime
from apimethods.hosts import RedisSessionStore
from console.launcher.embedded import EmbeddedRedis
from runtime import Host, RunLimits, ScriptError

QUEUE = "kiln-memory-test"
FULL = "K.session was not stored: the server's session memory is full"


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start(persist=False, maxmemory="3mb")
    yield server
    server.stop()


@pytest.fixture
def client(small_redis: EmbeddedRedis) -> Iterator[redis.Redis]:
    made = redis.Redis(unix_socket_path=str(small_redis.socket_path))
    yield made
    made.close()


@pytest.fixture
def celery_app(small_redis: EmbeddedRedis) -> Iterator[Celery]:
    url = f"redis+socket://{small_redis.socket_path}"
    # Not the current app: shared tasks of later tests must keep sending to the real broker.
    app = Celery("memory-test", broker=url, backend=url, set_as_current=False)
    app.conf.task_default_queue = QUEUE
    yield app
    app.close()


def queued(client: redis.Redis) -> list[str]:
    return [json.loads(raw)["headers"]["id"] for raw in client.lrange(QUEUE, 0, -1)]


def run_with_session(store: RedisSessionStore, code: str) -> Any:
    limits = RunLimits(timeout_s=10, memory_bytes=64 * 1024 * 1024)
    return runtime.run_script("1", code, method_name="test", params={}, host=Host(session=store), limits=limits).value


def test_every_key_kiln_writes_carries_a_ttl_except_the_queue(
    small_redis: EmbeddedRedis, client: redis.Redis, celery_app: Celery
) -> None:
    from channels_redis.core import RedisChannelLayer
    from django.core.cache.backends.redis import RedisCache

    url = small_redis.url()
    # K.session
    RedisSessionStore(1, "layout", client=client).set("user", {"id": 5})
    # the cache, configured as in settings (throttle counts, CSV import progress)
    cache = RedisCache(url, {**settings.CACHES["default"], "LOCATION": url})
    cache.set("throttle_anon_203.0.113.5", [1.0])
    cache.set("tables:csv-import:1", 500, 3600)
    # the Channels layer, configured as in settings (Run It! logs, realtime)
    layer = RedisChannelLayer(**{**settings.CHANNEL_LAYERS["default"]["CONFIG"], "hosts": [{"address": url}]})

    async def talk() -> None:
        channel = await layer.new_channel()
        await layer.group_add("app-1", channel)
        await layer.send(channel, {"type": "run.log", "text": "hi"})
        await layer.close_pools()

    # On a thread of its own: Playwright's sync API may hold an event loop on this one.
    runner = threading.Thread(target=lambda: asyncio.run(talk()))
    runner.start()
    runner.join(30)
    # a queued Celery task, and a stored result
    task_id = celery_app.send_task("console.ping_task").id
    celery_app.backend.store_result("done-task", 1, "SUCCESS")

    without_ttl = sorted(key.decode() for key in client.scan_iter() if client.ttl(key) == -1)
    with_ttl = sorted(key.decode() for key in client.scan_iter() if client.ttl(key) > 0)

    assert without_ttl == [f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}", QUEUE]
    assert queued(client) == [task_id]
    kinds = {key.split(":")[0] for key in with_ttl}
    assert {"kiln", "asgi", "celery-task-meta-done-task"} <= kinds, with_ttl
    assert len(with_ttl) == 6, with_ttl  # session, 2 cache keys, channel + group, result


def test_sessions_are_evicted_under_the_limit_but_the_queue_never(
    client: redis.Redis, celery_app: Celery
) -> None:
    task_id = celery_app.send_task("console.ping_task").id
    # 6 MiB of sessions into a 3 MiB Redis: every write succeeds, the oldest sessions go.
    for i in range(100):
        RedisSessionStore(1, f"evict-{i}", client=client).set("blob", "x" * 60_000)
    assert client.info("stats")["evicted_keys"] > 0
    sessions = [key for key in client.scan_iter("kiln:*")]
    assert 0 < len(sessions) < 100
    assert queued(client) == [task_id]
    assert RedisSessionStore(1, "evict-99", client=client).load() == {"blob": "x" * 60_000}  # the newest stays


def test_with_nothing_left_to_evict_a_session_write_fails_cleanly_and_the_queue_is_whole(
    client: redis.Redis, celery_app: Celery
) -> None:
    first = celery_app.send_task("console.ping_task", args=["first"]).id
    RedisSessionStore(1, "before", client=client).set("kept", 1)
    # Fill the rest with queued tasks (no TTL) until Redis refuses more.
    ids = [first]
    for _ in range(20_000):
        try:
            ids.append(celery_app.send_task("console.ping_task", args=["y" * 1000]).id)
        except Exception as refused:  # noqa: BLE001 - kombu wraps Redis's OOM error
            assert "maxmemory" in str(refused)
            break
    else:
        pytest.fail("Redis never reached its memory limit")
    assert list(client.scan_iter("kiln:*")) == []  # the session was evicted to make room
    # A refused send leaves a little room (its own request buffer is freed): take the limit
    # just below what is used, so that nothing at all fits any more.
    client.config_set("maxmemory", client.info("memory")["used_memory"] - 64 * 1024)

    store = RedisSessionStore(1, "late", client=client)
    code = """
    var error = null;
    try { K.session.cart = [1, 2, 3]; } catch (e) { error = e.message; }
    K.setResponse({error: error, cart: K.session.cart});
    """
    assert run_with_session(store, code) == {"error": FULL, "cart": None}
    with pytest.raises(ScriptError, match=FULL):
        run_with_session(store, "K.session.cart = 1; K.setResponse(true);")

    assert client.exists(store.key) == 0
    with pytest.raises(Exception, match="maxmemory"):  # a new task is refused too, loudly
        celery_app.send_task("console.ping_task")
    assert queued(client) == ids[::-1]  # every task, newest first as kombu pushes them
    assert json.loads(client.lindex(QUEUE, -1))["headers"]["argsrepr"] == "['first']"  # intact
