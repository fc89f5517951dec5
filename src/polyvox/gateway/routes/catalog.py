"""``GET /v1/models`` and ``GET /v1/audio/voices``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from polyvox.gateway.routing import Router

router = APIRouter()


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    routes: Router = request.app.state.router
    catalog = routes.catalog()
    data = [
        {"id": native_id, "object": "model", "created": 0, "owned_by": worker.engine}
        for native_id, (_, worker) in sorted(catalog.items())
    ]
    data += [
        {"id": alias, "object": "model", "created": 0, "owned_by": "polyvox", "alias_of": target}
        for alias, target in sorted(routes.aliases().items())
        if target in catalog
    ]
    return {"object": "list", "data": data}


@router.get("/v1/audio/voices")
async def list_voices(request: Request) -> dict[str, Any]:
    routes: Router = request.app.state.router
    voices = [
        {
            "model": native_id,
            "id": voice.id,
            "language": voice.language,
            "languages": list(voice.languages),
            "native_sample_rate_hz": model.native_sample_rate_hz,
            "default": index == 0,
            "labels": dict(voice.labels),
        }
        for native_id, (model, _) in sorted(routes.catalog().items())
        for index, voice in enumerate(model.voices)
    ]
    return {"object": "list", "data": voices}
