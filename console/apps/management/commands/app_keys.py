"""python manage.py app_keys APP [--api-key K] [--secret-key S] — show or set an app's keys.

Setting them to the ones an existing Kumulos app was built with lets that app's unchanged
clients call Kiln (docs/kumulos-clients.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from console.apps import services
from console.apps.management.arguments import add_app_argument, app_argument


class Command(BaseCommand):
    help = "Print an app's API key and secret key, or set them to an existing Kumulos app's keys."

    def add_arguments(self, parser: CommandParser) -> None:
        add_app_argument(parser)
        parser.add_argument("--api-key", help="the API key the clients were built with")
        parser.add_argument("--secret-key", help="the secret key the clients were built with")

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_argument(options)
        if options["api_key"] is not None or options["secret_key"] is not None:
            try:
                app = services.set_keys(app, api_key=options["api_key"], secret_key=options["secret_key"])
            except ValidationError as exc:
                detail = exc.detail if isinstance(exc.detail, dict) else {"keys": exc.detail}
                raise CommandError(
                    "; ".join(f"{field}: {' '.join(str(m) for m in messages)}" for field, messages in detail.items())
                ) from None
        self.stdout.write(f"api key:    {app.api_key}\nsecret key: {app.secret_key}\n")
