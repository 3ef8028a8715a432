"""WebSocket routes."""

from django.urls import path

from console.consumers import HealthConsumer

websocket_urlpatterns = [path("ws/health/", HealthConsumer.as_asgi())]
