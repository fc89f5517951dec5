"""No language model configured: transcription works, a conversation's response fails clearly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import websockets

from support.servers import Gateway, run_gateway
from support.speech import word_error_rate

from .conftest import Events, Speak, realtime_config, silence, wait_for_model


@pytest.fixture(scope="module")
async def bare_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    workdir = tmp_path_factory.mktemp("realtime-no-llm")
    async with run_gateway(realtime_config(None), workdir=workdir) as running:
        await wait_for_model(running, "whisper/tiny.en")
        yield running


def url(gateway: Gateway, query: str = "") -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/realtime" + query


async def test_a_response_fails_saying_what_to_configure(bare_gateway: Gateway) -> None:
    async with websockets.connect(url(bare_gateway)) as ws:
        events = Events(ws.recv)
        await events.next()
        await ws.send(json.dumps({"type": "response.create", "event_id": "evt_1"}))
        seen = await events.until("response.done")
    assert [e["type"] for e in seen] == ["response.created", "response.done"]
    response = seen[-1]["response"]
    assert response["status"] == "failed"
    error = response["status_details"]["error"]
    assert error["code"] == "llm_not_configured"
    assert "realtime.llm.base_url" in error["message"]


async def test_transcription_needs_no_language_model(
    bare_gateway: Gateway, speak_pcm: Speak
) -> None:
    import base64

    clip = await speak_pcm("Good morning, my friend, how are you today?")
    async with websockets.connect(url(bare_gateway, "?intent=transcription")) as ws:
        events = Events(ws.recv)
        await events.next()
        audio = silence(0.3) + clip + silence(1.0)
        await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                  "audio": base64.b64encode(audio).decode()}))  # fmt: skip
        seen = await events.until("conversation.item.input_audio_transcription.completed")
    transcript = seen[-1]["transcript"]
    assert word_error_rate("Good morning, my friend, how are you today?", transcript) <= 0.25
