"""The gunicorn command line of the web process: `./kiln run` and the benchmarks use this one.

gunicorn manages the processes; each runs Kiln's own worker class
(`console.serving.worker.KilnWorker`: an event loop that buffers requests and keeps
connections alive, and thread lanes with per-app admission). `KILN_WEB_WORKERS`
processes (default: one per CPU — each process has threads, and two per CPU only added
context switches, see docs/decisions.md); the access log only when `KILN_ACCESS_LOG=1`,
since writing a line per request costs the client API measurable time.
"""

from __future__ import annotations

import os
import sys

WORKER_CLASS = "console.serving.worker.KilnWorker"


def default_workers() -> int:
    return max(2, os.cpu_count() or 1)


def gunicorn_command(
    bind: str,
    *,
    app: str = "console.wsgi:application",
    python: str = sys.executable,
    worker_class: str = WORKER_CLASS,
    workers: int | None = None,
) -> list[str]:
    count = str(workers or os.environ.get("KILN_WEB_WORKERS") or default_workers())
    command = [python, "-m", "gunicorn", app, "-b", bind, "-w", count, "-k", worker_class]
    # The arbiter's timeout only catches a wedged process (the loop beats the heartbeat
    # whatever requests are doing); invocations end at their own, shorter deadline.
    command += ["--graceful-timeout", "10", "--timeout", "60"]
    # The heartbeat file of each worker lives in memory, not on the disk.
    if os.path.isdir("/dev/shm"):
        command += ["--worker-tmp-dir", "/dev/shm"]
    if os.environ.get("KILN_ACCESS_LOG", "") in {"1", "true", "yes"}:
        command += ["--access-logfile", "-"]
    return command
