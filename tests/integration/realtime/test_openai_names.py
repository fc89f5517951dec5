"""The model and voice names agent frameworks send, through the OpenAI SDK."""

from __future__ import annotations

import base64
import json

import pytest
from openai import AsyncOpenAI

from polyvox.config import OPENAI_VOICES
from support.speech import decode, decode_pcm, transcribe, word_error_rate

TEXT = "The meeting starts at nine tomorrow morning."


@pytest.mark.parametrize("model", ["gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"])
async def test_gpt_4o_mini_tts_speaks_with_instructions(rt_client: AsyncOpenAI, model: str) -> None:
    response = await rt_client.audio.speech.create(
        model=model,
        voice="marin",
        input=TEXT,
        instructions="Speak cheerfully.",
        response_format="wav",
    )
    assert word_error_rate(TEXT, transcribe(decode(response.content))) <= 0.25


async def test_every_openai_voice_is_accepted(rt_client: AsyncOpenAI) -> None:
    assert len(OPENAI_VOICES) == 13
    for voice in OPENAI_VOICES:
        response = await rt_client.audio.speech.create(
            model="gpt-4o-mini-tts", voice=voice, input="Hi.", response_format="pcm"
        )
        assert response.content


async def test_sse_streams_have_the_event_stream_type(rt_client: AsyncOpenAI) -> None:
    async with rt_client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts",
        voice="cedar",
        input=TEXT,
        response_format="pcm",
        stream_format="sse",
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line.removeprefix("data: "))
            async for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    assert events[-1]["type"] == "speech.audio.done"
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert word_error_rate(TEXT, transcribe(decode_pcm(audio, 24_000))) <= 0.25


@pytest.mark.parametrize(
    "model", ["gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini-transcribe-2025-12-15"]
)
async def test_openai_transcription_models(rt_client: AsyncOpenAI, model: str) -> None:
    speech = await rt_client.audio.speech.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="wav"
    )
    transcript = await rt_client.audio.transcriptions.create(
        model=model, file=("speech.wav", speech.content)
    )
    assert word_error_rate(TEXT, transcript.text) <= 0.25


async def test_the_names_are_listed(rt_client: AsyncOpenAI) -> None:
    ids = {model.id async for model in rt_client.models.list()}
    assert {"gpt-4o-mini-tts", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"} <= ids
