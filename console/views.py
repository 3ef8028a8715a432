"""The HTML shell every console page shares; the Vite-built TypeScript app does the rest."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

ENTRY = "src/main.ts"


def _manifest_path() -> Path | None:
    for base in (Path(settings.FRONTEND_DIST), Path(settings.STATIC_ROOT)):
        candidate = base / ".vite" / "manifest.json"
        if candidate.exists():
            return candidate
    return None


@lru_cache(maxsize=4)
def _read_manifest(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def frontend_assets() -> dict[str, list[str]] | None:
    """Script and stylesheet URLs of the entry, from Vite's manifest (hashed names)."""
    path = _manifest_path()
    if path is None:
        return None
    manifest = _read_manifest(str(path), path.stat().st_mtime)
    entry = manifest.get(ENTRY)
    if entry is None:
        return None
    css = [settings.STATIC_URL + name for name in entry.get("css", [])]
    return {"scripts": [settings.STATIC_URL + entry["file"]], "styles": css}


@ensure_csrf_cookie
def shell(request: HttpRequest, **_: Any) -> HttpResponse:
    assets = frontend_assets()
    if assets is None:
        return HttpResponse(
            "The console frontend is not built. Run `./kiln run` (or `npm ci && npm run build` in frontend/).",
            status=503,
            content_type="text/plain",
        )
    ws_url = settings.KILN_WS_URL.replace("{host}", request.get_host().split(":")[0])
    return render(request, "console/shell.html", {"assets": assets, "ws_url": ws_url})


def health(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
