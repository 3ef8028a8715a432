"""The APP argument every management command about one app takes (its id or API key)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from console.apps.models import App
from console.apps.queries import app_by_reference


def add_app_argument(parser: ArgumentParser) -> None:
    parser.add_argument("app", help="the app's id or API key")


def app_argument(options: dict[str, Any]) -> App:
    """The app the command line names; CommandError when there is none."""
    app = app_by_reference(options["app"])
    if app is None:
        raise CommandError(f"No app with id or API key {options['app']!r}.")
    return app
