"""The gunicorn command line of the web process: `./kiln run` and the benchmarks use this one.

Sync workers (DESIGN "Serving speed"); `KILN_WEB_WORKERS` of them (default: two per CPU, as
requests wait on PostgreSQL and V8 threads part of the time); the access log only when
`KILN_ACCESS_LOG=1`, since writing a line per request costs the client API measurable time.
"""

from __future__ import annotations

import os
import sys


def default_workers() -> int:
    return max(2, 2 * (os.cpu_count() or 1))


def gunicorn_command(bind: str, *, app: str = "console.wsgi:application", python: str = sys.executable) -> list[str]:
    workers = os.environ.get("KILN_WEB_WORKERS") or str(default_workers())
    command = [python, "-m", "gunicorn", app, "-b", bind, "-w", workers, "--graceful-timeout", "10"]
    # The heartbeat file of each worker lives in memory, not on the disk.
    if os.path.isdir("/dev/shm"):
        command += ["--worker-tmp-dir", "/dev/shm"]
    if os.environ.get("KILN_ACCESS_LOG", "") in {"1", "true", "yes"}:
        command += ["--access-logfile", "-"]
    return command
