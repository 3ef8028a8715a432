"""python manage.py app_export APP > app.json — write an app's definition as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.apps.queries import app_by_reference
from console.tables.appformat import export_app


class Command(BaseCommand):
    help = "Print an app's definition (tables, fields, relations, indexes, KScripts) as JSON (docs/app-format.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app", help="the app's id or API key")

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_by_reference(options["app"])
        if app is None:
            raise CommandError(f"No app with id or API key {options['app']!r}.")
        self.stdout.write(json.dumps(export_app(app), indent=2))
