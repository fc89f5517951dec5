"""One real gateway for the Wyoming, SSML, word-timing and page tests: Piper (its
noise off, so the same input gives the same samples), espeak-ng and Whisper in their
own environments, the Wyoming listener on a free port, and API keys on (the page must
work with them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support.servers import Gateway, free_port, run_gateway

API_KEY = "ecosystem-test-key"
MODELS = {"piper/en_US-joe-medium", "espeak/espeak-ng", "whisper/tiny.en"}


@dataclass
class EcosystemGateway:
    gateway: Gateway
    wyoming_uri: str

    @property
    def url(self) -> str:
        return self.gateway.url


def _config(wyoming_port: int) -> dict[str, object]:
    return {
        "engines": {
            # Same requirements as the main suite's Piper: its environment is reused.
            "piper": {
                "requirements": ["numpy<2"],
                "preload": ["en_US-joe-medium"],
                "options": {"noise_scale": "0", "noise_w_scale": "0"},
                # Whole sentences: a sentence decoded in slices matches the whole to
                # float noise, which could move an int16 sample by one between two
                # answers the break tests compare sample for sample.
                "first_chunk_ms": 0,
            },
            "espeak": {},
            "whisper": {"env": "isolated", "preload": ["tiny.en"]},
        },
        "api_keys": [API_KEY],
        "wyoming": {"uri": f"tcp://127.0.0.1:{wyoming_port}", "zeroconf": False},
    }


@pytest.fixture(scope="session")
async def eco(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EcosystemGateway]:
    port = free_port()
    workdir: Path = tmp_path_factory.mktemp("ecosystem")
    async with run_gateway(_config(port), workdir=workdir) as running:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=running.url, headers=headers) as client:
            deadline = time.monotonic() + 900
            while True:
                served = {m["id"] for m in (await client.get("/v1/models")).json()["data"]}
                if served >= MODELS:
                    break
                assert time.monotonic() < deadline, running.log_tail()
                await asyncio.sleep(0.5)
        yield EcosystemGateway(running, f"tcp://127.0.0.1:{port}")


@pytest.fixture(scope="session")
async def http(eco: EcosystemGateway) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=eco.url, headers=headers, timeout=120) as client:
        yield client
