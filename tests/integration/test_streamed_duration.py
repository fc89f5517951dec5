"""Streaming does not change what is said: a streamed response (segmented, chunked,
encoded on the fly) lasts as long as the same text synthesized in one piece.

Piper samples phoneme durations unless both noise scales are 0, so the gateway's
Piper runs deterministically here (engine options), as does the in-process baseline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from polyvox.engines.base import SynthesisRequest
from polyvox.engines.piper import PiperEngine
from support.servers import Gateway, run_gateway
from support.speech import decode

DETERMINISTIC = {"noise_scale": "0", "noise_w_scale": "0"}
TEXT = (
    "Streaming should never change what is said. Each sentence is synthesized on its "
    "own, as soon as the previous one is on its way, and the listener hears the same "
    "words at the same pace. Dr. Smith arrives at 10:30, with 3.5 liters of coffee."
)


@pytest.fixture(scope="module")
async def deterministic_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    config = {
        "engines": {
            "piper": {
                "requirements": ["numpy<2"],  # the suite's shared Piper environment
                "preload": ["en_US-joe-medium"],
                "options": DETERMINISTIC,
            }
        }
    }
    async with run_gateway(config, workdir=tmp_path_factory.mktemp("deterministic")) as running:
        yield running


def whole_text_duration_s() -> float:
    model = PiperEngine(options=DETERMINISTIC).load("en_US-joe-medium")
    samples = np.concatenate(list(model.synthesize(SynthesisRequest(text=TEXT, voice="joe"))))
    return samples.size / model.info.native_sample_rate_hz


@pytest.mark.parametrize("response_format", ["mp3", "wav", "opus", "flac"])
async def test_streamed_audio_lasts_as_long_as_the_whole_text(
    deterministic_gateway: Gateway, response_format: str, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=deterministic_gateway.url, timeout=120) as client:
        chunks = []
        async with client.stream(
            "POST",
            "/v1/audio/speech",
            json={
                "model": "tts-1",
                "voice": "alloy",
                "input": TEXT,
                "response_format": response_format,
            },
        ) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
    assert len(chunks) > 1  # it really was streamed
    streamed_s = decode(b"".join(chunks)).duration_s
    whole_s = whole_text_duration_s()
    assert streamed_s == pytest.approx(whole_s, rel=0.05)
