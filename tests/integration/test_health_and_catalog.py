"""Health, readiness, catalog and environment isolation on the shared gateway."""

from __future__ import annotations

import asyncio
import sys
from importlib.metadata import version
from pathlib import Path

import httpx
from openai import AsyncOpenAI

from support.servers import Gateway, polyvox_test_home


async def get(gateway: Gateway, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        return await client.get(path)


async def test_liveness_and_readiness(gateway: Gateway) -> None:
    assert (await get(gateway, "/healthz")).json() == {"status": "ok"}
    ready = await get(gateway, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["default_model"] == "piper/en_US-joe-medium"


async def test_health_details_name_the_worker(gateway: Gateway) -> None:
    health = (await get(gateway, "/health")).json()
    assert health["status"] == "running"
    (worker,) = health["workers"]
    assert worker["engine"] == "piper"
    assert worker["state"] == "up"
    assert worker["device"] == "cpu"
    assert worker["pid"] > 0
    assert worker["address"].startswith("unix://")
    assert "en_US-joe-medium" in worker["resident_models"]


async def test_models_list_aliases_and_native_ids(openai_client: AsyncOpenAI) -> None:
    ids = {model.id async for model in openai_client.models.list()}
    assert {"piper/en_US-joe-medium", "tts-1", "tts-1-hd"} <= ids


async def test_voices_list_language_and_rate(gateway: Gateway) -> None:
    voices = (await get(gateway, "/v1/audio/voices")).json()["data"]
    assert {
        "model": "piper/en_US-joe-medium",
        "id": "joe",
        "language": "en-US",
        "languages": ["en-US"],
        "native_sample_rate_hz": 22050,
        "default": True,
        "labels": {"quality": "medium"},
    } in voices


async def test_worker_runs_in_its_own_environment_with_clashing_numpy(
    gateway: Gateway, openai_client: AsyncOpenAI
) -> None:
    """The gateway runs numpy 2; the Piper worker's environment pins numpy<2; both serve."""
    (worker,) = (await get(gateway, "/health")).json()["workers"]
    runtime = worker["runtime"]
    worker_python = Path(runtime["python"])
    assert worker_python.is_relative_to(polyvox_test_home() / "envs")
    assert runtime["numpy"].startswith("1.")
    assert int(version("numpy").split(".")[0]) >= 2  # the gateway's (this test's) environment
    # Ask the worker's interpreter directly, not only what it reports.
    script = (
        "import importlib.util as u, numpy; "
        "print(numpy.__version__, u.find_spec('fastapi'), u.find_spec('av'))"
    )
    probe = await asyncio.create_subprocess_exec(
        str(worker_python), "-c", script,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    numpy_there, fastapi_there, av_there = (await probe.communicate())[0].decode().split()
    assert numpy_there == runtime["numpy"]
    # The worker environment holds the core and the engine, none of the gateway's libraries.
    assert fastapi_there == av_there == "None"
    assert Path(sys.executable) != worker_python
    # ...and both sides work at the same time.
    speech = await openai_client.audio.speech.create(
        model="tts-1", voice="alloy", input="Isolation works.", response_format="wav"
    )
    assert len(speech.content) > 10_000
