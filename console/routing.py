"""WebSocket routes."""

from django.urls import path

from console.consumers import HealthConsumer, RunConsumer

websocket_urlpatterns = [
    path("ws/health/", HealthConsumer.as_asgi()),
    path("ws/apps/<int:app_id>/runs/", RunConsumer.as_asgi()),
]
