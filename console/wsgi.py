"""WSGI entry point: pages, the console API and the client API (served by gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django_application = get_wsgi_application()

from apimethods.client import ClientFastPath  # noqa: E402 - needs Django set up

# Client API calls and events uploads skip Django's request handling (see ClientFastPath).
application = ClientFastPath(django_application)
