"""One real gateway with Piper (to make speech) and Whisper (in its own uv environment)
for every speech-to-text test: starting it once keeps the suite's time down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from openai import AsyncOpenAI

from support.servers import Gateway, run_gateway

#: Low upload and duration limits, so the 413 and "too long" tests send little.
MAX_UPLOAD_BYTES = 3_000_000
MAX_AUDIO_DURATION_S = 60.0
STT_CONFIG = {
    "engines": {
        # Same requirements as the main suite's Piper: its environment is reused.
        "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
        "whisper": {"env": "isolated", "preload": ["tiny.en"]},
    },
    "max_upload_bytes": MAX_UPLOAD_BYTES,
    "max_audio_duration_s": MAX_AUDIO_DURATION_S,
}


async def _wait_for_model(gateway: Gateway, native_id: str, timeout_s: float = 900) -> None:
    """/readyz covers the default (Piper) model; the Whisper environment may still build."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        while time.monotonic() < deadline:
            models = (await client.get("/v1/models")).json()["data"]
            if any(model["id"] == native_id for model in models):
                return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{native_id} not served in {timeout_s} s:\n{gateway.log_tail()}")


@pytest.fixture(scope="session")
async def stt_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("stt-gateway")
    async with run_gateway(STT_CONFIG, workdir=workdir) as running:
        await _wait_for_model(running, "whisper/tiny.en")
        yield running


@pytest.fixture(scope="session")
async def stt_client(stt_gateway: Gateway) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=f"{stt_gateway.url}/v1", api_key="unused", max_retries=0, timeout=120
    ) as client:
        yield client


Speak = Callable[..., Awaitable[bytes]]


@pytest.fixture(scope="session")
def speak(stt_client: AsyncOpenAI) -> Speak:
    """Piper speech made through the API, cached: tests reuse the same sentences."""
    cache: dict[tuple[str, str], bytes] = {}

    async def make(text: str, response_format: str = "wav") -> bytes:
        if (text, response_format) not in cache:
            response = await stt_client.audio.speech.create(
                model="tts-1",
                voice="alloy",
                input=text,
                response_format=response_format,  # type: ignore[arg-type]
            )
            cache[text, response_format] = response.content
        return cache[text, response_format]

    return make


@pytest.fixture(scope="session")
def stt_limits() -> dict[str, float]:
    """The limits the STT gateway runs with (tests send just past them)."""
    return {"max_upload_bytes": MAX_UPLOAD_BYTES, "max_audio_duration_s": MAX_AUDIO_DURATION_S}
