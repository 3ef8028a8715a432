"""Method names: the lowerCamelCase form of a title, which clients call."""

from __future__ import annotations

import re

_WORDS = re.compile(r"[^A-Za-z0-9_]+")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def method_name(title: str) -> str:
    """'Get user by name' → 'getUserByName'; '_init_' stays '_init_'."""
    parts = [part for part in _WORDS.split(title.strip()) if part]
    if not parts:
        return ""
    first, rest = parts[0], parts[1:]
    return first[:1].lower() + first[1:] + "".join(part[:1].upper() + part[1:] for part in rest)
