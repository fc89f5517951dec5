"""WebSocket speech sessions: token-by-token text in, fixed pcm frames and events out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from support.servers import Gateway
from support.speech import decode_pcm, transcribe, word_error_rate

SESSION = {"type": "session.update", "model": "tts-1", "voice": "alloy", "sample_rate": 48000,
           "frame_ms": 20}  # fmt: skip
FRAME_BYTES = 48000 * 20 // 1000 * 2


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"


async def events_until(ws: ClientConnection, last: str) -> tuple[list[dict[str, Any]], bytes]:
    """Collect JSON events and audio until an event of type ``last``."""
    events: list[dict[str, Any]] = []
    audio = bytearray()
    async for message in ws:
        if isinstance(message, bytes):
            assert len(message) == FRAME_BYTES
            audio += message
            continue
        events.append(json.loads(message))
        if events[-1]["type"] in (last, "error"):
            break
    return events, bytes(audio)


async def session(gateway: Gateway) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(ws_url(gateway)) as ws:
        await ws.send(json.dumps(SESSION))
        created = json.loads(await ws.recv())
        assert created["type"] == "session.created"
        assert created["voice"] == "joe"
        yield ws


async def test_token_stream_is_spoken_in_sentences(gateway: Gateway) -> None:
    text = "Good morning, my friend. The train leaves at ten. Please do not be late."
    async for ws in session(gateway):
        for word in text.split(" "):
            await ws.send(json.dumps({"type": "text", "text": word + " "}))
        await ws.send(json.dumps({"type": "close"}))
        events, audio = await events_until(ws, "done")
    started = [e for e in events if e["type"] == "segment.started"]
    done = [e for e in events if e["type"] == "segment.done"]
    # Buffered into a few segments, not spoken word by word.
    assert 2 <= len(started) <= 5 < len(text.split())
    assert [e["index"] for e in started] == [e["index"] for e in done]
    assert " ".join(e["text"] for e in done).split() == text.split()
    offsets = [e["audio_offset_ms"] for e in started]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0
    assert events[-1] == {"type": "done", "audio_ms": len(audio) // FRAME_BYTES * 20}
    heard = await asyncio.to_thread(transcribe, decode_pcm(audio, 48000))
    assert word_error_rate(text, heard) <= 0.25


async def test_flush_speaks_unpunctuated_text_without_closing(gateway: Gateway) -> None:
    async for ws in session(gateway):
        await ws.send(json.dumps({"type": "text", "text": "hello without any punctuation"}))
        await ws.send(json.dumps({"type": "flush"}))
        events, audio = await events_until(ws, "segment.done")
        assert audio
        assert events[-1]["text"] == "hello without any punctuation"


async def test_cancel_stops_audio_at_once(gateway: Gateway) -> None:
    long_text = " ".join(["This is a long sentence that keeps the speaker busy for a while."] * 12)
    async for ws in session(gateway):
        await ws.send(json.dumps({"type": "text", "text": long_text}))
        await ws.send(json.dumps({"type": "flush"}))
        first = await ws.recv()
        while not isinstance(first, bytes):
            first = await ws.recv()
        await ws.send(json.dumps({"type": "cancel"}))
        await events_until(ws, "cancelled")
        # After the acknowledgement nothing of the cancelled speech may arrive.
        await ws.send(json.dumps({"type": "close"}))
        events, audio = await events_until(ws, "done")
        assert audio == b""
        assert [e["type"] for e in events] == ["done"]


BAD_SESSIONS = [
    ("unknown type", [SESSION, {"type": "shout"}], "unknown_type"),
    ("text before session", [{"type": "text", "text": "hi"}], "session_not_configured"),
    ("missing model", [{"type": "session.update", "voice": "alloy"}], "invalid_session"),
    ("bad voice", [{**SESSION, "voice": "gandalf"}], "invalid_argument"),
    ("unknown model", [{**SESSION, "model": "nope"}], "not_found"),
    ("bad rate", [{**SESSION, "sample_rate": 12345}], "invalid_argument"),
    ("text not a string", [SESSION, {"type": "text", "text": 5}], "invalid_message"),
    ("second session.update", [SESSION, SESSION], "invalid_message"),
    ("not json", ["{oops"], "invalid_json"),
    ("json array", ["[1, 2]"], "invalid_json"),
    ("binary frame", [b"\x00\x01"], "invalid_message"),
]


@pytest.mark.parametrize(
    ("messages", "code"), [c[1:] for c in BAD_SESSIONS], ids=[c[0] for c in BAD_SESSIONS]
)
async def test_bad_messages_get_an_error_event_and_a_clean_close(
    gateway: Gateway, messages: list[Any], code: str
) -> None:
    async with websockets.connect(ws_url(gateway)) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, str | bytes) else json.dumps(message))
        events, _ = await events_until(ws, "error")
        assert events[-1]["type"] == "error"
        assert events[-1]["code"] == code
        assert events[-1]["message"]
        await ws.wait_closed()
        assert ws.close_code == 1008
