"""Playwright driving Debian's Chromium against Django's live server.

Screenshots of every step worth looking at go to test-results/screenshots/; a failing
test also saves one of the page as it was.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

# Django's live server runs in a thread; Playwright's sync API runs an event loop in
# this one, which Django's async-safety check would otherwise refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str:
    path = os.environ.get("KILN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: ./kiln test installs Debian's chromium (or set KILN_CHROMIUM).")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"FAILED-{item.name}.png"), full_page=True)


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    # Leaving the page first sends what its unload handlers send (the IDE saves its draft)
    # while the browser is still there to send it.
    try:
        page.goto("about:blank", timeout=5_000)
    except Exception:  # noqa: BLE001 - a page that will not leave is closed all the same
        pass
    _wait_for_requests_to_end(live_server)
    context.close()
    _wait_for_requests_to_end(live_server)


def _wait_for_requests_to_end(live_server: Any, within_s: float = 10.0, quiet_s: float = 0.1) -> None:
    """Let the live server finish what the browser sent last (an autosave, a poll).

    The server goes on with a request after the browser context is gone; the test database
    is emptied right after this fixture, and its TRUNCATE beside that request's transaction
    can deadlock, failing this test and leaving rows behind for the next. A request on a
    new connection may still be waiting to be accepted: the server must stay idle for
    `quiet_s` before the test ends.
    """
    httpd = live_server.thread.httpd
    deadline = time.monotonic() + within_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        busy = [thread for thread in list(getattr(httpd, "_threads", ())) if thread.is_alive()]
        if busy:
            quiet_since = None
            for thread in busy:
                thread.join(max(0.0, deadline - time.monotonic()))
            continue
        if quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.02)


def snap(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, username: str = "olivia") -> None:
    """Sign in through the login form and wait for the console shell."""
    from django.core.cache import cache

    from console.accounts.throttling import LoginThrottle
    from tests.fixtures.accounts import PASSWORD

    # The browser tests of one process sign in from 127.0.0.1 more often than the sign-in
    # throttle allows a minute (20): each starts with the budget of a new visitor.
    cache.delete_many(
        [LoginThrottle.cache_format % {"scope": LoginThrottle.scope, "ident": ip} for ip in ("127.0.0.1", "::1")]
    )
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)
