"""Liveness, readiness and the detailed health report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from polyvox.errors import PolyvoxError
from polyvox.gateway.routing import Router
from polyvox.supervisor.supervisor import Supervisor

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers: nothing more is checked."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 only when the default model can be served now (preloaded and warmed up)."""
    routes: Router = request.app.state.router
    supervisor: Supervisor = request.app.state.supervisor
    default_model = request.app.state.settings.default_model
    try:
        route = routes.resolve(default_model)
    except PolyvoxError as exc:
        reasons = [exc.message, f"supervisor: {supervisor.status}"]
        return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
    description = await route.worker.refresh()
    if description is not None and route.model.id in description.loading:
        reasons = [f"{route.native_id} is loading on {route.worker.spec.worker_id}"]
        return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready", "default_model": route.native_id})


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    supervisor: Supervisor = request.app.state.supervisor
    workers = []
    for worker in supervisor.workers.values():
        description = await worker.refresh()
        workers.append(
            {
                "id": worker.spec.worker_id,
                "engine": worker.spec.engine,
                "state": worker.state.value,
                "address": worker.spec.address,
                "pid": worker.pid,
                "up_since_s": worker.up_since_s,
                "restarts": worker.restarts,
                "last_error": worker.last_error,
                "device": description.device if description else None,
                "engine_version": description.engine_version if description else None,
                "models": [m.id for m in description.models] if description else [],
                "resident_models": [r.model_id for r in description.resident]
                if description
                else [],
                "loading_models": list(description.loading) if description else [],
                "in_flight": description.in_flight if description else 0,
                "capacity": description.capacity if description else 0,
                "runtime": dict(description.runtime) if description else {},
            }
        )
    return {"status": supervisor.status, "workers": workers}
