"""Worker crash recovery and the shared-environment mode, each on its own gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.servers import run_gateway
from support.speech import decode, transcribe, word_error_rate

LONG_TEXT = " ".join(["This sentence keeps the worker busy for a while."] * 60)


async def wait_for(predicate, client: httpx.AsyncClient, timeout_s: float = 60) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = (await client.get("/health")).json()
        if predicate(health["workers"][0]):
            return health["workers"][0]
        await asyncio.sleep(0.05)
    raise TimeoutError("condition not reached")


async def test_sigkilled_worker_ends_its_stream_and_comes_back(tmp_path: Path) -> None:
    config = {"engines": {"piper": {"env": "shared", "preload": ["en_US-joe-medium"]}},
              "restart_backoff_initial_s": 2.0}  # fmt: skip
    speak = {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
    ):
        before = await wait_for(lambda w: w["state"] == "up", client)
        async with client.stream(
            "POST", "/v1/audio/speech", json={**speak, "input": LONG_TEXT}
        ) as response:
            assert response.status_code == 200
            chunks = response.aiter_bytes()
            assert await anext(chunks)  # audio is flowing
            os.kill(before["pid"], signal.SIGKILL)
            # Headers are sent: the stream ends unfinished, it does not pretend to be complete.
            with pytest.raises(httpx.RemoteProtocolError):
                async for _ in chunks:
                    pass

        # While the worker is down, new requests get a clear 503 with Retry-After.
        await wait_for(lambda w: w["state"] == "restarting", client)
        refused = await client.post("/v1/audio/speech", json={**speak, "input": "Anyone there?"})
        assert refused.status_code == 503
        assert "restarting" in refused.json()["error"]["message"]
        assert refused.headers["retry-after"]

        after = await wait_for(lambda w: w["state"] == "up" and w["restarts"] == 1, client)
        assert after["pid"] != before["pid"]
        speech = await client.post(
            "/v1/audio/speech", json={**speak, "input": "I am back.", "response_format": "wav"}
        )
        assert speech.status_code == 200
        heard = await asyncio.to_thread(transcribe, decode(speech.content))
        assert word_error_rate("I am back.", heard) <= 0.34


@pytest.mark.parametrize("signum", [signal.SIGTERM])
async def test_shared_environment_runs_in_gateway_interpreter(tmp_path: Path, signum: int) -> None:
    config = {"engines": {"piper": {"env": "shared"}}}
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
    ):
        (worker,) = (await client.get("/health")).json()["workers"]
        assert Path(worker["runtime"]["python"]) == Path(sys.executable)
        speech = await client.post(
            "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": "Shared."}
        )
        assert speech.status_code == 200
        worker_pid = worker["pid"]
        gateway.process.send_signal(signum)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert await asyncio.wait_for(gateway.process.wait(), 30) in (0, -signum)
        assert "Application shutdown complete" in gateway.log_tail()
        assert "draining" in gateway.log_tail()
    # Stopping the gateway stopped its worker too.
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)


async def test_full_worker_answers_429_with_retry_after(tmp_path: Path) -> None:
    # The line off (a full engine refuses at once), capacity by count alone.
    config = {
        "engines": {"piper": {"env": "shared", "capacity": 1, "max_realtime_load": None}},
        "queue": {"max_waiting": 0},
    }
    speak = {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
        client.stream("POST", "/v1/audio/speech", json={**speak, "input": LONG_TEXT}) as busy,
    ):
        assert busy.status_code == 200
        refused = await client.post("/v1/audio/speech", json={**speak, "input": "Me too."})
        assert refused.status_code == 429
        assert refused.headers["retry-after"]
        assert "capacity" in refused.json()["error"]["message"]
        # The running stream is untouched by the refusal.
        assert sum([len(chunk) async for chunk in busy.aiter_bytes()]) > 24_000 * 2 * 10


async def test_workers_do_not_outlive_a_gateway_killed_hard(tmp_path: Path) -> None:
    config = {"engines": {"piper": {"env": "shared"}}}
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=60) as client,
    ):
        worker_pid = (await client.get("/health")).json()["workers"][0]["pid"]
        gateway.process.kill()  # no shutdown handler runs
        await gateway.process.wait()
        for _ in range(300):  # bounded wait for the worker to notice and drain
            try:
                os.kill(worker_pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.1)
        else:
            os.kill(worker_pid, signal.SIGKILL)
            pytest.fail("the worker outlived its gateway")
