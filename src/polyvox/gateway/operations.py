"""Wire the operational layer into an app: request ids, CORS, metrics, API keys, OpenAPI.

Everything here is pure ASGI middleware around the whole app, so routes added
later (by anyone) get ids, metrics and authentication without doing anything.
Order, outermost first: request id (every answer carries it, refusals too) →
CORS (a browser can read a 401) → metrics (refusals are counted) → API keys →
the body-size limit and the routes.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from polyvox.config import Settings
from polyvox.gateway.auth import ApiKeyAuth
from polyvox.gateway.metrics import (
    GatewayMetrics,
    LineCollector,
    MetricsMiddleware,
    RegistryCollector,
    WorkerCollector,
)
from polyvox.gateway.openapi import install_openapi
from polyvox.gateway.registry import WorkerRegistry
from polyvox.gateway.request_id import RequestIdMiddleware
from polyvox.gateway.routes import metrics as metrics_route
from polyvox.gateway.waiting_line import Lines


def install_operations(
    app: FastAPI, settings: Settings, registry: WorkerRegistry, lines: Lines
) -> None:
    """Call after the app's own middleware: what is added here wraps it."""
    metrics = GatewayMetrics()
    metrics.registry.register(WorkerCollector(registry.workers))
    metrics.registry.register(LineCollector(lines.all))
    metrics.registry.register(RegistryCollector(registry.discovery))
    lines.on_wait = lambda engine, waited_s: metrics.queue_wait.labels(engine).observe(waited_s)
    lines.on_refusal = lambda engine, reason: metrics.queue_refused.labels(engine, reason).inc()
    app.state.metrics = metrics
    app.include_router(metrics_route.router)
    install_openapi(app, auth=bool(settings.api_keys))

    # add_middleware wraps what is there: innermost first.
    if settings.api_keys:
        keys = [key.get_secret_value() for key in settings.api_keys]
        app.add_middleware(ApiKeyAuth, keys=keys)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=lambda: app.router.routes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestIdMiddleware)
