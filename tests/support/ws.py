"""Speech WebSocket sessions as a voice agent holds them: greet, then stay quiet."""

from __future__ import annotations

import json

from websockets.asyncio.client import ClientConnection

from support.servers import Gateway

SESSION = {"type": "session.update", "model": "tts-1", "voice": "alloy", "sample_rate": 24000}


def speech_ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"


async def greet(ws: ClientConnection, text: str = "Hi.") -> None:
    """Configure a session, say ``text`` and wait until it has been spoken."""
    await ws.send(json.dumps(SESSION))
    await ws.send(json.dumps({"type": "text", "text": text}))
    await ws.send(json.dumps({"type": "flush"}))
    async for message in ws:
        if isinstance(message, str):
            event = json.loads(message)
            if event["type"] == "error":
                raise AssertionError(f"the session failed: {event}")
            if event["type"] == "segment.done":
                return
