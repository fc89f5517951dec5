"""Word timings from Piper and espeak-ng: every word of the input, in order, inside the
audio, where Whisper hears them; as captions, SSE events and WebSocket events."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import websockets

from support.speech import decode
from support.words import check_captions

from .conftest import API_KEY, EcosystemGateway

TEXT = (
    "The quick brown fox jumps over the lazy dog.   A gentle breeze moved through the "
    "tall green trees, and the children laughed in the warm afternoon sun."
)
MODELS = {"piper": ("tts-1", "alloy"), "espeak": ("espeak/espeak-ng", "en-us")}


async def captions(http: httpx.AsyncClient, text: str, engine: str, **fields: Any) -> Any:
    model, voice = MODELS[engine]
    body = {"model": model, "voice": voice, "input": text, "response_format": "wav", **fields}
    response = await http.post("/v1/audio/speech/captions", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("engine", ["piper", "espeak"])
async def test_every_input_word_in_order_inside_the_audio_where_whisper_hears_it(
    http: httpx.AsyncClient, engine: str
) -> None:
    result = await captions(http, TEXT, engine)
    assert result["format"] == "wav"
    check_captions(result, TEXT)
    # Captions, cue by cue, from the same words.
    assert result["srt"].startswith("1\n00:00:00,")
    assert result["vtt"].startswith("WEBVTT\n\n")
    assert "The quick brown fox" in result["vtt"]


async def test_timings_survive_segments_resampling_and_ssml(http: httpx.AsyncClient) -> None:
    ssml = (
        '<speak>First words here.<break time="2s"/>'
        '<p>In <say-as interpret-as="cardinal">1999</say-as> it rained.</p></speak>'
    )
    result = await captions(http, ssml, "piper", sample_rate=48000)
    words = result["words"]
    assert [w["word"] for w in words] == ["First", "words", "here", "In", "1999", "it", "rained"]
    assert all(ssml[w["source_start"] : w["source_end"]] == w["word"] for w in words)
    here, after = words[2], words[3]
    assert after["start"] - here["end"] >= 2.0  # the break, placed in the timeline
    audio = decode(base64.b64decode(result["audio"]))
    assert audio.sample_rate_hz == 48000
    assert words[-1]["end"] <= audio.duration_s + 1e-3


async def test_sse_word_events_are_opt_in(http: httpx.AsyncClient) -> None:
    body = {"model": "tts-1", "voice": "alloy", "input": "Short and sweet. Then another one.",
            "response_format": "pcm", "stream_format": "sse"}  # fmt: skip
    for timestamps in (False, True):
        async with http.stream(
            "POST", "/v1/audio/speech", json={**body, "timestamps": timestamps}
        ) as response:
            events = [
                json.loads(line[5:])
                async for line in response.aiter_lines()
                if line.startswith("data:")
            ]
        words = [e for e in events if e["type"] == "speech.word"]
        assert events[-1]["type"] == "speech.audio.done"
        if not timestamps:
            assert words == []
            continue
        assert [w["word"] for w in words] == ["Short", "and", "sweet", "Then", "another", "one"]
        assert all(set(w) >= {"word", "start", "end"} for w in words)


async def test_websocket_word_events(eco: EcosystemGateway) -> None:
    url = eco.url.replace("http", "ws") + "/v1/audio/speech/ws"
    protocols = ["polyvox.v1", f"openai-insecure-api-key.{API_KEY}"]
    async with websockets.connect(url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "polyvox.v1"  # the key is never echoed back
        update = {"type": "session.update", "model": "tts-1", "voice": "alloy",
                  "timestamps": True}  # fmt: skip
        await ws.send(json.dumps(update))
        await ws.send(json.dumps({"type": "text", "text": "Hello there. How are you today?"}))
        await ws.send(json.dumps({"type": "close"}))
        events = [json.loads(m) async for m in ws if isinstance(m, str)]
    words = [e for e in events if e["type"] == "word"]
    assert [w["word"] for w in words] == ["Hello", "there", "How", "are", "you", "today"]
    starts = [w["audio_start_ms"] for w in words]
    assert starts == sorted(starts)
    done = events[-1]
    assert done["type"] == "done"
    assert words[-1]["audio_end_ms"] <= done["audio_ms"]
