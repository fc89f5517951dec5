"""``/api/ps``: which models are resident where, and loading or unloading them by hand.

Model ids contain a slash (``piper/en_US-joe-medium``), hence the ``:path`` parameters.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from polyvox.contract.types import ResidentModelInfo
from polyvox.errors import ModelBusy, PolyvoxError
from polyvox.gateway.registry import WorkerHandle, WorkerRegistry
from polyvox.gateway.routing import Router

router = APIRouter(prefix="/api/ps", tags=["models"])


def _timestamp(unix_s: float) -> str | None:
    """ISO 8601 in UTC; None for 0 (never)."""
    return datetime.fromtimestamp(unix_s, UTC).isoformat() if unix_s else None


def _entries(worker: WorkerHandle) -> list[dict[str, Any]]:
    description = worker.description
    if description is None:
        return []
    common = {"engine": worker.engine, "worker": worker.worker_id}
    entries = [_resident_entry(worker, resident) for resident in description.resident]
    entries += [
        {
            "model": f"{worker.engine}/{model_id}",
            **common,
            "status": "loading",
            "loaded_at": None,
            "last_used_at": None,
            "expires_at": None,
            "in_flight": 0,
        }
        for model_id in description.loading
    ]
    return entries


def _resident_entry(worker: WorkerHandle, resident: ResidentModelInfo) -> dict[str, Any]:
    return {
        "model": f"{worker.engine}/{resident.model_id}",
        "engine": worker.engine,
        "worker": worker.worker_id,
        "status": "resident",
        "loaded_at": _timestamp(resident.loaded_at_s),
        "last_used_at": _timestamp(resident.last_used_at_s),
        "expires_at": _timestamp(resident.expires_at_s),
        "in_flight": resident.in_flight,
    }


@router.get("")
async def list_resident(request: Request) -> dict[str, Any]:
    """Every resident (or loading) model on every worker."""
    registry: WorkerRegistry = request.app.state.registry
    workers = list(registry.workers())
    await asyncio.gather(*(worker.refresh() for worker in workers))
    return {"object": "list", "data": [entry for w in workers for entry in _entries(w)]}


@router.post("/{model_id:path}")
async def load(request: Request, model_id: str) -> dict[str, Any]:
    """Load a model (by native id or alias) on the replica the router would pick."""
    routes: Router = request.app.state.router
    route = routes.resolve(model_id)
    engine_model_id = route.native_id.partition("/")[2]
    duration_s = await route.worker.client.load(engine_model_id)
    description = await route.worker.refresh()
    resident = next(
        (r for r in description.resident if r.model_id == engine_model_id), None
    ) if description else None  # fmt: skip
    entry = _resident_entry(route.worker, resident) if resident else {"model": route.native_id}
    return {**entry, "load_duration_s": duration_s}


@router.delete("/{model_id:path}")
async def unload(request: Request, model_id: str) -> dict[str, Any]:
    """Unload a model from every replica holding it. A replica whose streams still use
    it keeps it (409, naming it) while every other replica unloads."""
    routes: Router = request.app.state.router
    route = routes.resolve(model_id)
    engine_model_id = route.native_id.partition("/")[2]
    replicas = [w for w in routes.workers_for(route.native_id) if w.serving]
    results = await asyncio.gather(
        *(w.client.unload(engine_model_id) for w in replicas), return_exceptions=True
    )
    await asyncio.gather(*(w.refresh() for w in replicas))
    unloaded = [w.worker_id for w, done in zip(replicas, results, strict=True) if done is True]
    busy = [w.worker_id for w, done in zip(replicas, results, strict=True)
            if isinstance(done, ModelBusy)]  # fmt: skip
    for result in results:
        if isinstance(result, PolyvoxError) and not isinstance(result, ModelBusy):
            raise result
        if isinstance(result, BaseException) and not isinstance(result, PolyvoxError):
            raise result
    if busy:
        raise ModelBusy(
            f"model {route.native_id!r} is serving streams on {', '.join(busy)}; "
            f"unloaded from: {', '.join(unloaded) or 'none'}"
        )
    return {"model": route.native_id, "unloaded": bool(unloaded), "workers": unloaded}
