"""Piper, Kokoro and espeak-ng behind one gateway, each in its own uv environment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI

from support.servers import Gateway, run_gateway
from support.speech import decode, transcribe, word_error_rate
from support.words import check_captions

CONFIG = {
    "engines": {
        # The same Piper environment as the shared integration gateway's (reused).
        "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
        "kokoro": {"preload": ["kokoro-82m-int8"]},
        "espeak": {},
    },
}
MODELS = ("piper/en_US-joe-medium", "kokoro/kokoro-82m-int8", "espeak/espeak-ng")
SENTENCE = "Please bring the blue folder to the meeting on the second floor."


async def voices(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await client.get("/v1/audio/voices")).json()["data"]
    return data


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with run_gateway(CONFIG, workdir=tmp_path_factory.mktemp("engines")) as running:
        # /readyz covers the default (Piper) model; wait for the other engines' workers.
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            deadline = time.monotonic() + 300
            while {v["model"] for v in await voices(client)} < set(MODELS):
                assert time.monotonic() < deadline, running.log_tail()
                await asyncio.sleep(0.5)
        yield running


@pytest.fixture(scope="module")
async def client(gateway: Gateway) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


async def test_every_engine_lists_its_models(client: AsyncOpenAI) -> None:
    owners = {model.id: model.owned_by async for model in client.models.list()}
    assert {model_id: owners.get(model_id) for model_id in MODELS} == {
        model_id: model_id.partition("/")[0] for model_id in MODELS
    }


async def test_every_engine_lists_its_voices_with_language_and_rate(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        listed = {(v["model"], v["id"]): v for v in await voices(http)}
    expected = {
        ("piper/en_US-joe-medium", "joe"): ("en-US", 22_050, True),
        ("kokoro/kokoro-82m-int8", "jf_alpha"): ("ja-JP", 24_000, True),
        ("kokoro/kokoro-82m-int8", "jm_kumo"): ("ja-JP", 24_000, False),
        ("espeak/espeak-ng", "en-us"): ("en-US", 22_050, True),
        ("espeak/espeak-ng", "de"): ("de", 22_050, False),
    }
    for key, (language, rate, default) in expected.items():
        voice = listed[key]
        assert (voice["language"], voice["native_sample_rate_hz"], voice["default"]) == (
            language,
            rate,
            default,
        )
    assert listed[("kokoro/kokoro-82m-int8", "jm_kumo")]["labels"] == {"gender": "male"}
    assert sum(model == "kokoro/kokoro-82m-int8" for model, _ in listed) == 5
    assert sum(model == "espeak/espeak-ng" for model, _ in listed) > 100
    assert all(voice["language"] and voice["native_sample_rate_hz"] for voice in listed.values())


async def test_kokoro_speaks_a_blended_voice(client: AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(
        model="kokoro/kokoro-82m-int8",
        voice="jf_alpha(2)+jm_kumo(1)",
        input=SENTENCE,
        response_format="wav",
    )
    audio = decode(speech.content)
    assert audio.duration_s > 2.0
    heard = await asyncio.to_thread(transcribe, audio)
    assert word_error_rate(SENTENCE, heard) <= 0.25, heard


async def test_kokoro_reads_japanese_with_its_japanese_front_end(client: AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(
        model="kokoro/kokoro-82m-int8",
        voice="jm_kumo",
        input="東京駅で午後三時に会いましょう。今日は良い天気ですね。",
        response_format="wav",
    )
    audio = decode(speech.content)
    # Japanese speaking rates; read as English it would be "Chinese letter" per kanji.
    assert 2.5 < audio.duration_s < 7.0
    heard = (await asyncio.to_thread(transcribe, audio)).lower()
    assert "chinese" not in heard


@pytest.mark.parametrize(
    ("model", "voice", "mentions"),
    [
        ("kokoro/kokoro-82m-int8", "jf_alpha+gandalf", "valid voices: jf_alpha"),
        ("kokoro/kokoro-82m-int8", "jf_alpha(-2)+jm_kumo", "positive number"),
        ("piper/en_US-joe-medium", "joe(1)+joe(2)", "does not blend voices"),
        ("espeak/espeak-ng", "en-us+de", "does not blend voices"),
    ],
)
async def test_bad_blends_are_400_with_a_clear_message(
    client: AsyncOpenAI, model: str, voice: str, mentions: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.audio.speech.create(model=model, voice=voice, input="Hello.")
    assert mentions in caught.value.message


async def test_kokoro_word_timings_are_where_whisper_hears_them(gateway: Gateway) -> None:
    # Two sentences: the first comes in two pieces (a first chunk, then the rest),
    # the second whole, so both ways of placing marks are checked.
    text = "The quick brown fox jumps over the lazy dog. A gentle breeze moved the trees."
    body = {"model": "tts-1-hd", "voice": "jf_alpha", "input": text, "response_format": "wav"}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as http:
        response = await http.post("/v1/audio/speech/captions", json=body)
    assert response.status_code == 200, response.text
    await asyncio.to_thread(check_captions, response.json(), text)
