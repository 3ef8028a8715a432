"""The deployment registry: which method a client call runs.

Clients only ever see an app's live deployment. A deployment is immutable, so its
compiled methods are cached per process under the deployment id; switching the live
deployment is one row update, so a call sees either the old set or the new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from apimethods.models import Deployment
from runtime.limits import Deadline


@dataclass(frozen=True)
class CallContext:
    app_id: int
    method: str
    params: Mapping[str, Any]
    session_token: str
    timeout_s: float = 30.0
    # The app's schema version, read with the app (keys the per-process table metadata cache).
    schema_version: int | None = None
    # When the call must be answered, made once as it starts: everything the call runs
    # (nested runs, SQL) ends by then. None: `timeout_s` from when the method starts.
    deadline: Deadline | None = None


@dataclass(frozen=True)
class LiveMethod:
    alias: str
    declared_params: tuple[tuple[str, str], ...]
    invoke: Callable[[CallContext], Any]
    kind: str = ""  # the deployment's kind of method: "kscript", "apimethod"


# kind -> builder(app_id, alias, spec, siblings=all methods of the deployment) -> LiveMethod.
METHOD_BUILDERS: dict[str, Callable[..., LiveMethod]] = {}

_cache: dict[int, dict[str, LiveMethod]] = {}
_lock = threading.Lock()


def _compile(deployment_id: int) -> dict[str, LiveMethod]:
    deployment = Deployment.objects.get(pk=deployment_id)
    _register_builtin_kinds()
    methods: dict[str, LiveMethod] = {}
    specs = deployment.snapshot.get("methods", {})
    for alias, spec in specs.items():
        builder = METHOD_BUILDERS.get(spec.get("kind", ""))
        if builder is not None:
            methods[alias] = replace(builder(deployment.app_id, alias, spec, siblings=specs), kind=spec["kind"])
    return methods


def _register_builtin_kinds() -> None:
    from apimethods.actions.execute import build_live_method as build_api_method
    from apimethods.kscript import build_live_method

    METHOD_BUILDERS.setdefault("kscript", build_live_method)
    METHOD_BUILDERS.setdefault("apimethod", build_api_method)


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
