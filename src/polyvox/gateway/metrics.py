"""Prometheus metrics of the gateway and of its workers, served at ``GET /metrics``.

Gateway figures (requests, latencies, audio produced, errors) are ordinary
prometheus-client metrics updated as requests run. Worker figures come from the
workers themselves, through the gRPC contract: ``Describe`` carries a
``WorkerStats`` (queue depth, loads, load seconds, evictions, memory), which the
supervisor already polls for routing; a custom collector turns the latest
descriptions into metrics at scrape time.

Why not a metrics port per worker: it would double the ports to allocate, open and
secure for every worker (and every replica), Prometheus would need to discover each
one (locally they sit on Unix sockets it cannot scrape), and across hosts the one
channel the gateway already has to a worker is its gRPC address. Polling Describe
keeps one port per worker, works wherever the gateway can reach a worker, and
costs nothing extra: the descriptions are read anyway. The price is that worker
counters are as fresh as the last poll (``describe_interval_s``), and a worker
histogram would have to ship its buckets; load durations are therefore exported as
a sum and a count (their ratio is the mean).

Every app owns its ``CollectorRegistry``, so several apps in one process (tests)
never collide in prometheus-client's global registry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polyvox.gateway.registry import WorkerHandle
from polyvox.gateway.waiting_line import WaitingLine
from polyvox.logs import current_context

#: First audio is what a voice agent waits for: fine buckets below one second.
_FIRST_AUDIO_BUCKETS_S = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10)
_TOTAL_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
#: Processing seconds per second of audio: below 1 is faster than real time.
_RTF_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5)
#: Error bodies larger than this are not parsed for their code.
_MAX_ERROR_BODY_BYTES = 64 * 1024
UNMATCHED_ROUTE = "unmatched"


class GatewayMetrics:
    """The gateway's metrics, in a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "polyvox_requests",
            "HTTP requests and WebSocket sessions, by route template, model and status.",
            ["method", "route", "model", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "polyvox_errors",
            "Errors answered to clients (JSON errors and WebSocket error events), by code.",
            ["code"],
            registry=self.registry,
        )
        self.first_audio = Histogram(
            "polyvox_speech_first_audio_seconds",
            "Seconds from a speech request's arrival to its first audio bytes.",
            ["model"],
            buckets=_FIRST_AUDIO_BUCKETS_S,
            registry=self.registry,
        )
        self.total = Histogram(
            "polyvox_speech_duration_seconds",
            "Seconds from a speech request's arrival to its last byte.",
            ["model"],
            buckets=_TOTAL_BUCKETS_S,
            registry=self.registry,
        )
        self.real_time_factor = Histogram(
            "polyvox_speech_real_time_factor",
            "Seconds taken per second of audio produced (below 1: faster than real time).",
            ["model"],
            buckets=_RTF_BUCKETS,
            registry=self.registry,
        )
        self.audio_seconds = Counter(
            "polyvox_audio_seconds",
            "Seconds of speech audio produced, by model.",
            ["model"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "polyvox_queue_wait_seconds",
            "Seconds a request waited in its engine's line before a worker took it.",
            ["engine"],
            buckets=_TOTAL_BUCKETS_S,
            registry=self.registry,
        )
        self.queue_refused = Counter(
            "polyvox_queue_refused",
            "Requests refused by an engine's line (full, too long a wait, timed out).",
            ["engine", "reason"],
            registry=self.registry,
        )
        ProcessCollector(namespace="polyvox_gateway", registry=self.registry)

    def observe_speech(
        self, model: str, *, first_audio_s: float | None, total_s: float, audio_s: float
    ) -> None:
        """Record one finished (or ended) speech stream."""
        if first_audio_s is not None:
            self.first_audio.labels(model).observe(first_audio_s)
        self.total.labels(model).observe(total_s)
        if audio_s > 0:
            self.audio_seconds.labels(model).inc(audio_s)
            self.real_time_factor.labels(model).observe(total_s / audio_s)

    def observe_audio(self, model: str, audio_s: float) -> None:
        """Audio produced outside a timed request (a WebSocket session)."""
        if audio_s > 0:
            self.audio_seconds.labels(model).inc(audio_s)

    def error(self, code: str | None) -> None:
        self.errors.labels(code or "unknown").inc()


def _labels(worker: WorkerHandle) -> list[str]:
    return [worker.worker_id, worker.engine]


class WorkerCollector(Collector):
    """Worker figures from the registry's latest ``Describe`` of each worker."""

    def __init__(self, workers: Callable[[], Sequence[WorkerHandle]]) -> None:
        self._workers = workers

    def collect(self) -> Iterable[Metric]:
        labels = ["worker_id", "engine"]

        def gauge(name: str, doc: str, extra: Iterable[str] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"polyvox_worker_{name}", doc, labels=[*labels, *extra])

        def counter(name: str, doc: str) -> CounterMetricFamily:
            return CounterMetricFamily(f"polyvox_worker_{name}", doc, labels=labels)

        up = gauge("up", "1 when the worker process is up and answering, else 0.")
        looping = gauge(
            "crash_looping", "1 while the worker keeps failing to start or stay up, else 0."
        )
        restarts = counter("restarts", "Times the supervisor restarted the worker.")
        dropped = counter("log_lines_dropped", "Worker log lines dropped by a slow relay.")
        in_flight = gauge("in_flight", "Streams working now (synthesizing or decoding).")
        capacity = gauge("capacity", "Streams the worker lets work at once.")
        sessions = gauge("sessions", "Streams open now, working or idle.")
        max_sessions = gauge("max_sessions", "Streams the worker lets be open at once.")
        queue = gauge("queue_depth", "Inference steps waiting in the worker's scheduler.")
        running = gauge("inference_running", "Inference steps running now.")
        loads = counter("model_loads", "Models loaded (and warmed up) by the worker process.")
        load_s = counter("model_load_seconds", "Seconds the worker process spent loading models.")
        evictions = counter("model_evictions", "Models evicted by the worker process.")
        resident = gauge("resident_models", "Models resident in the worker now.")
        resident_model = gauge("model_resident", "1 for each resident model.", ["model"])
        rss = gauge("memory_rss_bytes", "Resident memory of the worker process.")
        for worker in self._workers():
            values = _labels(worker)
            up.add_metric(values, 1.0 if worker.serving else 0.0)
            looping.add_metric(values, 1.0 if worker.state == "crash_looping" else 0.0)
            restarts.add_metric(values, worker.restarts)
            dropped.add_metric(values, worker.log_lines_dropped)
            description = worker.description
            if description is None:
                continue
            stats = description.stats
            in_flight.add_metric(values, description.in_flight)
            capacity.add_metric(values, description.capacity)
            sessions.add_metric(values, description.sessions)
            max_sessions.add_metric(values, description.max_sessions)
            queue.add_metric(values, stats.queue_depth)
            running.add_metric(values, stats.inference_running)
            loads.add_metric(values, stats.model_loads_total)
            load_s.add_metric(values, stats.model_load_seconds_total)
            evictions.add_metric(values, stats.evictions_total)
            resident.add_metric(values, len(description.resident))
            for model in description.resident:
                resident_model.add_metric([*values, f"{worker.engine}/{model.model_id}"], 1)
            if stats.memory_rss_bytes:
                rss.add_metric(values, stats.memory_rss_bytes)
        yield from (up, looping, restarts, dropped, in_flight, capacity, sessions, max_sessions)
        yield from (queue, running, loads, load_s)
        yield from (evictions, resident, resident_model, rss)


class LineCollector(Collector):
    """Each engine's line as it is at scrape time: the HPA signal of a cluster."""

    def __init__(self, lines: Callable[[], Mapping[str, WaitingLine]]) -> None:
        self._lines = lines

    def collect(self) -> Iterable[Metric]:
        waiting = GaugeMetricFamily(
            "polyvox_queue_waiting", "Requests waiting in an engine's line now.", labels=["engine"]
        )
        drain = GaugeMetricFamily(
            "polyvox_queue_drain_per_second",
            "Streams of an engine that ended per second lately (what a wait is estimated from).",
            labels=["engine"],
        )
        for engine, line in sorted(self._lines().items()):
            waiting.add_metric([engine], line.waiting)
            if (rate := line.drain_per_s()) is not None:
                drain.add_metric([engine], rate)
        yield from (waiting, drain)


class RegistryCollector(Collector):
    """The cluster registry as a gateway sees it (nothing without one)."""

    def __init__(self, discovery: Callable[[], Mapping[str, Any] | None]) -> None:
        self._discovery = discovery

    def collect(self) -> Iterable[Metric]:
        state = self._discovery()
        if state is None:
            return
        up = GaugeMetricFamily(
            "polyvox_registry_up",
            "1 while the worker registry (Redis) answers; 0: routing to last-known workers.",
        )
        up.add_metric([], 1.0 if state["reachable"] else 0.0)
        workers = GaugeMetricFamily(
            "polyvox_registry_workers", "Workers this gateway knows from the registry."
        )
        workers.add_metric([], state["workers"])
        bad = GaugeMetricFamily(
            "polyvox_registry_bad_records",
            "Registry records skipped in the latest read (malformed, or superseded duplicates).",
        )
        bad.add_metric([], len(state["bad_records"]) + len(state["duplicates"]))
        yield from (up, workers, bad)
        if (since_s := state["seconds_since_contact"]) is not None:
            contact = GaugeMetricFamily(
                "polyvox_registry_seconds_since_contact",
                "Seconds since the registry last answered this gateway.",
            )
            contact.add_metric([], since_s)
            yield contact


def route_template(scope: Scope, routes: Iterable[BaseRoute]) -> str:
    """The route's template (``/v1/audio/speech``), never the raw path: bounded labels.

    Routing sets ``scope["route"]``; a request refused before routing (401, 413) is
    matched here against the app's routes instead.
    """
    route = scope.get("route")
    if route is None:
        partial = None
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate
        route = route or partial
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _error_code(body: bytes | str, status: int | None = None) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    if isinstance(payload.get("error"), dict):  # OpenAI's shape
        return str(payload["error"].get("code") or f"http_{status or 'error'}")
    if payload.get("type") == "error":  # a WebSocket error event
        return str(payload.get("code") or "unknown")
    return None


class MetricsMiddleware:
    """Count every request and WebSocket session, and every error code answered.

    Error codes are read from the answers themselves (OpenAI-shaped JSON bodies,
    WebSocket ``error`` events), so errors raised anywhere below, by any route,
    are counted without the route doing anything.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: GatewayMetrics, routes: Callable[[], Iterable[BaseRoute]]
    ) -> None:
        self.app = app
        self._metrics = metrics
        self._routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"status": None, "error_body": None}

        async def observe(message: Message) -> None:
            _observe(message, state, self._metrics)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        except BaseException:
            state["status"] = state["status"] or 500
            raise
        finally:
            self._finish(scope, state)

    def _finish(self, scope: Scope, state: dict[str, Any]) -> None:
        status = state["status"] or 499  # no answer started: the client went away
        body = state["error_body"]
        if body is not None and (code := _error_code(bytes(body), status)) is not None:
            self._metrics.error(code)
        context = current_context()
        self._metrics.requests.labels(
            scope.get("method", "WS") if scope["type"] == "http" else "WS",
            route_template(scope, self._routes()),
            (context.model if context else None) or "",
            str(status),
        ).inc()


def _observe(message: Message, state: dict[str, Any], metrics: GatewayMetrics) -> None:
    kind = message["type"]
    if kind in ("http.response.start", "websocket.http.response.start"):
        state["status"] = message["status"]
        headers = dict(message.get("headers", ()))
        if message["status"] >= 400 and headers.get(b"content-type", b"").startswith(
            b"application/json"
        ):
            state["error_body"] = bytearray()
    elif kind in ("http.response.body", "websocket.http.response.body"):
        body = state["error_body"]
        if body is not None and len(body) < _MAX_ERROR_BODY_BYTES:
            body += message.get("body", b"")
    elif kind == "websocket.accept":
        state["status"] = 101
    elif kind == "websocket.close" and state["status"] is None:
        state["status"] = 403  # closed before accepting: the server answers 403
    elif kind == "websocket.send" and '"error"' in (text := message.get("text") or "")[:64]:
        code = _error_code(text)
        if code is not None:
            metrics.error(code)
