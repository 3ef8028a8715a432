"""python manage.py app_import APP app.json — make an app match a definition, in one transaction."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import APIException

from console.apps.models import App
from console.tables.appformat import import_app


class Command(BaseCommand):
    help = "Create or alter an app's tables to match a definition written by app_export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app", type=int, help="the app's id")
        parser.add_argument("file", help="the JSON document ('-' for standard input)")
        parser.add_argument(
            "--drop-missing", action="store_true", help="also drop tables, fields and indexes the file lacks"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = App.objects.filter(pk=options["app"]).first()
        if app is None:
            raise CommandError(f"No app with id {options['app']}.")
        try:
            if options["file"] == "-":
                document = json.load(self.stdin if hasattr(self, "stdin") else __import__("sys").stdin)
            else:
                with open(options["file"], encoding="utf-8") as handle:
                    document = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        try:
            changes = import_app(app, document, drop_missing=options["drop_missing"])
        except APIException as exc:
            raise CommandError(f"Nothing was changed: {exc.detail}") from None
        for change in changes or ["nothing to change"]:
            self.stdout.write(change)
