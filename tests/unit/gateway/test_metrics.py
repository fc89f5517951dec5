"""Gateway metrics: requests by route template, errors by code, worker figures."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from polyvox.contract.types import WorkerDescription, WorkerStats
from polyvox.gateway.auth import ApiKeyAuth
from polyvox.gateway.errors import ApiError, install_error_handlers
from polyvox.gateway.metrics import GatewayMetrics, MetricsMiddleware, WorkerCollector
from polyvox.gateway.request_id import RequestIdMiddleware
from polyvox.logs import set_model
from support.handles import StaticWorker


def samples(metrics: GatewayMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def app_and_metrics(*, keys: tuple[str, ...] = ()) -> tuple[TestClient, GatewayMetrics]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        set_model("piper/joe")
        if item_id == 0:
            raise ApiError(404, "no such item", code="not_found")
        return {"id": item_id}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"type": "error", "code": "bad_thing", "message": "no"})
        await websocket.close(1008)

    metrics = GatewayMetrics()
    if keys:
        app.add_middleware(ApiKeyAuth, keys=keys)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=lambda: app.router.routes)
    app.add_middleware(RequestIdMiddleware)  # binds the context the model is recorded in
    return TestClient(app), metrics


def test_requests_are_counted_by_template_model_and_status() -> None:
    client, metrics = app_and_metrics()
    for path in ("/items/1", "/items/2", "/items/0", "/items/x", "/nowhere/123"):
        client.get(path)
    found = samples(metrics)

    def count(**labels: str) -> float:
        return found.get(("polyvox_requests_total", frozenset(labels.items())), 0)

    item = {"method": "GET", "route": "/items/{item_id}"}
    assert count(**item, model="piper/joe", status="200") == 2
    assert count(**item, model="piper/joe", status="404") == 1
    assert count(**item, model="", status="400") == 1  # refused before the handler ran
    assert count(method="GET", route="unmatched", model="", status="404") == 1
    assert found[("polyvox_errors_total", frozenset({("code", "not_found")}))] == 1
    assert found[("polyvox_errors_total", frozenset({("code", "invalid_value")}))] == 1
    assert found[("polyvox_errors_total", frozenset({("code", "http_404")}))] == 1


def test_refusals_before_routing_still_get_their_route_template() -> None:
    client, metrics = app_and_metrics(keys=("k",))
    assert client.get("/items/7").status_code == 401
    found = samples(metrics)
    labels = {"method": "GET", "route": "/items/{item_id}", "model": "", "status": "401"}
    assert found[("polyvox_requests_total", frozenset(labels.items()))] == 1
    assert found[("polyvox_errors_total", frozenset({("code", "invalid_api_key")}))] == 1


def test_websocket_sessions_and_their_error_events_are_counted() -> None:
    client, metrics = app_and_metrics()
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "error"
    found = samples(metrics)
    labels = {"method": "WS", "route": "/ws", "model": "", "status": "101"}
    assert found[("polyvox_requests_total", frozenset(labels.items()))] == 1
    assert found[("polyvox_errors_total", frozenset({("code", "bad_thing")}))] == 1


def test_speech_observations() -> None:
    metrics = GatewayMetrics()
    metrics.observe_speech("m", first_audio_s=0.1, total_s=0.5, audio_s=2.0)
    metrics.observe_speech("m", first_audio_s=None, total_s=0.1, audio_s=0.0)
    found = samples(metrics)
    model = frozenset({("model", "m")})
    assert found[("polyvox_speech_first_audio_seconds_count", model)] == 1
    assert found[("polyvox_speech_duration_seconds_count", model)] == 2
    assert found[("polyvox_speech_real_time_factor_sum", model)] == 0.25
    assert found[("polyvox_audio_seconds_total", model)] == 2.0


def test_each_registry_is_its_own() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()  # no duplicate-name error
    first.error("x")
    assert ("polyvox_errors_total", frozenset({("code", "x")})) not in samples(second)


def test_worker_collector_reads_the_latest_description() -> None:
    worker = StaticWorker(worker_id="piper-0", engine="piper", state="starting")
    metrics = GatewayMetrics()
    metrics.registry.register(WorkerCollector(lambda: [worker]))
    labels = frozenset({("worker_id", "piper-0"), ("engine", "piper")})
    before = samples(metrics)
    assert before[("polyvox_worker_up", labels)] == 0
    assert ("polyvox_worker_queue_depth", labels) not in before  # nothing known yet

    worker.state = "up"
    worker.restarts = 2
    worker.description = WorkerDescription(
        engine="piper", engine_version="1", models=(), in_flight=3, capacity=16,
        sessions=40, max_sessions=4096,
        stats=WorkerStats(queue_depth=4, inference_running=1, model_loads_total=5,
                          model_load_seconds_total=2.5, evictions_total=1,
                          memory_rss_bytes=1000),
    )  # fmt: skip
    after = samples(metrics)
    expected = {
        "polyvox_worker_up": 1, "polyvox_worker_crash_looping": 0,
        "polyvox_worker_restarts_total": 2,
        "polyvox_worker_in_flight": 3, "polyvox_worker_capacity": 16,
        "polyvox_worker_sessions": 40, "polyvox_worker_max_sessions": 4096,
        "polyvox_worker_queue_depth": 4, "polyvox_worker_inference_running": 1,
        "polyvox_worker_model_loads_total": 5, "polyvox_worker_model_load_seconds_total": 2.5,
        "polyvox_worker_model_evictions_total": 1, "polyvox_worker_resident_models": 0,
        "polyvox_worker_memory_rss_bytes": 1000, "polyvox_worker_log_lines_dropped_total": 0,
    }  # fmt: skip
    assert {name: after[(name, labels)] for name in expected} == expected

    worker.state = "crash_looping"
    assert samples(metrics)[("polyvox_worker_crash_looping", labels)] == 1
