"""Many sessions, few of them speaking: what holds a worker's capacity and what does not.

Real Piper workers behind real gateways; each case states what a user would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from support.servers import Gateway, run_gateway
from support.ws import SESSION, greet, speech_ws_url

SPEAK = {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}
#: Sessions held open at once, each idle after its greeting: more than ten times a
#: worker's capacity (16).
IDLE_SESSIONS = 200


async def test_hundreds_of_idle_sessions_leave_http_requests_served(gateway: Gateway) -> None:
    async with contextlib.AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(websockets.connect(speech_ws_url(gateway)))
            for _ in range(IDLE_SESSIONS)
        ]
        # They greet a few at a time, as conversations start, then go quiet.
        for start in range(0, IDLE_SESSIONS, 8):
            await asyncio.gather(*(greet(ws) for ws in sessions[start : start + 8]))
        async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
            health = (await client.get("/health")).json()
            (piper,) = [w for w in health["workers"] if w["engine"] == "piper"]
            assert piper["sessions"] >= IDLE_SESSIONS
            answers = await asyncio.gather(
                *(
                    client.post("/v1/audio/speech", json={**SPEAK, "input": f"Request {n}."})
                    for n in range(4)
                )
            )
            assert [answer.status_code for answer in answers] == [200] * 4
            assert all(answer.content for answer in answers)
        # And a quiet session's next turn is still spoken.
        await sessions[0].send(json.dumps({"type": "text", "text": "Still there?"}))
        await sessions[0].send(json.dumps({"type": "flush"}))
        async for message in sessions[0]:
            if isinstance(message, str) and json.loads(message)["type"] == "segment.done":
                break


async def test_a_session_may_not_pile_up_unspoken_text(gateway: Gateway) -> None:
    chunk = "This sentence waits its turn to be spoken aloud. " * 30  # 1500 characters
    async with websockets.connect(speech_ws_url(gateway)) as ws:
        await ws.send(json.dumps(SESSION))
        for _ in range(4):
            await ws.send(json.dumps({"type": "text", "text": chunk}))
        async for message in ws:
            if isinstance(message, str) and (event := json.loads(message))["type"] == "error":
                break
        assert event["code"] == "text_too_long"
        assert "4096 characters" in event["message"]


@pytest.fixture(scope="module")
async def cold_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """Piper in the gateway's own environment, nothing preloaded: the first request loads."""
    config = {"engines": {"piper": {"env": "shared", "lifecycle": {"min_residency_s": 0}}}}
    async with run_gateway(config, workdir=tmp_path_factory.mktemp("cold")) as running:
        yield running


async def test_a_client_leaving_during_a_cold_load_fails_nobody_else(
    cold_gateway: Gateway,
) -> None:
    async with httpx.AsyncClient(base_url=cold_gateway.url, timeout=120) as client:
        assert (await client.delete("/api/ps/tts-1")).status_code == 200  # surely cold

        async def speak(text: str) -> httpx.Response:
            return await client.post("/v1/audio/speech", json={**SPEAK, "input": text})

        leaving = asyncio.create_task(speak("I will not wait."))
        staying = [asyncio.create_task(speak(f"I will wait, number {n}.")) for n in range(2)]
        for _ in range(1000):  # until the worker reports the load (bounded)
            ps = (await client.get("/api/ps")).json()["data"]
            if any(entry["status"] == "loading" for entry in ps):
                break
            await asyncio.sleep(0.01)
        leaving.cancel()  # the client hangs up mid-load
        answers = await asyncio.gather(*staying)
        assert [answer.status_code for answer in answers] == [200, 200]
        assert all(answer.content for answer in answers)
        assert leaving.cancelled()


async def test_unloading_goes_on_past_a_busy_replica(tmp_path: Path) -> None:
    config = {"engines": {"piper": {"env": "shared", "replicas": 2,
                                    "preload": ["en_US-joe-medium"]}}}  # fmt: skip
    long_text = " ".join(["This sentence keeps one replica busy for a while."] * 40)
    async with (
        run_gateway(config, workdir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=120) as client,
    ):
        for _ in range(600):  # /readyz needs one replica; wait (bounded) for both
            entries = (await client.get("/api/ps")).json()["data"]
            if sum(entry["status"] == "resident" for entry in entries) == 2:
                break
            await asyncio.sleep(0.1)
        async with client.stream(
            "POST", "/v1/audio/speech", json={**SPEAK, "input": long_text}
        ) as busy:
            assert busy.status_code == 200
            # Kept referenced: a dropped iterator closes the response (and the stream).
            audio = busy.aiter_bytes()
            await anext(audio)  # that replica is synthesizing
            busy_worker = busy.headers.get("x-polyvox-worker")
            refused = await client.delete("/api/ps/piper/en_US-joe-medium")
        assert refused.status_code == 409
        message = refused.json()["error"]["message"]
        assert f"serving streams on {busy_worker}" in message
        idle_worker = ({"piper-0", "piper-1"} - {busy_worker}).pop()
        assert f"unloaded from: {idle_worker}" in message
        resident = {e["worker"] for e in (await client.get("/api/ps")).json()["data"]}
        assert idle_worker not in resident
