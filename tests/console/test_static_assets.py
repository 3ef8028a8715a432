"""The console's built assets: served pre-compressed (brotli, gzip) and a favicon."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from django.conf import settings
from django.test import Client

DIST = Path(settings.BASE_DIR) / "frontend" / "dist"


def biggest_script() -> Path:
    manifest = json.loads((DIST / ".vite" / "manifest.json").read_text())
    files = {DIST / chunk["file"] for chunk in manifest.values() if chunk["file"].endswith(".js")}
    files |= set((DIST / "assets").glob("*.worker-*.js"))
    return max(files, key=lambda path: path.stat().st_size)


def body_of(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_scripts_are_served_as_brotli_to_browsers_that_take_it() -> None:
    script = biggest_script()
    url = "/static/" + str(script.relative_to(DIST))

    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br, zstd")

    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert body_of(response) == script.with_name(script.name + ".br").read_bytes()
    assert int(response["Content-Length"]) < script.stat().st_size / 3


def test_gzip_when_brotli_is_not_accepted_and_plain_otherwise() -> None:
    script = biggest_script()
    url = "/static/" + str(script.relative_to(DIST))

    zipped = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")
    plain = Client().get(url)

    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(body_of(zipped)) == script.read_bytes()
    assert "Content-Encoding" not in plain and body_of(plain) == script.read_bytes()


def test_the_console_has_a_favicon(db: object) -> None:
    page = Client().get("/login")
    icon = Client().get("/static/favicon.svg")

    assert b'<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page.content
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
