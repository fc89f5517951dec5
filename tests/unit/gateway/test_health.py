"""/health asks every worker at once, and a hung one does not hold the report."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from polyvox.config import LineSettings, Settings
from polyvox.contract.types import WorkerDescription
from polyvox.gateway.routes import health
from polyvox.gateway.routing import Router
from polyvox.gateway.waiting_line import Lines
from support.handles import StaticRegistry, StaticWorker


class HungWorker(StaticWorker):
    async def refresh(self) -> WorkerDescription | None:
        await asyncio.Event().wait()  # never answers
        return self.description


async def test_a_hung_worker_is_reported_with_what_was_last_known() -> None:
    answering = StaticWorker(
        "piper-0", "piper", WorkerDescription("piper", "1.3", models=(), capacity=16)
    )
    hung = HungWorker("kokoro-0", "kokoro", WorkerDescription("kokoro", "0.6", models=()))
    looping = StaticWorker("whisper-0", "whisper", state="crash_looping", last_error="exit 1")
    registry = StaticRegistry([answering, hung, looping], failed_engines={"espeak": "no wheel"})
    app = FastAPI()
    app.include_router(health.router)
    app.state.registry = registry
    app.state.router = Router(Settings(config=None), registry)
    app.state.lines = Lines(LineSettings(), {})
    app.state.lines["piper"].stream_ended()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        report = (await client.get("/health")).json()
    states = {w["id"]: (w["state"], w["engine_version"]) for w in report["workers"]}
    assert states == {
        "piper-0": ("up", "1.3"),
        "kokoro-0": ("up", "0.6"),
        "whisper-0": ("crash_looping", None),
    }
    assert report["workers"][2]["last_error"] == "exit 1"
    assert report["failed_engines"] == {"espeak": "no wheel"}
    assert report["queues"]["piper"]["waiting"] == 0
