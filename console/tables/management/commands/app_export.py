"""python manage.py app_export APP > app.json — write an app's definition as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from console.apps.management.arguments import add_app_argument, app_argument
from console.tables.appformat import export_app


class Command(BaseCommand):
    help = "Print an app's definition (tables, fields, relations, indexes, KScripts) as JSON (docs/app-format.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_app_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_argument(options)
        self.stdout.write(json.dumps(export_app(app), indent=2))
