"""The Django project: settings, URLs, ASGI/WSGI entry points, Celery app, console apps."""

from console.celery import app as celery_app

__all__ = ["celery_app"]
