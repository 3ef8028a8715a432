"""Builders for scheduled KScripts: an app with KScript on, methods, deploys, schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from console.schedules import services
from console.schedules.models import Schedule


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
