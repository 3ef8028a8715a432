"""WebSocket consumers. They authenticate, join groups and relay; services broadcast."""

from __future__ import annotations

import json
import re
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apimethods import liveruns
from console.realtime import broadcast_async, health_group, run_group

_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Close codes of the runs socket: 4401 not signed in, 4403 not allowed on this app.
NOT_SIGNED_IN = 4401
NOT_ALLOWED = 4403
MAX_WATCHED = 16
_NOT_JSON = object()


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


class RunConsumer(AsyncJsonWebsocketConsumer):
    """Run It! of one app (/ws/apps/<id>/runs/): the live log lines of the runs this socket
    watches, and Stop. For the signed-in console user (session cookie) with the role the
    run endpoint asks for; checked again on every message, so a member removed from the
    app can no longer watch or stop.

    Sent:     {"watch": "<run id>"}  ->  {"watching": "<run id>"}
              {"stop": "<run id>"}   ->  {"stopping": "<run id>"}
    Received: {"run": "<run id>", "logs": [<entry as Run It! answers it>, ...]}
              {"run": "<run id>", "ended": true}   (no more lines; the answer has them all)
              {"error": "<why>"}  (for a bad message; the socket stays open)
    """

    app_id: int
    watched: set[str]

    async def connect(self) -> None:
        self.app_id = int(self.scope["url_route"]["kwargs"]["app_id"])
        self.watched = set()
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse("Sign in first.", NOT_SIGNED_IN)
            return
        problem = await database_sync_to_async(liveruns.access_problem)(user, self.app_id)
        if problem:
            await self.refuse(problem, NOT_ALLOWED)

    async def refuse(self, why: str, code: int) -> None:
        await self.send_json({"error": why})
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        for run_id in self.watched:
            await self.channel_layer.group_discard(run_group(self.app_id, run_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        try:
            content = json.loads(text_data) if text_data is not None else _NOT_JSON
        except ValueError:
            content = _NOT_JSON
        action, run_id = _request(content)
        if action is None:
            await self.send_json(
                {"error": 'Send {"watch": "<run id>"} or {"stop": "<run id>"} as JSON text: ' + run_id}
            )
            return
        user = self.scope["user"]
        problem = await database_sync_to_async(liveruns.access_problem)(user, self.app_id)
        if problem:
            await self.refuse(problem, NOT_ALLOWED)
            return
        if action == "stop":
            await database_sync_to_async(liveruns.request_stop)(self.app_id, run_id, user.get_username())
            await self.send_json({"stopping": run_id})
            return
        if run_id not in self.watched and len(self.watched) >= MAX_WATCHED:
            await self.send_json({"error": f"A socket watches at most {MAX_WATCHED} runs at once."})
            return
        self.watched.add(run_id)
        await self.channel_layer.group_add(run_group(self.app_id, run_id), self.channel_name)
        await self.send_json({"watching": run_id})

    async def run_logs(self, event: dict[str, Any]) -> None:
        if event["run"] in self.watched:
            await self.send_json({"run": event["run"], "logs": event["logs"]})

    async def run_ended(self, event: dict[str, Any]) -> None:
        run_id = event["run"]
        if run_id in self.watched:
            self.watched.discard(run_id)
            await self.channel_layer.group_discard(run_group(self.app_id, run_id), self.channel_name)
            await self.send_json({"run": run_id, "ended": True})


def _request(content: Any) -> tuple[str | None, str]:
    """("watch" | "stop", run id), or (None, what is wrong)."""
    if content is _NOT_JSON:
        return None, "this is not JSON text."
    if not isinstance(content, dict) or len(content) != 1:
        return None, "one key per message."
    action, run_id = next(iter(content.items()))
    if action not in ("watch", "stop"):
        return None, f"unknown request {str(action)[:40]!r}."
    if not isinstance(run_id, str) or not liveruns.RUN_ID.match(run_id):
        return None, "a run id is 8 to 64 letters, digits, - or _."
    return action, run_id
