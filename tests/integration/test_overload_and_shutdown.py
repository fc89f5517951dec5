"""Overload and shutdown: many clients against a small worker, and SIGTERM mid-stream.

Both run Piper in the gateway's own environment (``env: shared``) so no
environment is built for them.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest

from polyvox.contract.client import WorkerClient
from polyvox.contract.types import AudioChunk, SynthesisConfig
from support.servers import run_gateway

SPEAK = {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}
PCM_RATE_HZ = 24_000


def pcm_seconds(data: bytes) -> float:
    return np.frombuffer(data, dtype="<i2").size / PCM_RATE_HZ


async def test_without_a_line_32_clients_against_a_small_worker_get_audio_or_429(
    tmp_path: Path,
) -> None:
    # The engine's line off: what a full worker answers at once (tests/integration/
    # test_bursts.py has the line).
    config = {"engines": {"piper": {"env": "shared", "capacity": 4}}, "queue": {"max_waiting": 0}}
    text = "Many clients arrive at once. Each gets audio, or a clear answer to come back."

    async def one_client(client: httpx.AsyncClient) -> httpx.Response:
        response = await client.post("/v1/audio/speech", json={**SPEAK, "input": text})
        return response

    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(
            base_url=gateway.url, timeout=120, limits=httpx.Limits(max_connections=64)
        ) as client,
    ):
        responses = await asyncio.gather(*(one_client(client) for _ in range(32)))
        statuses = sorted(response.status_code for response in responses)
        assert set(statuses) <= {200, 429}, statuses
        served = [r for r in responses if r.status_code == 200]
        refused = [r for r in responses if r.status_code == 429]
        assert served, statuses
        assert refused, statuses  # 32 at once cannot fit in 4 slots
        for response in served:
            assert pcm_seconds(response.content) > 2.0  # the whole sentence pair, not a stub
        for response in refused:
            assert response.headers["retry-after"]
            assert response.json()["error"]["type"] == "rate_limit_error"
        # The server is still fine, and serves again once the crowd is gone.
        assert (await client.get("/healthz")).status_code == 200
        again = await client.post("/v1/audio/speech", json={**SPEAK, "input": "Still here."})
        assert again.status_code == 200


async def test_sigterm_lets_running_streams_finish(tmp_path: Path) -> None:
    config = {"engines": {"piper": {"env": "shared"}}, "worker_stop_timeout_s": 30}
    sentences = [f"This is sentence number {n} of a long answer." for n in range(1, 13)]
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
    ):
        async with client.stream(
            "POST", "/v1/audio/speech", json={**SPEAK, "input": " ".join(sentences)}
        ) as response:
            assert response.status_code == 200
            chunks = response.aiter_bytes()
            received = [await anext(chunks)]
            gateway.process.send_signal(signal.SIGTERM)
            # New connections are refused while the running stream goes on.
            await asyncio.sleep(0.5)
            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as fresh:
                    await fresh.get("/healthz")
            received += [chunk async for chunk in chunks]  # ends cleanly, not cut off
        # Twelve sentences of audio arrived in full (each is well over a second).
        assert pcm_seconds(b"".join(received)) > 12 * 1.5
        assert await asyncio.wait_for(gateway.process.wait(), 60) in (0, -signal.SIGTERM)


async def test_a_refused_stream_moves_to_another_replica(tmp_path: Path) -> None:
    config = {
        "engines": {
            "piper": {"env": "shared", "replicas": 2, "capacity": 1, "max_realtime_load": None}
        }
    }
    long_text = " ".join(["Someone else keeps this worker busy."] * 30)
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
    ):
        workers = {w["id"]: w for w in (await client.get("/health")).json()["workers"]}
        # Fill piper-0 (the replica the router tries first) behind the gateway's back,
        # so the gateway's own load figures cannot steer around it.
        outsider = WorkerClient(workers["piper-0"]["address"])
        busy = outsider.synthesize(
            SynthesisConfig(model_id="en_US-joe-medium", voice="joe"), [long_text]
        )
        try:
            assert isinstance(await anext(busy), AudioChunk)
            response = await client.post(
                "/v1/audio/speech", json={**SPEAK, "input": "Please take me elsewhere."}
            )
            assert response.status_code == 200, response.text
            assert response.headers["x-polyvox-worker"] == "piper-1"
            assert response.headers["x-polyvox-queued-ms"] == "0"
            assert pcm_seconds(response.content) > 1.0
        finally:
            await busy.aclose()
            await outsider.close()
    assert "piper-0 did not take the stream" in gateway.log_path.read_text()
