"""One real gateway (Piper, Whisper in its own environment) and a scripted language model
for the realtime tests: the language model is the one part that cannot run here."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from support.openai_schema import validate_server_event
from support.scripted_llm import ScriptedLlm
from support.servers import Gateway, run_gateway

RATE = 24_000


def realtime_config(llm_base_url: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "engines": {
            # Same requirements as the rest of the suite: the environments are reused.
            "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
            "whisper": {"env": "isolated", "preload": ["tiny.en"]},
        },
    }
    if llm_base_url is not None:
        config["realtime"] = {"llm": {"base_url": llm_base_url, "model": "scripted"}}
    return config


async def wait_for_model(gateway: Gateway, native_id: str, timeout_s: float = 900) -> None:
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
def scripted_llm() -> Iterator[ScriptedLlm]:
    with ScriptedLlm() as llm:
        yield llm


@pytest.fixture(scope="session")
async def rt_gateway(
    tmp_path_factory: pytest.TempPathFactory, scripted_llm: ScriptedLlm
) -> AsyncIterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("realtime-gateway")
    async with run_gateway(realtime_config(scripted_llm.base_url), workdir=workdir) as running:
        await wait_for_model(running, "whisper/tiny.en")
        yield running


@pytest.fixture
def llm(scripted_llm: ScriptedLlm) -> ScriptedLlm:
    """The scripted language model, with an empty script for this test."""
    scripted_llm.reset()
    return scripted_llm


@pytest.fixture(scope="session")
async def rt_client(rt_gateway: Gateway) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=f"{rt_gateway.url}/v1",
        websocket_base_url=rt_gateway.url.replace("http://", "ws://") + "/v1",
        api_key="unused",
        max_retries=0,
        timeout=120,
    ) as client:
        yield client


Speak = Callable[[str], Awaitable[bytes]]


@pytest.fixture(scope="session")
def speak_pcm(rt_client: AsyncOpenAI) -> Speak:
    """Piper speech made through the API as 24 kHz pcm, cached."""
    cache: dict[str, bytes] = {}

    async def make(text: str) -> bytes:
        if text not in cache:
            response = await rt_client.audio.speech.create(
                model="tts-1", voice="alloy", input=text, response_format="pcm"
            )
            cache[text] = response.content
        return cache[text]

    return make


def silence(seconds: float, *, rate: int = RATE) -> bytes:
    return bytes(int(seconds * rate) * 2)


def checked(raw: str | bytes) -> dict[str, Any]:
    """A server event, validated against the OpenAI SDK's schema."""
    event: dict[str, Any] = json.loads(raw)
    validate_server_event(event)
    return event


class Events:
    """Reads a realtime connection's events in order, each validated against the SDK."""

    def __init__(self, receive: Callable[[], Awaitable[str | bytes]]) -> None:
        self._receive = receive
        self.seen: list[dict[str, Any]] = []

    async def next(self, timeout_s: float = 120) -> dict[str, Any]:
        event = checked(await asyncio.wait_for(self._receive(), timeout_s))
        self.seen.append(event)
        return event

    async def until(self, kind: str, *, timeout_s: float = 120) -> list[dict[str, Any]]:
        """Events up to and including the next one of type ``kind``."""
        found: list[dict[str, Any]] = []
        while not found or found[-1]["type"] != kind:
            found.append(await self.next(timeout_s))
        return found


async def send_audio(
    append: Callable[[str], Awaitable[None]], pcm: bytes, chunk_ms: int = 100
) -> None:
    """Append ``pcm`` (base64) in chunks, faster than real time: VAD reads the audio,
    not the clock."""
    step = RATE * 2 * chunk_ms // 1000
    for start in range(0, len(pcm), step):
        await append(base64.b64encode(pcm[start : start + step]).decode())


def sdk_append(connection: Any) -> Callable[[str], Awaitable[None]]:
    async def append(audio: str) -> None:
        await connection.input_audio_buffer.append(audio=audio)

    return append
