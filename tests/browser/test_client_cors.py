"""A web page on another origin calls a deployed method with fetch (Cordova's WebView and
web apps do): the preflight with Authorization is answered and the call goes through."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from console.apps.models import App
from tests.browser.conftest import snap
from tests.console.test_serving import ECHO, deploy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE = """<!doctype html><html><body><h1>Other origin</h1><pre id="out">waiting</pre>
<script>
fetch(KILN + "/b2.2/" + KEY + "/echoName.json", {
  method: "POST",
  headers: {"Authorization": "Basic " + AUTH, "Content-Type": "application/x-www-form-urlencoded"},
  body: "params%5Bname%5D=Cordova",
}).then(r => r.json()).then(e => { document.getElementById("out").textContent = JSON.stringify(e.payload) + " " + e.responseCode; })
  .catch(err => { document.getElementById("out").textContent = "blocked: " + err; });
</script></body></html>"""


@pytest.fixture
def other_origin() -> Iterator[Callable[[str], str]]:
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        pages["/app.html"] = html.encode()
        return f"http://127.0.0.1:{server.server_port}/app.html"

    yield publish
    server.shutdown()
    server.server_close()


def test_a_page_on_another_origin_calls_a_deployed_method(
    app: App, owner: Any, kiln_server: Callable[..., str], other_origin: Callable[[str], str], browser: Browser
) -> None:
    deploy(app, owner, ECHO)
    base = kiln_server()
    auth = base64.b64encode(f"{app.api_key}:{app.secret_key}".encode()).decode()
    script = f'<script>var KILN = "{base}", KEY = "{app.api_key}", AUTH = "{auth}";</script>'
    url = other_origin(script + PAGE)
    context = browser.new_context(viewport={"width": 1024, "height": 400})
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_function("document.getElementById('out').textContent !== 'waiting'", timeout=15_000)
        snap(page, "cors-01-other-origin-call")
        assert page.text_content("#out") == '{"name":"Cordova"} 1'
    finally:
        context.close()
