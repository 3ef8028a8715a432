"""Channels and Celery, proven through real servers on the real Redis."""

from __future__ import annotations

import json
import subprocess
import uuid

from websockets.sync.client import connect

from console.tasks import ping_task


def test_websocket_ping_round_trips_through_the_redis_channel_layer(daphne_server: str) -> None:
    nonce = uuid.uuid4().hex
    with connect(f"{daphne_server}/ws/health/", origin="http://127.0.0.1") as ws:
        ws.send(json.dumps({"ping": nonce}))
        reply = json.loads(ws.recv(timeout=10))
    assert reply == {"pong": nonce, "via": "channel-layer"}


def test_websocket_rejects_a_malformed_ping_with_a_message(daphne_server: str) -> None:
    with connect(f"{daphne_server}/ws/health/", origin="http://127.0.0.1") as ws:
        ws.send(json.dumps({"ping": "no spaces allowed"}))
        reply = json.loads(ws.recv(timeout=10))
    assert "error" in reply


def test_task_is_executed_by_a_real_celery_worker(celery_worker_process: subprocess.Popen[bytes]) -> None:
    nonce = uuid.uuid4().hex
    result = ping_task.delay(nonce).get(timeout=60)
    assert result["pong"] == nonce
    assert result["pid"] != str(__import__("os").getpid())
