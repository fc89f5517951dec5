"""``request_timeout_s``: a request that cannot finish in time gets a JSON 504, and the
worker's stream is cancelled with it (nothing keeps running for a client that gave up)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import numpy as np
import soundfile

from support.servers import run_gateway

# No synthesis finishes within a millisecond: every speech request times out
# before its first byte, deterministically.
CONFIG = {
    "engines": {"piper": {"env": "shared", "preload": ["en_US-joe-medium"]}},
    "request_timeout_s": 0.001,
}
SPEECH = {"model": "tts-1", "voice": "alloy", "input": "This will take too long. " * 20}


async def test_speech_past_the_timeout_is_a_504_and_frees_the_worker(tmp_path: Path) -> None:
    async with (
        run_gateway(CONFIG, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
    ):
        for stream_format in ("audio", "sse"):
            response = await client.post(
                "/v1/audio/speech", json={**SPEECH, "stream_format": stream_format}
            )
            assert response.status_code == 504, response.text
            error = response.json()["error"]
            assert error["code"] == "timeout"
            assert error["type"] == "server_error"
            assert "0.001 s" in error["message"]
        for _ in range(100):  # the cancelled streams end on the worker too (bounded wait)
            (worker,) = (await client.get("/health")).json()["workers"]
            if worker["in_flight"] == 0:
                break
            await asyncio.sleep(0.05)
        assert worker["in_flight"] == 0
        # Other routes are not held to it.
        assert (await client.get("/v1/models")).status_code == 200


async def test_transcription_past_the_timeout_is_a_504(tmp_path: Path) -> None:
    config = {
        **CONFIG,
        "engines": {**CONFIG["engines"], "whisper": {"preload": ["tiny.en"]}},
    }
    tone = np.sin(2 * np.pi * 440 * np.arange(16_000 * 3) / 16_000).astype(np.float32) * 0.3
    upload = io.BytesIO()
    soundfile.write(upload, tone, 16_000, format="WAV")
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
    ):
        for _ in range(3000):  # the whisper worker may start after /readyz (bounded wait)
            models = (await client.get("/v1/models")).json()["data"]
            if any(model["id"] == "whisper/tiny.en" for model in models):
                break
            await asyncio.sleep(0.2)
        for stream in ("false", "true"):
            response = await client.post(
                "/v1/audio/transcriptions",
                data={"model": "whisper-1", "stream": stream},
                files={"file": ("tone.wav", upload.getvalue(), "audio/wav")},
            )
            assert response.status_code == 504, response.text
            assert response.json()["error"]["code"] == "timeout"
