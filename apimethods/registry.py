"""The deployment registry: which method a client call runs.

Clients only ever see an app's live deployment. A deployment is immutable, so its
compiled methods are cached per process under the deployment id; switching the live
deployment is one row update, so a call sees either the old set or the new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apimethods.models import Deployment


@dataclass(frozen=True)
class CallContext:
    app_id: int
    method: str
    params: Mapping[str, Any]
    session_token: str


@dataclass(frozen=True)
class LiveMethod:
    alias: str
    declared_params: tuple[tuple[str, str], ...]
    invoke: Callable[[CallContext], Any]


# kind -> builder(app_id, alias, spec) -> LiveMethod. Method kinds (drag-and-drop
# API methods, KScript methods) register here when they arrive.
METHOD_BUILDERS: dict[str, Callable[[int, str, dict[str, Any]], LiveMethod]] = {}

_cache: dict[int, dict[str, LiveMethod]] = {}
_lock = threading.Lock()


def _compile(deployment_id: int) -> dict[str, LiveMethod]:
    deployment = Deployment.objects.get(pk=deployment_id)
    methods: dict[str, LiveMethod] = {}
    for alias, spec in deployment.snapshot.get("methods", {}).items():
        builder = METHOD_BUILDERS.get(spec.get("kind", ""))
        if builder is not None:
            methods[alias] = builder(deployment.app_id, alias, spec)
    return methods


def find_method(live_deployment_id: int | None, alias: str) -> LiveMethod | None:
    if live_deployment_id is None:
        return None
    methods = _cache.get(live_deployment_id)
    if methods is None:
        with _lock:
            methods = _cache.get(live_deployment_id)
            if methods is None:
                methods = _compile(live_deployment_id)
                if len(_cache) > 500:
                    _cache.clear()
                _cache[live_deployment_id] = methods
    return methods.get(alias)
