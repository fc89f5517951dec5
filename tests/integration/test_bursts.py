"""Bursts past a worker's capacity wait in the engine's line instead of bouncing.

A real Piper worker that lets two streams work at once, behind a real gateway whose
line holds six. Assertions are on what clients receive and on the line's state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.servers import Gateway, run_gateway

SPEAK = {"model": "tts-1", "voice": "alloy", "response_format": "pcm"}
CAPACITY = 2
MAX_WAITING = 6
SENTENCE = "This sentence keeps a stream busy for a little while."
LONG_TEXT = " ".join([SENTENCE] * 3)


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    config = {
        "engines": {
            # Capacity by count alone: on a loaded machine the speed bound would let
            # fewer in, and the newcomer slack would hold one back while another's step
            # is due; this test is about the line, not about speed.
            "piper": {
                "env": "shared",
                "capacity": CAPACITY,
                "max_realtime_load": None,
                "newcomer_slack_ms": 0,
                "preload": ["en_US-joe-medium"],
            }
        },
        "queue": {"max_waiting": MAX_WAITING, "max_wait_s": 120},
    }
    async with run_gateway(config, workdir=tmp_path_factory.mktemp("bursts")) as running:
        yield running


async def queue_waiting(client: httpx.AsyncClient) -> int:
    return int((await client.get("/health")).json()["queues"].get("piper", {}).get("waiting", 0))


async def until_waiting(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(2000):  # polled (bounded): not a timing assertion
        if await queue_waiting(client) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the line never held {count}")


async def test_a_burst_past_capacity_is_served_whole_in_arrival_order(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as client:
        solo = await client.post("/v1/audio/speech", json={**SPEAK, "input": SENTENCE})
        solo_long = await client.post("/v1/audio/speech", json={**SPEAK, "input": LONG_TEXT})
        assert (solo.status_code, solo_long.status_code) == (200, 200)

        # The first CAPACITY take every slot. Their headers leave with their first audio,
        # so once a response is here that request is in, and the next one is sent.
        holders: list[httpx.Response] = []
        for _ in range(CAPACITY):
            speaking = client.build_request(
                "POST", "/v1/audio/speech", json={**SPEAK, "input": LONG_TEXT}
            )
            holders.append(await client.send(speaking, stream=True))

        sent_at: list[float] = []

        async def speak() -> httpx.Response:
            sent_at.append(time.monotonic())
            return await client.post("/v1/audio/speech", json={**SPEAK, "input": SENTENCE})

        waiters: list[asyncio.Task[httpx.Response]] = []
        for n in range(MAX_WAITING):
            waiters.append(asyncio.create_task(speak()))
            # One at a time into the line, so their arrival order is known.
            await until_waiting(client, n + 1)
        for holder in holders:
            await holder.aread()
            await holder.aclose()
        answers = await asyncio.gather(*waiters)
        assert [answer.status_code for answer in holders + answers] == [200] * len(
            holders + answers
        )
        # Every one has its whole audio: about as long as alone (while another stream
        # speaks, a worker synthesizes long segments in pieces: a little longer).
        for answer, alone in [(h, solo_long) for h in holders] + [(a, solo) for a in answers]:
            assert 0.85 < len(answer.content) / len(alone.content) < 1.25
        held_s = [int(holder.headers["x-polyvox-queued-ms"]) / 1000 for holder in holders]
        assert held_s == [0.0] * CAPACITY
        queued_s = [int(answer.headers["x-polyvox-queued-ms"]) / 1000 for answer in answers]
        assert all(wait > 0 for wait in queued_s)
        admitted_at = [sent + wait for sent, wait in zip(sent_at, queued_s, strict=True)]
        assert admitted_at == sorted(admitted_at)
        assert await queue_waiting(client) == 0

        metrics = (await client.get("/metrics")).text
        families = {family.name: family for family in text_string_to_metric_families(metrics)}
        waits = {
            sample.name: sample.value
            for sample in families["polyvox_queue_wait_seconds"].samples
            if sample.labels.get("engine") == "piper"
        }
        assert waits["polyvox_queue_wait_seconds_count"] >= MAX_WAITING
        assert "polyvox_queue_waiting" in families


async def test_a_client_that_leaves_while_waiting_frees_its_place(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as client:
        busy = [
            asyncio.create_task(client.post("/v1/audio/speech", json={**SPEAK, "input": LONG_TEXT}))
            for _ in range(CAPACITY)
        ]
        await asyncio.sleep(0)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as leaving_client:
            leaving = asyncio.create_task(
                leaving_client.post("/v1/audio/speech", json={**SPEAK, "input": "I leave."})
            )
            await until_waiting(client, 1)
            leaving.cancel()  # its connection closes
            with pytest.raises(asyncio.CancelledError):
                await leaving
        await until_waiting(client, 0)  # gone at once, not when its turn came
        stays = await client.post("/v1/audio/speech", json={**SPEAK, "input": "I stay."})
        assert stays.status_code == 200
        assert [answer.status_code for answer in await asyncio.gather(*busy)] == [200] * CAPACITY
        # Nothing held on: no stream open on the worker, nobody in line.
        for _ in range(200):
            (piper,) = (await client.get("/health")).json()["workers"]
            if piper["sessions"] == 0:
                break
            await asyncio.sleep(0.05)
        assert piper["sessions"] == 0
        assert piper["in_flight"] == 0


async def test_a_full_line_is_a_429_with_a_retry_after(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as client:
        texts = [LONG_TEXT] * CAPACITY + ["Waiting."] * MAX_WAITING
        held = [
            asyncio.create_task(client.post("/v1/audio/speech", json={**SPEAK, "input": text}))
            for text in texts
        ]
        await until_waiting(client, MAX_WAITING)
        refused = await client.post("/v1/audio/speech", json={**SPEAK, "input": "One too many."})
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["code"], error["type"]) == ("queue_full", "rate_limit_error")
        assert f"{MAX_WAITING} requests waiting" in error["message"]
        assert int(refused.headers["retry-after"]) >= 1
        assert [a.status_code for a in await asyncio.gather(*held)] == [200] * len(held)
