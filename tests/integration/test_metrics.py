"""``GET /metrics``: Prometheus text that parses, moves with traffic, and shows the workers."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from support.servers import Gateway

MODEL = "piper/en_US-joe-medium"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples named ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


async def test_speech_request_moves_the_counters(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        before = await scrape(client)
        response = await client.post(
            "/v1/audio/speech",
            json={
                "model": "tts-1",
                "voice": "alloy",
                "input": "Count me in.",
                "response_format": "wav",
            },
        )
        assert response.status_code == 200
        route = {"route": "/v1/audio/speech", "model": MODEL}
        requests = "polyvox_requests_total"
        # The request is counted once its handler has returned, which may be a moment
        # after the client read the last byte.
        for _ in range(200):
            after = await scrape(client)
            if value(after, requests, status="200", **route) > value(
                before, requests, status="200", **route
            ):
                break
            await asyncio.sleep(0.01)

    assert value(after, requests, status="200", **route) == value(
        before, requests, status="200", **route) + 1  # fmt: skip
    first_audio = "polyvox_speech_first_audio_seconds_count"
    assert value(after, first_audio, model=MODEL) == value(before, first_audio, model=MODEL) + 1
    total = "polyvox_speech_duration_seconds_count"
    assert value(after, total, model=MODEL) == value(before, total, model=MODEL) + 1
    rtf = "polyvox_speech_real_time_factor_count"
    assert value(after, rtf, model=MODEL) == value(before, rtf, model=MODEL) + 1
    audio = "polyvox_audio_seconds_total"
    produced = value(after, audio, model=MODEL) - value(before, audio, model=MODEL)
    assert 0.3 < produced < 5  # "Count me in." is about a second of speech


async def test_errors_are_counted_by_code_and_routes_by_template(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        before = await scrape(client)
        missing = await client.post(
            "/v1/audio/speech", json={"model": "nope", "voice": "alloy", "input": "Hi."}
        )
        invalid = await client.post(
            "/v1/audio/speech", content=b"{", headers={"content-type": "application/json"}
        )
        unknown = await client.get("/v1/secret/path/12345")
        after = await scrape(client)
    assert (missing.status_code, invalid.status_code, unknown.status_code) == (404, 400, 404)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("polyvox_errors_total", code="not_found") == 1
    assert grew("polyvox_errors_total", code="invalid_value") == 1
    assert grew("polyvox_requests_total", route="/v1/audio/speech", status="404") == 1
    assert grew("polyvox_requests_total", route="unmatched", status="404") == 1
    # Raw paths never become labels: their number would be unbounded.
    assert not any("/v1/secret" in str(labels) for _, labels in after)


async def test_websocket_audio_is_counted(gateway: Gateway) -> None:
    url = gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        before = await scrape(client)
        async with websockets.connect(url) as ws:
            await ws.send(
                json.dumps({"type": "session.update", "model": "tts-1", "voice": "alloy"})
            )
            await ws.send(json.dumps({"type": "text", "text": "Streaming counts too."}))
            await ws.send(json.dumps({"type": "close"}))
            async for message in ws:
                if isinstance(message, str) and json.loads(message)["type"] == "done":
                    break
        for _ in range(100):  # the session's figures are recorded as its handler returns
            after = await scrape(client)
            if value(after, "polyvox_requests_total", method="WS") > value(
                before, "polyvox_requests_total", method="WS"
            ):
                break
            await asyncio.sleep(0.05)
    sessions = "polyvox_requests_total"
    ws_labels = {"method": "WS", "route": "/v1/audio/speech/ws", "model": MODEL, "status": "101"}
    assert value(after, sessions, **ws_labels) == value(before, sessions, **ws_labels) + 1
    audio = "polyvox_audio_seconds_total"
    assert value(after, audio, model=MODEL) > value(before, audio, model=MODEL) + 0.3


async def test_worker_figures_are_exported(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        samples = await scrape(client)
    worker = {"engine": "piper"}
    assert value(samples, "polyvox_worker_up", **worker) >= 1
    assert value(samples, "polyvox_worker_model_loads_total", **worker) >= 1
    assert value(samples, "polyvox_worker_model_load_seconds_total", **worker) > 0
    assert value(samples, "polyvox_worker_resident_models", **worker) >= 1
    assert value(samples, "polyvox_worker_model_resident", model=MODEL) >= 1
    assert value(samples, "polyvox_worker_capacity", **worker) >= 1
    assert value(samples, "polyvox_worker_memory_rss_bytes", **worker) > 10_000_000
    for name in (
        "polyvox_worker_queue_depth",
        "polyvox_worker_in_flight",
        "polyvox_worker_inference_running",
        "polyvox_worker_restarts_total",
        "polyvox_worker_model_evictions_total",
        "polyvox_worker_log_lines_dropped_total",
    ):
        assert any(n == name for n, _ in samples), name
    # Our names all carry the polyvox_ prefix.
    assert all(name.startswith("polyvox_") for name, _ in samples)
