"""Liveness, readiness and the detailed health report."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from polyvox.config import Settings
from polyvox.errors import PolyvoxError
from polyvox.gateway.registry import WorkerHandle, WorkerRegistry
from polyvox.gateway.routing import Router
from polyvox.gateway.waiting_line import Lines

router = APIRouter()

#: Longest /health waits for all workers' Describe, together (they are asked at once).
_DESCRIBE_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers: nothing more is checked."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 only when the default model can be served now (preloaded and warmed up); the
    body also says where every preloaded model stands."""
    routes: Router = request.app.state.router
    registry: WorkerRegistry = request.app.state.registry
    settings: Settings = request.app.state.settings
    preloaded = {
        f"{engine}/{model}": _model_state(routes, f"{engine}/{model}")
        for engine, engine_settings in settings.engines.items()
        for model in engine_settings.preload
    }
    try:
        route = routes.resolve(settings.default_model)
    except PolyvoxError as exc:
        reasons = [exc.message, f"workers: {registry.status}"]
        body = {"status": "not ready", "reasons": reasons, "preloaded": preloaded}
        return JSONResponse(body, status_code=503)
    description = await route.worker.refresh()
    if description is not None and route.model.id in description.loading:
        reasons = [f"{route.native_id} is loading on {route.worker.worker_id}"]
        body = {"status": "not ready", "reasons": reasons, "preloaded": preloaded}
        return JSONResponse(body, status_code=503)
    return JSONResponse(
        {"status": "ready", "default_model": route.native_id, "preloaded": preloaded}
    )


def _model_state(routes: Router, native_id: str) -> str:
    """``ready`` (resident on a worker that is up), ``loading``, or ``not ready``."""
    model_id = native_id.partition("/")[2]
    loading = False
    for worker in routes.workers_for(native_id):
        description = worker.description
        if not worker.serving or description is None:
            continue
        if description.is_resident(model_id):
            return "ready"
        loading = loading or model_id in description.loading
    return "loading" if loading else "not ready"


def _report(worker: WorkerHandle) -> dict[str, Any]:
    description = worker.description
    return {
        "id": worker.worker_id,
        "engine": worker.engine,
        "state": worker.state,
        "address": worker.address,
        "pid": worker.pid,
        "up_since_s": worker.up_since_s,
        "restarts": worker.restarts,
        "last_error": worker.last_error,
        "device": description.device if description else None,
        "engine_version": description.engine_version if description else None,
        "models": [m.id for m in description.models] if description else [],
        "resident_models": [r.model_id for r in description.resident] if description else [],
        "loading_models": list(description.loading) if description else [],
        "in_flight": description.in_flight if description else 0,
        "capacity": description.capacity if description else 0,
        "sessions": description.sessions if description else 0,
        "max_sessions": description.max_sessions if description else 0,
        "runtime": dict(description.runtime) if description else {},
    }


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    registry: WorkerRegistry = request.app.state.registry
    workers = registry.workers()
    # All at once, bounded: one hung worker must not hold the report (its last answer
    # is shown instead).
    refreshes = [asyncio.create_task(worker.refresh()) for worker in workers]
    if refreshes:
        _, pending = await asyncio.wait(refreshes, timeout=_DESCRIBE_TIMEOUT_S)
        for task in pending:
            task.cancel()
    lines: Lines = request.app.state.lines
    report: dict[str, Any] = {
        "status": registry.status,
        "failed_engines": dict(registry.failed_engines),
        "workers": [_report(worker) for worker in workers],
        "queues": {
            engine: {
                "waiting": line.waiting,
                "max_waiting": line.settings.max_waiting,
                "max_wait_s": line.settings.max_wait_s,
                "drain_per_s": line.drain_per_s(),
            }
            for engine, line in sorted(lines.all().items())
        },
    }
    if (discovery := registry.discovery()) is not None:
        # The cluster registry: whether it answers, and the records it could not use.
        report["registry"] = dict(discovery)
    return report
