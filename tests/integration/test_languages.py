"""Every voice speaks only what it can read: refusals that name who can, mixed input split
by language, and the same rule mid-stream. Piper, Kokoro and espeak-ng behind one gateway
(the engines gateway of test_engines_gateway.py: its environments are reused)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from support.servers import Gateway, run_gateway
from support.speech import decode_pcm, transcribe, word_error_rate

CONFIG = {
    "engines": {
        "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
        "kokoro": {"preload": ["kokoro-82m-int8"]},
        "espeak": {},
    },
}
MODELS = {"piper/en_US-joe-medium", "kokoro/kokoro-82m-int8", "espeak/espeak-ng"}


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with run_gateway(CONFIG, workdir=tmp_path_factory.mktemp("languages")) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            deadline = time.monotonic() + 300
            while True:
                ready = (await client.get("/readyz")).json()["preloaded"]
                served = {v["model"] for v in (await client.get("/v1/audio/voices")).json()["data"]}
                if served >= MODELS and ready.get("kokoro/kokoro-82m-int8") == "ready":
                    break
                assert time.monotonic() < deadline, running.log_tail()
                await asyncio.sleep(0.5)
        yield running


@pytest.fixture(scope="module")
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as http:
        yield http


async def speak(client: httpx.AsyncClient, text: str, **fields: Any) -> httpx.Response:
    body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm"}
    return await client.post("/v1/audio/speech", json={**body, **fields})


# (text, the script named, a voice that reads it and must be named)
UNREADABLE = [
    ("今日は良い天気ですね。", "Hiragana", "kokoro/kokoro-82m-int8 (tts-1-hd): jf_alpha"),
    ("안녕하세요, 만나서 반갑습니다.", "Hangul", "espeak/espeak-ng: ko"),
    ("Привет, как дела?", "Cyrillic", "espeak/espeak-ng: "),
    ("مرحبا، كيف حالك؟", "Arabic", "espeak/espeak-ng: ar"),
    ("नमस्ते, आप कैसे हैं?", "Devanagari", "espeak/espeak-ng: "),
    ("你好，你今天好吗？", "Han", "espeak/espeak-ng: "),
    ("Καλημέρα σας, τι κάνετε;", "Greek", "espeak/espeak-ng: "),
]


@pytest.mark.parametrize(
    ("text", "script", "reader"), UNREADABLE, ids=[case[1] for case in UNREADABLE]
)
async def test_text_a_voice_cannot_read_is_a_400_naming_who_can(
    client: httpx.AsyncClient, text: str, script: str, reader: str
) -> None:
    answer = await speak(client, text)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "unsupported_language"
    assert f"{script}" in error["message"]
    assert "voices that read it:" in error["message"]
    assert reader in error["message"]
    assert "piper" not in error["message"].split("voices that read it:")[1]


@pytest.mark.parametrize(
    "text",
    [
        "Call 555-0199 at 10:30, €5 or $6 (50 %) — OK? 🙂",
        "The café in Zürich serves crème brûlée, naïve as it sounds.",
        "The temperature rose by Δt = 5 degrees.",
    ],
)
async def test_digits_symbols_accents_and_a_lone_greek_letter_are_read(
    client: httpx.AsyncClient, text: str
) -> None:
    assert (await speak(client, text)).status_code == 200


async def test_a_few_english_words_in_japanese_are_read_by_kokoro(
    client: httpx.AsyncClient,
) -> None:
    answer = await speak(client, "今日は Python と OK の話をします。", model="tts-1-hd")
    assert answer.status_code == 200


async def test_a_language_field_the_voice_does_not_read_is_refused(
    client: httpx.AsyncClient,
) -> None:
    answer = await speak(client, "Bonjour.", language="fr")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unsupported_language"
    assert "reads en-US" in answer.json()["error"]["message"]
    malformed = await speak(client, "Hello.", language="not a tag!")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_language"


async def test_mixed_english_and_japanese_through_kokoro_in_one_stream(gateway: Gateway) -> None:
    """Each language's run is its own segment, read by its own front end: the English
    part comes back as the same English from Whisper."""
    english = "Good morning to all of you."
    url = gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"
    session = {"type": "session.update", "model": "tts-1-hd", "voice": "jf_alpha",
               "sample_rate": 24000}  # fmt: skip
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps(session))
        await ws.send(json.dumps({"type": "text", "text": f"{english} 今日は良い天気ですね。"}))
        await ws.send(json.dumps({"type": "close"}))
        events: list[dict[str, Any]] = []
        audio = bytearray()
        async for message in ws:
            if isinstance(message, bytes):
                audio += message
            else:
                events.append(json.loads(message))
    started = [e for e in events if e["type"] == "segment.started"]
    texts = [e["text"] for e in started]
    japanese_at = next(i for i, text in enumerate(texts) if "天気" in text)
    assert all(all(ord(c) < 0x3000 for c in text) for text in texts[:japanese_at])
    assert " ".join(texts[:japanese_at]).split() == english.split()
    # The English part's audio: from the start to where the Japanese segment begins.
    english_end = started[japanese_at]["audio_offset_ms"] * 24 * 2
    heard = await asyncio.to_thread(transcribe, decode_pcm(bytes(audio[:english_end]), 24000))
    assert word_error_rate(english, heard) <= 0.25
    assert len(audio) > english_end  # and the Japanese part was spoken too


async def test_mid_stream_text_a_voice_cannot_read_is_skipped_with_an_error_event(
    gateway: Gateway,
) -> None:
    url = gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"
    session = {"type": "session.update", "model": "tts-1", "voice": "alloy", "sample_rate": 24000}
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps(session))
        await ws.send(json.dumps({"type": "text", "text": "Hello there. "}))
        await ws.send(json.dumps({"type": "text", "text": "안녕하세요. "}))
        await ws.send(json.dumps({"type": "text", "text": "Goodbye now."}))
        await ws.send(json.dumps({"type": "close"}))
        events: list[dict[str, Any]] = []
        async for message in ws:
            if isinstance(message, str):
                events.append(json.loads(message))
    errors = [e for e in events if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["unsupported_language"]
    assert "Hangul" in errors[0]["message"]
    spoken = " ".join(e["text"] for e in events if e["type"] == "segment.done")
    assert spoken.split() == ["Hello", "there.", "Goodbye", "now."]
    assert events[-1]["type"] == "done"
