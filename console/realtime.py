"""The one place that names Channels groups and broadcasts to them."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def health_group(nonce: str) -> str:
    return f"health.{nonce}"


def run_group(app_id: int, run_id: str) -> str:
    """The watchers of one Run It! run (apimethods.liveruns); the app id keeps apps apart."""
    return f"run.{app_id}.{run_id}"


async def broadcast_async(group: str, event_type: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(group, {"type": event_type, **payload})


def broadcast(group: str, event_type: str, payload: dict[str, Any]) -> None:
    async_to_sync(broadcast_async)(group, event_type, payload)
