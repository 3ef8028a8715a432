"""WebSocket consumers. They authenticate, join groups and relay; services broadcast."""

from __future__ import annotations

import re

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.realtime import broadcast_async, health_group

_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class HealthConsumer(AsyncJsonWebsocketConsumer):
    """Echoes a ping back through the Redis channel layer, proving the layer works."""

    async def connect(self) -> None:
        await self.accept()

    async def receive_json(self, content: object, **kwargs: object) -> None:
        nonce = content.get("ping") if isinstance(content, dict) else None
        if not isinstance(nonce, str) or not _NONCE.match(nonce):
            await self.send_json({"error": 'send {"ping": "<1-64 letters, digits, - or _>"}'})
            return
        group = health_group(nonce)
        await self.channel_layer.group_add(group, self.channel_name)
        await broadcast_async(group, "health.pong", {"nonce": nonce})

    async def health_pong(self, event: dict[str, str]) -> None:
        await self.channel_layer.group_discard(health_group(event["nonce"]), self.channel_name)
        await self.send_json({"pong": event["nonce"], "via": "channel-layer"})
