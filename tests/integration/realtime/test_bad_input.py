"""Whatever a client sends wrong gets an error event with a code, the field and its event
id, and the session goes on; every event is checked against the SDK's schema."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import websockets

from support.scripted_llm import ScriptedLlm, TextReply
from support.servers import Gateway

from .conftest import Events, silence

APPEND = {"type": "input_audio_buffer.append", "audio": base64.b64encode(silence(0.05)).decode()}
BAD = [
    ("not json", "{oops", "invalid_json", None),
    ("not an object", "[1, 2]", "invalid_type", None),
    ("unknown type", {"type": "response.explode"}, "invalid_value", "type"),
    ("unknown field", {"type": "response.cancel", "bogus": 1}, "unknown_parameter", "bogus"),
    (
        "unknown format",
        {"type": "session.update",
         "session": {"type": "realtime", "audio": {"input": {"format": {"type": "audio/mp3"}}}}},
        "invalid_value", "session.audio.input.format.type",
    ),
    (
        "unknown voice",
        {"type": "session.update",
         "session": {"type": "realtime", "audio": {"output": {"voice": "nobody"}}}},
        "invalid_argument", "session.audio.output.voice",
    ),
    (
        "unknown transcription model",
        {"type": "session.update",
         "session": {"type": "realtime",
                     "audio": {"input": {"transcription": {"model": "nope-1"}}}}},
        "not_found", "session.audio.input.transcription.model",
    ),
    (
        "language the model cannot transcribe",
        {"type": "session.update",
         "session": {"type": "realtime",
                     "audio": {"input": {"transcription": {"model": "whisper-1",
                                                           "language": "fr"}}}}},
        "invalid_argument", "session.audio.input.transcription.language",
    ),
    (
        "other session type",
        {"type": "session.update", "session": {"type": "transcription"}},
        "invalid_value", "session.type",
    ),
    ("not base64", {"type": "input_audio_buffer.append", "audio": "@@@"}, "invalid_value", "audio"),
    (
        "odd pcm bytes",
        {"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x00").decode()},
        "invalid_audio", "audio",
    ),
    ("empty commit", {"type": "input_audio_buffer.commit"}, "input_audio_buffer_commit_empty",
     None),
    ("cancel with no response", {"type": "response.cancel"}, "response_cancel_not_active", None),
    ("unknown item", {"type": "conversation.item.retrieve", "item_id": "item_x"},
     "item_not_found", "item_id"),
    ("mcp tool", {"type": "session.update",
                  "session": {"type": "realtime", "tools": [{"type": "mcp", "server_label": "x"}]}},
     "unsupported_value", "session.tools[0].type"),
]  # fmt: skip


def url(gateway: Gateway, query: str = "") -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/realtime" + query


@pytest.mark.parametrize(
    ("message", "code", "param"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
async def test_a_bad_event_gets_an_error_and_the_session_goes_on(
    rt_gateway: Gateway, message: Any, code: str, param: str | None
) -> None:
    async with websockets.connect(url(rt_gateway)) as ws:
        events = Events(ws.recv)
        await events.next()  # session.created
        if isinstance(message, dict):
            message = json.dumps({**message, "event_id": "evt_bad"})
        await ws.send(message)
        error = await events.next()
        assert error["type"] == "error"
        assert error["error"]["code"] == code
        assert error["error"]["param"] == param
        assert error["error"]["message"]
        if message.startswith("{") and "event_id" in message:
            assert error["error"]["event_id"] == "evt_bad"
        # The session goes on.
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        assert (await events.next())["type"] == "session.updated"


async def test_oversize_appends_and_binary_frames_are_refused(rt_gateway: Gateway) -> None:
    async with websockets.connect(url(rt_gateway, "?intent=transcription")) as ws:
        events = Events(ws.recv)
        await events.next()
        await ws.send(b"\x00\x01")
        assert (await events.next())["error"]["code"] == "invalid_type"
        # 121 s of audio in one append: past the uncommitted-audio bound (120 s).
        big = {
            "type": "input_audio_buffer.append",
            "audio": base64.b64encode(silence(121)).decode(),
        }
        await ws.send(json.dumps(big))
        error = (await events.next())["error"]
        assert error["code"] == "input_audio_buffer_full"
        await ws.send(json.dumps({"type": "response.create"}))
        error = (await events.next())["error"]
        assert (error["code"], error["param"]) == ("invalid_value", "type")
        await ws.send(json.dumps(APPEND))
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert (await events.next())["type"] == "input_audio_buffer.cleared"


async def test_an_unknown_intent_is_refused_at_the_handshake(rt_gateway: Gateway) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url(rt_gateway, "?intent=chat")):
            pass
    assert refused.value.response.status_code == 400


async def test_the_realtime_subprotocol_is_answered(rt_gateway: Gateway) -> None:
    async with websockets.connect(url(rt_gateway), subprotocols=["realtime"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "realtime"


async def test_text_a_voice_cannot_read_is_skipped_with_an_error(
    rt_gateway: Gateway, llm: ScriptedLlm
) -> None:
    llm.reset(TextReply("Here is the word. 今日は良い天気ですね。 That was Japanese, sorry."))
    async with websockets.connect(url(rt_gateway)) as ws:
        events = Events(ws.recv)
        await events.next()
        await ws.send(json.dumps({"type": "response.create"}))
        seen = await events.until("response.done")
    errors = [e["error"] for e in seen if e["type"] == "error"]
    assert len(errors) == 1
    assert "Han" in errors[0]["message"] or "Hiragana" in errors[0]["message"]
    assert seen[-1]["response"]["status"] == "completed"
    transcript = seen[-1]["response"]["output"][0]["content"][0]["transcript"]
    assert "天気" not in transcript
    assert transcript.startswith("Here is the word.")
    assert transcript.endswith("That was Japanese, sorry.")
