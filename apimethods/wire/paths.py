"""Routing of client RPC paths: ``/b2.2/{apiKey}/{methodAlias}.{format}`` and its lenient variants.

Real clients send ``//`` (the Swift SDK before 2019 joined its base URL with an extra
slash), a trailing ``/``, older version segments (``b2``, ``b2.1``) or no version segment at
all (the PHP library). All of them route to the same method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Version segments accepted in front of the API key; ``None`` stands for "no segment".
VERSION_SEGMENTS = frozenset({"b2.2", "b2.1", "b2"})

_METHOD_RE = re.compile(r"[A-Za-z0-9_]+")
# Keys seen in the wild are 32 lowercase alphanumerics or UUIDs; anything built from URL
# "unreserved" characters is let through so the caller answers "not authorised" itself.
_API_KEY_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")


@dataclass(frozen=True, slots=True)
class ClientPath:
    api_key: str
    method: str
    #: The text after the last dot of the last segment, as sent ("" when there is none).
    #: Deciding that an unknown format means response code 8 is the caller's job.
    format: str
    #: The version segment as sent, or ``None`` when the path had none.
    version: str | None


def parse_client_path(path: str) -> ClientPath | None:
    """Split a client RPC path into API key, method alias and format, or ``None`` if it is not one."""
    segments = [segment for segment in path.split("/") if segment]
    version: str | None
    if len(segments) == 3 and segments[0] in VERSION_SEGMENTS:
        version, api_key, last = segments
    elif len(segments) == 2 and segments[0] not in VERSION_SEGMENTS:
        version = None
        api_key, last = segments
    else:
        return None

    method, dot, fmt = last.rpartition(".")
    if not dot:
        method, fmt = last, ""
    if _METHOD_RE.fullmatch(method) is None or _API_KEY_RE.fullmatch(api_key) is None:
        return None
    return ClientPath(api_key=api_key, method=method, format=fmt, version=version)
