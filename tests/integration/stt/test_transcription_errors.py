"""Bad transcription requests get a clear 4xx JSON error, never a 500 or a hang."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile

from support.servers import Gateway

Speak = Callable[..., Awaitable[bytes]]
SENTENCE = "Please call me back tomorrow morning."


def wav(seconds: float, rate_hz: int = 8000) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, np.zeros(int(seconds * rate_hz), np.int16), rate_hz, format="WAV")
    return out.getvalue()


async def post(
    gateway: Gateway, data: dict[str, Any], file: tuple[str, bytes] | None = None
) -> httpx.Response:
    files = {"file": file} if file is not None else None
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        return await client.post("/v1/audio/transcriptions", data=data, files=files)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error


BAD_FILES = [
    ("empty file", b"", "empty_file"),
    ("text file", b"this is a text file, not audio\n" * 50, "invalid_audio"),
    ("zero-length audio", wav(0), "empty_audio"),
    ("too short", wav(0.05), "audio_too_short"),
]


@pytest.mark.parametrize(
    ("data", "code"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
async def test_bad_files_are_400(stt_gateway: Gateway, data: bytes, code: str) -> None:
    response = await post(stt_gateway, {"model": "whisper-1"}, ("upload.wav", data))
    assert_error(response, 400, code)


@pytest.mark.parametrize(("container", "keep"), [("mp3", 100), ("flac", 0.5), ("aac", 0.5)])
async def test_truncated_files_are_400(
    stt_gateway: Gateway, speak: Speak, container: str, keep: float
) -> None:
    data = await speak(SENTENCE, container)
    cut = data[: int(keep)] if keep >= 1 else data[: int(len(data) * keep)]
    response = await post(stt_gateway, {"model": "whisper-1"}, (f"cut.{container}", cut))
    assert_error(response, 400, "invalid_audio")


async def test_upload_over_the_size_limit_is_413(
    stt_gateway: Gateway, stt_limits: dict[str, float]
) -> None:
    huge = bytes(int(stt_limits["max_upload_bytes"]) + 1)
    response = await post(stt_gateway, {"model": "whisper-1"}, ("huge.wav", huge))
    assert_error(response, 413, "request_too_large")


async def test_audio_over_the_duration_limit_is_400(
    stt_gateway: Gateway, stt_limits: dict[str, float]
) -> None:
    long = wav(stt_limits["max_audio_duration_s"] + 1)
    assert len(long) < stt_limits["max_upload_bytes"]  # refused for its length, not size
    response = await post(stt_gateway, {"model": "whisper-1"}, ("long.wav", long))
    assert_error(response, 400, "audio_too_long")


BAD_FIELDS = [
    ("no model", {}, 400, "invalid_value"),
    ("unknown model", {"model": "whisper-9"}, 404, "not_found"),
    ("tts model", {"model": "tts-1"}, 400, "invalid_argument"),
    ("bad format", {"model": "whisper-1", "response_format": "mp3"}, 400, "invalid_value"),
    ("stream as srt", {"model": "whisper-1", "stream": "true", "response_format": "srt"}, 400,
     "invalid_value"),
    ("temperature", {"model": "whisper-1", "temperature": "2"}, 400, "invalid_value"),
    ("granularity", {"model": "whisper-1", "timestamp_granularities[]": "char"}, 400,
     "invalid_value"),
    ("language", {"model": "whisper-1", "language": "fr"}, 400, "invalid_argument"),
    ("option", {"model": "whisper-1", "stream": "maybe"}, 400, "invalid_value"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "status", "code"), [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
)
async def test_bad_fields(
    stt_gateway: Gateway, speak: Speak, data: dict[str, Any], status: int, code: str
) -> None:
    response = await post(stt_gateway, data, ("speech.wav", await speak(SENTENCE)))
    assert_error(response, status, code)


async def test_no_file_is_400(stt_gateway: Gateway) -> None:
    assert_error(await post(stt_gateway, {"model": "whisper-1"}), 400, "invalid_value")


async def test_stt_model_on_the_speech_route_is_400(stt_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=stt_gateway.url, timeout=60) as client:
        response = await client.post(
            "/v1/audio/speech", json={"model": "whisper-1", "voice": "alloy", "input": "Hi."}
        )
    assert_error(response, 400, "invalid_argument")
    assert "/v1/audio/transcriptions" in response.json()["error"]["message"]
