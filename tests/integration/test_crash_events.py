"""A worker killed mid-stream ends SSE and WebSocket streams with an error event."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from support.servers import Gateway, run_gateway

LONG_TEXT = " ".join(["This sentence keeps the worker busy for a while."] * 40)


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    config = {"engines": {"piper": {"env": "shared", "preload": ["en_US-joe-medium"]}}}
    async with run_gateway(config, workdir=tmp_path_factory.mktemp("crash")) as running:
        yield running


async def up_worker(client: httpx.AsyncClient, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        (worker,) = (await client.get("/health")).json()["workers"]
        if worker["state"] == "up" and "en_US-joe-medium" in worker["resident_models"]:
            return dict(worker)
        await asyncio.sleep(0.1)
    raise TimeoutError("the worker did not come back")


async def test_sse_stream_ends_with_an_error_event(gateway: Gateway) -> None:
    speak = {"model": "tts-1", "voice": "alloy", "input": LONG_TEXT, "stream_format": "sse"}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        worker = await up_worker(client)
        events = []
        async with client.stream("POST", "/v1/audio/speech", json=speak) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(json.loads(line.removeprefix("data: ")))
                if len(events) == 1:
                    os.kill(worker["pid"], signal.SIGKILL)
        assert events[0]["type"] == "speech.audio.delta"
        assert events[-1]["type"] == "error"
        assert "unavailable" in events[-1]["error"]["message"]
        assert not any(event["type"] == "speech.audio.done" for event in events)
        await up_worker(client)  # and the supervisor brings the worker back


async def test_websocket_session_gets_an_error_event(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        worker = await up_worker(client)
    url = gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "session.update", "model": "tts-1", "voice": "alloy"}))
        await ws.send(json.dumps({"type": "text", "text": LONG_TEXT}))
        await ws.send(json.dumps({"type": "flush"}))
        killed = False
        error: dict[str, Any] | None = None
        async for message in ws:
            if isinstance(message, bytes) and not killed:
                os.kill(worker["pid"], signal.SIGKILL)
                killed = True
            elif isinstance(message, str) and json.loads(message)["type"] == "error":
                error = json.loads(message)
                break
        assert killed
        assert error is not None
        assert error["message"]
        await asyncio.wait_for(ws.wait_closed(), 30)  # the server closes after the error
        assert ws.close_code == 1011
