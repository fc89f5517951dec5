"""/v1/audio/speech through the OpenAI SDK: intelligible speech in every format."""

from __future__ import annotations

import asyncio
import base64
import json
import struct

import httpx
import pytest
from openai import AsyncOpenAI

from support.servers import Gateway
from support.speech import Decoded, decode, decode_pcm, transcribe, word_error_rate

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning at the office.",
    "We will meet at the train station after lunch.",
]
MAX_WER = 0.25


async def speak(client: AsyncOpenAI, text: str, **kwargs: object) -> bytes:
    response = await client.audio.speech.create(
        model=kwargs.pop("model", "tts-1"),  # type: ignore[arg-type]
        voice=kwargs.pop("voice", "alloy"),  # type: ignore[arg-type]
        input=text,
        **kwargs,  # type: ignore[arg-type]
    )
    return response.content


def opus_input_rate_hz(ogg: bytes) -> int:
    head = ogg.index(b"OpusHead")
    return struct.unpack_from("<I", ogg, head + 12)[0]


async def heard(audio: Decoded) -> str:
    return await asyncio.to_thread(transcribe, audio)


@pytest.mark.parametrize("sentence", SENTENCES)
async def test_speech_is_intelligible(openai_client: AsyncOpenAI, sentence: str) -> None:
    audio = decode(await speak(openai_client, sentence, response_format="wav"))
    assert word_error_rate(sentence, await heard(audio)) <= MAX_WER


@pytest.mark.parametrize("response_format", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
async def test_every_format_decodes_to_speech(
    openai_client: AsyncOpenAI, response_format: str
) -> None:
    sentence = SENTENCES[1]
    reference = decode(await speak(openai_client, sentence, response_format="wav"))
    data = await speak(openai_client, sentence, response_format=response_format)
    audio = decode_pcm(data, 24_000) if response_format == "pcm" else decode(data)
    if response_format == "opus":
        # Opus always decodes at 48 kHz; the encoded rate is in the OpusHead header.
        assert opus_input_rate_hz(data) == 24_000
    else:
        assert audio.sample_rate_hz == 24_000
    # Piper samples phoneme durations (noise_w), so two syntheses differ by a few %;
    # lossy codecs add a few ms of priming/padding.
    assert audio.duration_s == pytest.approx(reference.duration_s, rel=0.1)
    assert word_error_rate(sentence, await heard(audio)) <= MAX_WER


async def test_mp3_is_the_default_format(openai_client: AsyncOpenAI) -> None:
    response = await openai_client.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input="Hello world."
    )
    assert response.headers["content-type"] == "audio/mpeg"
    assert decode(response.content).duration_s > 0.3


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 44100, 48000])
async def test_sample_rate_resamples(openai_client: AsyncOpenAI, sample_rate: int) -> None:
    sentence = SENTENCES[0]
    reference = decode(await speak(openai_client, sentence, response_format="wav"))
    wav = decode(
        await speak(
            openai_client, sentence, response_format="wav", extra_body={"sample_rate": sample_rate}
        )
    )
    pcm = decode_pcm(
        await speak(
            openai_client, sentence, response_format="pcm", extra_body={"sample_rate": sample_rate}
        ),
        sample_rate,
    )
    assert wav.sample_rate_hz == sample_rate
    # Piper samples phoneme durations (noise_w), so two syntheses differ by a few %.
    assert wav.duration_s == pytest.approx(reference.duration_s, rel=0.1)
    assert pcm.duration_s == pytest.approx(reference.duration_s, rel=0.1)
    assert word_error_rate(sentence, await heard(wav)) <= MAX_WER


async def test_speed_changes_duration_not_words(openai_client: AsyncOpenAI) -> None:
    sentence = SENTENCES[2]
    durations = {}
    for speed in (0.5, 1.0, 2.0):
        audio = decode(await speak(openai_client, sentence, response_format="wav", speed=speed))
        durations[speed] = audio.duration_s
        if speed != 0.5:
            assert word_error_rate(sentence, await heard(audio)) <= MAX_WER
    # Piper stretches phonemes, not the fixed edges, and samples durations: loose bounds.
    assert durations[0.5] > 1.4 * durations[1.0] > 1.4 * 1.3 * durations[2.0]
    assert durations[0.5] / durations[2.0] > 2.5


@pytest.mark.parametrize("model", ["tts-1", "tts-1-hd", "piper/en_US-joe-medium"])
@pytest.mark.parametrize("voice", ["alloy", "nova", "verse", "joe"])
async def test_model_aliases_and_voice_names(
    openai_client: AsyncOpenAI, model: str, voice: str
) -> None:
    response = await openai_client.audio.speech.with_raw_response.create(
        model=model, voice=voice, input="Good morning.", response_format="wav"
    )
    assert response.headers["x-polyvox-model"] == "piper/en_US-joe-medium"
    assert response.headers["x-polyvox-voice"] == "joe"
    assert decode(response.content).duration_s > 0.3


@pytest.mark.parametrize("response_format", ["mp3", "opus", "aac", "flac", "wav", "pcm"])
async def test_long_input_streams_segment_by_segment(
    gateway: Gateway, response_format: str
) -> None:
    text = " ".join(SENTENCES)
    request = {
        "model": "tts-1",
        "voice": "alloy",
        "input": text,
        "response_format": response_format,
    }
    async with (
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
        client.stream("POST", "/v1/audio/speech", json=request) as response,
    ):
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        chunks = [chunk async for chunk in response.aiter_raw()]
    # Segments are synthesized one after another, so audio leaves in several pieces.
    assert len(chunks) >= 2
    data = b"".join(chunks)
    audio = decode_pcm(data, 24_000) if response_format == "pcm" else decode(data)
    # One encoder and one resampler for the whole request: the joins stay intelligible.
    assert word_error_rate(text, await heard(audio)) <= MAX_WER


@pytest.mark.parametrize("response_format", ["pcm", "mp3"])
async def test_sse_events_carry_the_audio(openai_client: AsyncOpenAI, response_format: str) -> None:
    sentence = SENTENCES[0]
    events = []
    async with openai_client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=sentence, response_format=response_format,
        stream_format="sse",
    ) as response:  # fmt: skip
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    *deltas, done = events
    assert deltas
    assert all(event["type"] == "speech.audio.delta" for event in deltas)
    assert done["type"] == "speech.audio.done"
    data = b"".join(base64.b64decode(event["audio"]) for event in deltas)
    assert done["audio_bytes"] == len(data)
    audio = decode_pcm(data, 24_000) if response_format == "pcm" else decode(data)
    assert word_error_rate(sentence, await heard(audio)) <= MAX_WER


async def test_clients_leaving_mid_stream_do_not_hurt_the_server(gateway: Gateway) -> None:
    """Regression: closing the encoder while a thread still encoded crashed the gateway."""
    text = " ".join(SENTENCES * 3)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        for response_format in ["mp3", "opus", "aac", "flac", "wav", "pcm"] * 2:
            request = {"model": "tts-1", "voice": "alloy", "input": text,
                       "response_format": response_format}  # fmt: skip
            async with client.stream("POST", "/v1/audio/speech", json=request) as response:
                assert await anext(response.aiter_raw())
            # Leaving the block closes the connection with the stream unfinished.
        assert gateway.process.returncode is None
        after = await client.post(
            "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Still fine."}
        )
    assert after.status_code == 200
    assert decode(after.content).duration_s > 0.3


async def test_control_characters_inside_text_are_skipped(openai_client: AsyncOpenAI) -> None:
    sentence = "Please call me back tomorrow morning at the office."
    audio = decode(
        await speak(openai_client, sentence.replace(" ", " \x00", 3), response_format="wav")
    )
    assert word_error_rate(sentence, await heard(audio)) <= MAX_WER
