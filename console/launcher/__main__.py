"""`python -m console.launcher run|test|services` — see the package docstring."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from console.launcher.embedded import EmbeddedPostgres, EmbeddedRedis, redis_config_warnings
from console.launcher.web import gunicorn_command
from console.launcher.workers import celery_command

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
PY = sys.executable
DEFAULT_REDIS_MAXMEMORY = "256mb"


class Services:
    """Embedded servers started for this launch, only where no URL was configured.

    durable: data that must survive a crash (`run`, `services`): PostgreSQL with fsync and
    synchronous commits, Redis with its append-only file. `test` uses throwaway data and
    the fast settings."""

    def __init__(self, var_dir: Path, durable: bool = True) -> None:
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.var_dir = var_dir
        self.durable = durable

    def redis_options(self) -> dict[str, Any]:
        """How the embedded Redis starts (README, "Redis"): its memory limit and, when
        durable, how often its append-only file is synced."""
        from console.settings.env import env_str

        return {
            "persist": self.durable,
            "maxmemory": env_str("KILN_REDIS_MAXMEMORY", DEFAULT_REDIS_MAXMEMORY),
            "appendfsync": env_str("KILN_REDIS_APPENDFSYNC", "always"),
        }

    def start(self) -> None:
        # One launcher per data directory: a second `./kiln run` would fight over the
        # sockets and, on exit, stop servers the first one still uses.
        import fcntl

        self.var_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.var_dir / ".launcher.lock", "w")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"[kiln] another Kiln process is already using {self.var_dir}; stop it first.") from None
        if not os.environ.get("DATABASE_URL"):
            self.postgres = EmbeddedPostgres(self.var_dir / "postgres", durable=self.durable)
            started = time.monotonic()
            self.postgres.start()
            os.environ["DATABASE_URL"] = self.postgres.url()
            say(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s")
        if not os.environ.get("REDIS_URL"):
            self.redis = EmbeddedRedis(self.var_dir / "redis")
            try:
                self.redis.start(**self.redis_options())
            except ValueError as exc:
                raise SystemExit(f"[kiln] {exc}") from None
            os.environ["REDIS_URL"] = self.redis.url()
            say("embedded Redis ready")
        elif self.durable:
            for warning in external_redis_warnings(os.environ["REDIS_URL"]):
                say(f"warning: Redis at REDIS_URL: {warning} (README, Running in production)")

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def external_redis_warnings(url: str) -> list[str]:
    """Warnings about a Redis Kiln did not start; none when it cannot be asked (managed
    services often refuse CONFIG) — Kiln never changes its configuration."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        config = client.config_get("maxmemory*") | client.config_get("appendonly")
    except redis.RedisError:
        return []
    finally:
        client.close()
    return redis_config_warnings({str(k): str(v) for k, v in config.items()})


def say(message: str) -> None:
    print(f"[kiln] {message}", flush=True)


def manage(*args: str) -> None:
    subprocess.run([PY, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def spawn(name: str, args: list[str]) -> tuple[str, subprocess.Popen[bytes]]:
    # Each child gets its own process group, so stopping it also stops its workers.
    return name, subprocess.Popen(args, cwd=ROOT, start_new_session=True)


def stop_children(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, proc in children:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 20
    for _, proc in children:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


class StopFlag:
    """Becomes true on Ctrl-C / SIGTERM (or `set()`); the supervisor loops poll it."""

    def __init__(self) -> None:
        self._stopped = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self._stopped = True

    def set(self) -> None:
        self._stopped = True

    def __bool__(self) -> bool:
        return self._stopped


def services_for(command: str) -> Services:
    """`test` gets throwaway servers under var/test/ with the fast settings; `run` and
    `services` share var/, whose data must survive a crash."""
    if command == "test":
        return Services(VAR / "test", durable=False)
    return Services(VAR, durable=True)


def command_run(args: argparse.Namespace) -> int:
    services = services_for("run")
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stop = StopFlag()
    try:
        services.start()
        manage("migrate", "--noinput", "-v", "0")
        manage("collectstatic", "--noinput", "-v", "0")
        manage("ensure_admin")
        host, port, ws_port = args.host, args.port, args.ws_port
        os.environ.setdefault("KILN_WS_URL", f"ws://{{host}}:{ws_port}")
        children.append(spawn("web", gunicorn_command(f"{host}:{port}", python=PY)))
        children.append(spawn("ws", [PY, "-m", "daphne", "-b", host, "-p", str(ws_port), "console.asgi:application"]))
        children.append(
            spawn(
                "worker",
                celery_command("worker", "--concurrency", os.environ.get("KILN_WORKER_CONCURRENCY", "2"), python=PY),
            )
        )
        children.append(spawn("beat", celery_command("beat", python=PY)))
        say(f"console: http://{host}:{port}/   (Ctrl-C stops everything)")
        while not stop:
            for name, proc in children:
                if proc.poll() is not None:
                    say(f"{name} exited with code {proc.returncode}; stopping")
                    stop.set()
            time.sleep(0.3)
        return 0
    finally:
        say("stopping…")
        stop_children(children)
        services.stop()
        say("stopped")


def command_test(args: argparse.Namespace) -> int:
    services = services_for("test")
    failures: list[str] = []
    try:
        services.start()
        steps: list[tuple[str, list[str], Path]] = [
            ("ruff", [PY, "-m", "ruff", "check", "."], ROOT),
            ("frontend", ["npm", "test", "--silent"], ROOT / "frontend"),
            ("pytest", [PY, "-m", "pytest", *(args.pytest_args or ["-n", "2"])], ROOT),
        ]
        for name, cmd, cwd in steps:
            say(f"── {name}: {' '.join(cmd)}")
            if subprocess.run(cmd, cwd=cwd).returncode != 0:
                failures.append(name)
    finally:
        services.stop()
    if failures:
        say(f"FAILED: {', '.join(failures)}")
        return 1
    say("all checks passed")
    return 0


def command_services(_args: argparse.Namespace) -> int:
    """Start only the embedded servers and wait (for benchmarks and manual work)."""
    services = services_for("services")
    stop = StopFlag()
    try:
        services.start()
        say(f"DATABASE_URL={os.environ['DATABASE_URL']}")
        say(f"REDIS_URL={os.environ['REDIS_URL']}")
        while not stop:
            time.sleep(0.3)
    finally:
        services.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="kiln")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Kiln")
    run.add_argument("--host", default=os.environ.get("KILN_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("KILN_PORT", "8000")))
    run.add_argument("--ws-port", type=int, default=int(os.environ.get("KILN_WS_PORT", "8001")))
    run.set_defaults(func=command_run)
    test = sub.add_parser("test", help="run every check")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=command_test)
    services = sub.add_parser("services", help="start only the embedded servers")
    services.set_defaults(func=command_services)
    args = parser.parse_args()
    try:
        return int(args.func(args))
    except subprocess.CalledProcessError as exc:
        say(f"a set-up step failed (exit {exc.returncode}): {' '.join(map(str, exc.cmd))}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
