"""One module per K family. Each exports `BIND`: its JS fragment (run inside the prelude
closure, where `K`, `host`, `fail`, `isFailure`, `cur`, `addLog`, `defineGlobal`, `plain`
and the captured primordials are in scope), its Python handlers (op name -> function),
the names it adds to `K` and to the global object, and its TypeScript declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.invocation import Invocation

Handler = Callable[["Invocation", Any], Any]


class Failed(Exception):
    """Raised by a handler: the script receives a failure value (`failed(r)` is true)."""


class Misuse(Exception):
    """Raised by a handler: the script receives a thrown Error (API misuse)."""


@dataclass(frozen=True)
class Bind:
    name: str
    js: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    k_members: tuple[str, ...] = ()
    globals: tuple[str, ...] = ()
    dts: str = ""


def all_binds() -> tuple[Bind, ...]:
    from runtime.binds import (
        analytics,
        api,
        database,
        globals,
        json,
        jwt,
        logging,
        params,
        response,
        security,
        session,
        users,
    )

    return (
        globals.BIND,
        params.BIND,
        logging.BIND,
        json.BIND,
        response.BIND,
        api.BIND,
        database.BIND,
        security.BIND,
        jwt.BIND,
        session.BIND,
        users.BIND,
        analytics.BIND,
    )


def handler_table() -> dict[str, Handler]:
    table: dict[str, Handler] = {}
    for bind in all_binds():
        table.update(bind.handlers)
    return table
