"""python manage.py app_import APP app.json — make an app match a definition, in one transaction."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import APIException

from console.apps.management.arguments import add_app_argument, app_argument
from console.tables.appformat import import_app


class Command(BaseCommand):
    help = "Create or alter an app's tables and KScripts to match a definition written by app_export."

    def add_arguments(self, parser: CommandParser) -> None:
        add_app_argument(parser)
        parser.add_argument("file", help="the JSON document ('-' for standard input)")
        parser.add_argument(
            "--drop-missing", action="store_true", help="also drop tables, fields, indexes and KScripts the file lacks"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_argument(options)
        try:
            if options["file"] == "-":
                document = json.load(sys.stdin)
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
