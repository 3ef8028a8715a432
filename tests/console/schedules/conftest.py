"""Builders for scheduled KScripts: an app with KScript on, methods, deploys, schedules."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

from apimethods import services as method_services
from apimethods.hosts import redis_client
from console.apps import services as app_services
from console.apps.models import App
from console.schedules import services
from console.schedules.models import Schedule
from tests.fixtures.servers import ROOT, stop


@pytest.fixture
def kapp(app: App) -> App:
    """The cast's app with KScript switched on."""
    return app_services.set_platform_flags(app, kscript_enabled=True)


@pytest.fixture
def make_method() -> Callable[..., Any]:
    """make_method(app, "Nightly cleanup", code, params=[{"name": "n", "type": "integer"}])"""

    def build(
        app: App, title: str, code: str = "K.setResponse(1);", *, params: Any = (), returns: str = "objects"
    ) -> Any:
        return method_services.create_kscript(
            app, None, title=title, return_type=returns, params=list(params), code=code
        ).method

    return build


@pytest.fixture
def deploy() -> Callable[[App], Any]:
    return lambda app: method_services.deploy_app(app, None)


@pytest.fixture
def make_schedule() -> Callable[..., Schedule]:
    """make_schedule(app, method="tick", kind="minute", **fields)"""

    def build(app: App, method: str, **fields: Any) -> Schedule:
        values = {"name": fields.pop("name", f"{method} schedule"), "method": method, "kind": "minute", **fields}
        return services.create_schedule(app, None, values)

    return build


# Each test process has its own schedule queue, so its workers never take another
# process's ticks and runs (tests.fixtures.servers does the same for the default queue).
SCHEDULE_QUEUE = f"kiln-test-schedules-{os.getpid()}"


@pytest.fixture(autouse=True)
def schedule_queue(settings: Any) -> str:
    settings.KILN_SCHEDULE_QUEUE = SCHEDULE_QUEUE
    return SCHEDULE_QUEUE


def database_url_for_tests() -> str:
    from django.conf import settings
    from django.db import connection

    return urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path="/" + connection.settings_dict["NAME"]))


def start_celery(command: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """`celery worker` / `celery beat` on the test database and this process's queue."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", command, "-l", "warning", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "DATABASE_URL": database_url_for_tests(),
            "KILN_SCHEDULE_QUEUE": SCHEDULE_QUEUE,
            **env,
        },
    )


def start_schedule_worker(**env: str) -> subprocess.Popen[bytes]:
    """A worker as `./kiln run` starts one (prefork, two processes), on the schedule queue."""
    name = f"{SCHEDULE_QUEUE}-{next(_workers)}@%h"
    return start_celery("worker", "-P", "prefork", "-c", "2", "-Q", SCHEDULE_QUEUE, "-n", name, **env)


_workers = itertools.count(1)


@pytest.fixture(scope="session")
def schedule_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[subprocess.Popen[bytes]]:
    with django_db_blocker.unblock():
        proc = start_schedule_worker()
    try:
        yield proc
    finally:
        stop(proc)
        redis_client().delete(SCHEDULE_QUEUE)


@pytest.fixture
def start_beat(tmp_path: Any) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start a real beat with the database scheduler, as `./kiln run` does."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        proc = start_celery(
            "beat",
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile",
            "",
            "-s",
            str(tmp_path / "beat-schedule"),
            **env,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc)


T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 60.0, what: str = "the condition") -> T:
    """Poll `check` until it returns something truthy (worker and beat run elsewhere)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
