"""The one-command default loses nothing committed (issue 10, item 8): `./kiln run` starts
PostgreSQL with fsync, synchronous commits and full-page writes and Redis with its
append-only file; `./kiln test` keeps the fast settings. Real embedded servers in tmp_path."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from console.launcher import __main__ as launcher
from console.launcher.embedded import EmbeddedPostgres, EmbeddedRedis, redis_config_warnings

QUEUE = "kiln-durability-test"


# Start arguments per mode (unit level)


def test_run_and_services_are_durable_and_test_is_fast() -> None:
    assert (launcher.services_for("run").durable, launcher.services_for("run").var_dir) == (True, launcher.VAR)
    assert launcher.services_for("services").durable is True
    assert (launcher.services_for("test").durable, launcher.services_for("test").var_dir) == (
        False,
        launcher.VAR / "test",
    )


def test_postgres_options_per_mode(tmp_path: Path) -> None:
    assert EmbeddedPostgres(tmp_path, durable=True).server_options() == (
        "-c max_connections=200 -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    )
    assert EmbeddedPostgres(tmp_path, durable=False).server_options() == (
        "-c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )


def _options(args: list[str]) -> dict[str, str]:
    return dict(zip(args[1::2], args[2::2], strict=True))


def test_redis_arguments_per_mode(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    durable = _options(server.server_args(persist=True, maxmemory="256mb"))
    assert {k: durable[k] for k in ("--maxmemory", "--maxmemory-policy", "--save", "--appendonly")} == {
        "--maxmemory": "256mb",
        "--maxmemory-policy": "volatile-lru",
        "--save": "",
        "--appendonly": "yes",
    }
    assert (durable["--appendfsync"], durable["--appendfilename"]) == ("always", "appendonly.aof")
    fast = _options(server.server_args(persist=False, maxmemory="64mb"))
    assert (fast["--appendonly"], fast["--save"], fast["--maxmemory"], fast["--maxmemory-policy"]) == (
        "no",
        "",
        "64mb",
        "volatile-lru",
    )
    assert "--appendfsync" not in fast
    assert _options(server.server_args(persist=True, maxmemory="1gb", appendfsync="everysec"))["--appendfsync"] == (
        "everysec"
    )


@pytest.mark.parametrize(
    "maxmemory, appendfsync, message",
    [
        ("lots", "everysec", "KILN_REDIS_MAXMEMORY must be bytes or a size like 256mb, not 'lots'"),
        ("256 mb", "everysec", "KILN_REDIS_MAXMEMORY must be bytes or a size like 256mb, not '256 mb'"),
        ("256mb", "no", "KILN_REDIS_APPENDFSYNC must be one of always, everysec, not 'no'"),
    ],
)
def test_bad_redis_settings_are_refused(tmp_path: Path, maxmemory: str, appendfsync: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        EmbeddedRedis(tmp_path).server_args(persist=True, maxmemory=maxmemory, appendfsync=appendfsync)
    assert str(refused.value) == message


def test_redis_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KILN_REDIS_MAXMEMORY", raising=False)
    monkeypatch.delenv("KILN_REDIS_APPENDFSYNC", raising=False)
    assert launcher.services_for("run").redis_options() == {
        "persist": True,
        "maxmemory": "256mb",
        "appendfsync": "always",
    }
    monkeypatch.setenv("KILN_REDIS_MAXMEMORY", "1gb")
    monkeypatch.setenv("KILN_REDIS_APPENDFSYNC", "everysec")
    assert launcher.services_for("test").redis_options() == {
        "persist": False,
        "maxmemory": "1gb",
        "appendfsync": "everysec",
    }


# Real servers


@pytest.fixture
def redis_root(tmp_path: Path) -> Path:
    return tmp_path / "redis"


def crash(server: EmbeddedRedis) -> None:
    """SIGKILL: no shutdown, no final save — what a crash does."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)


def enqueue(server: EmbeddedRedis, count: int = 1) -> list[str]:
    """Real Celery messages through kombu's Redis transport, as `task.delay()` sends them."""
    # Not the current app: shared tasks of later tests must keep sending to the real broker.
    app = Celery("durability", broker=f"redis+socket://{server.socket_path}", set_as_current=False)
    try:
        return [str(app.send_task("console.ping_task", queue=QUEUE).id) for _ in range(count)]
    finally:
        app.close()


def queued_ids(server: EmbeddedRedis) -> list[str]:
    client = redis.Redis(unix_socket_path=str(server.socket_path))
    try:
        return [json.loads(raw)["headers"]["id"] for raw in client.lrange(QUEUE, 0, -1)]
    finally:
        client.close()


def test_a_queued_task_survives_a_crash_of_the_durable_redis(redis_root: Path) -> None:
    server = EmbeddedRedis(redis_root)
    server.start(persist=True, maxmemory="64mb")
    try:
        # Crashed right after the last send returned: every task Celery was told is queued.
        task_ids = enqueue(server, 20)
        crash(server)
        assert server.aof_path.exists() and not (redis_root / "dump.rdb").exists()
        server.start(persist=True, maxmemory="64mb")
        assert queued_ids(server) == task_ids[::-1]  # kombu pushes on the left
    finally:
        server.stop()


def test_the_fast_redis_keeps_nothing(redis_root: Path) -> None:
    server = EmbeddedRedis(redis_root)
    server.start(persist=False, maxmemory="64mb")
    try:
        enqueue(server)
        crash(server)
        server.start(persist=False, maxmemory="64mb")
        assert queued_ids(server) == []
        assert sorted(p.name for p in redis_root.iterdir()) == ["redis.log", "redis.sock"]
    finally:
        server.stop()


def test_a_snapshot_of_an_older_kiln_is_carried_into_the_append_only_file(redis_root: Path) -> None:
    # What earlier Kilns started: RDB snapshots only.
    server = EmbeddedRedis(redis_root)
    redis_root.mkdir(parents=True)
    old_args = server.server_args(persist=False, maxmemory="64mb")
    del old_args[old_args.index("--appendonly") : old_args.index("--appendonly") + 2]
    old_args[old_args.index("--save") + 1] = "60 1"
    old = subprocess.Popen(old_args, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not server.socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        server.process = old
        task_ids = enqueue(server)
        client = redis.Redis(unix_socket_path=str(server.socket_path))
        client.save()
        client.close()
        crash(server)
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()
    assert (redis_root / "dump.rdb").exists() and not server.aof_path.exists()

    server.start(persist=True, maxmemory="64mb")
    try:
        assert queued_ids(server) == task_ids
        assert server.aof_path.exists()
        crash(server)
        server.start(persist=True, maxmemory="64mb")  # from the append-only file now
        assert queued_ids(server) == task_ids
    finally:
        server.stop()


def test_embedded_postgres_runs_durable_or_fast_as_asked(tmp_path: Path) -> None:
    root = tmp_path / "postgres"
    durable = EmbeddedPostgres(root, durable=True)
    on = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    off = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    try:
        durable.start()
        assert durable.current_settings() == on
        assert (root / "durable").exists()  # initdb synced what it wrote
        durable.stop()

        fast = EmbeddedPostgres(root, durable=False)
        fast.start()
        assert fast.current_settings() == off
        assert not (root / "durable").exists()
        # A server left running in the other mode is restarted, after a sync of the data.
        durable.start()
        assert durable.current_settings() == on
        assert (root / "durable").exists()
        # ALTER SYSTEM cannot turn it off for the next start: the command line wins.
        import psycopg

        with psycopg.connect(durable.url("postgres"), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET synchronous_commit = off")
        durable.stop()
        durable.start()
        assert durable.current_settings() == on
    finally:
        durable.stop()


def test_stop_ends_the_redis_process(redis_root: Path) -> None:
    server = EmbeddedRedis(redis_root)
    server.start(persist=True, maxmemory="64mb")
    process: Any = server.process
    server.stop()
    assert process.poll() == 0  # a clean shutdown, after its final fsync
    assert not server.socket_path.exists()


# An external Redis: Kiln only warns


@pytest.mark.parametrize(
    "config, warnings",
    [
        ({"maxmemory": "1073741824", "maxmemory-policy": "volatile-lru", "appendonly": "yes"}, []),
        ({"maxmemory": "1073741824", "maxmemory-policy": "volatile-lfu", "appendonly": "yes"}, []),
        (
            {"maxmemory": "1073741824", "maxmemory-policy": "allkeys-lru", "appendonly": "yes"},
            ["maxmemory-policy is allkeys-lru: a full Redis may evict Celery's queued tasks; use volatile-lru"],
        ),
        (
            {"maxmemory": "0", "maxmemory-policy": "noeviction", "appendonly": "no"},
            [
                "maxmemory is 0: sessions and caches may grow without limit; set it, with volatile-lru",
                "appendonly is no: queued tasks are lost when Redis crashes; set appendonly yes",
            ],
        ),
    ],
)
def test_what_is_unsafe_in_a_redis_configuration(config: dict[str, str], warnings: list[str]) -> None:
    assert redis_config_warnings(config) == warnings


def test_an_external_redis_is_asked_for_its_configuration(redis_root: Path) -> None:
    server = EmbeddedRedis(redis_root)
    server.start(persist=False, maxmemory="64mb")
    try:
        assert launcher.external_redis_warnings(server.url()) == [
            "appendonly is no: queued tasks are lost when Redis crashes; set appendonly yes"
        ]
    finally:
        server.stop()
    server.start(persist=True, maxmemory="64mb")
    try:
        assert launcher.external_redis_warnings(server.url()) == []
    finally:
        server.stop()
    assert launcher.external_redis_warnings(server.url()) == []  # unreachable: nothing to say
