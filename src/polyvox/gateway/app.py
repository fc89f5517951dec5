"""Build the FastAPI application; the supervisor starts with it and stops with it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI, WebSocket

import polyvox
from polyvox.config import Settings
from polyvox.gateway.errors import error_response, install_error_handlers
from polyvox.gateway.limits import BodySizeLimit
from polyvox.gateway.operations import install_operations
from polyvox.gateway.realtime.llm import LlmClient, LlmEndpoint
from polyvox.gateway.registry.factory import build_registry
from polyvox.gateway.routes import catalog, health, page, ps, realtime, speech, transcriptions
from polyvox.gateway.routing import Router
from polyvox.gateway.waiting_line import Lines
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.server import WyomingServer
from polyvox.supervisor.supervisor import Supervisor
from polyvox.text.segment import Segmenters

logger = logging.getLogger(__name__)


def _realtime_llm(settings: Settings) -> LlmClient | None:
    """One client (one connection pool) to the user's language model, if configured."""
    llm = settings.realtime.llm
    if not llm.base_url or not llm.model:
        return None
    return LlmClient(
        LlmEndpoint(
            base_url=llm.base_url,
            model=llm.model,
            api_key=llm.api_key.get_secret_value() if llm.api_key else None,
            connect_timeout_s=llm.connect_timeout_s,
            read_timeout_s=llm.read_timeout_s,
        )
    )


def create_app(settings: Settings, *, local_workers: bool = True) -> FastAPI:
    """The gateway; ``local_workers``: run the configured engines' workers here (``serve``),
    else route only to the workers of the registry (``gateway``)."""
    supervisor = Supervisor(settings) if local_workers else None
    # One line per engine, in front of its workers: past their capacity, requests wait
    # in it (and each stream's end wakes it).
    lines = Lines(
        settings.queue,
        {name: engine.queue for name, engine in settings.engines.items() if engine.queue},
    )
    registry = build_registry(settings, supervisor=supervisor, on_stream_end=lines.stream_ended)
    realtime_llm = _realtime_llm(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Workers start in the background so /healthz answers (and /readyz says
        # why not yet) during a minutes-long first environment build.
        starting = asyncio.create_task(registry.start(), name="registry-start")
        if supervisor is not None:
            starting.add_done_callback(_log_start_failure(supervisor))
        wyoming = None
        if settings.wyoming.uri is not None:
            # Home Assistant's protocol, on its own port, served from the same engines.
            shared = Gateway(app.state.router, app.state.segmenters, lines, settings)
            wyoming = WyomingServer(settings.wyoming, shared)
            await wyoming.start()
        try:
            yield
        finally:
            if wyoming is not None:
                await wyoming.stop()
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            await registry.stop()
            if realtime_llm is not None:
                await realtime_llm.aclose()

    app = FastAPI(title="Polyvox", version=polyvox.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.registry = registry
    app.state.lines = lines
    app.state.router = Router(settings, registry, local_workers=local_workers)
    # Segmenters for the HTTP and WebSocket paths, one per language: rules compile once.
    app.state.segmenters = Segmenters(settings.segmentation)
    app.state.realtime_llm = realtime_llm
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_body_bytes=settings.max_body_bytes,
        path_limits={transcriptions.TRANSCRIPTIONS_PATH: settings.max_upload_bytes},
    )
    # Request ids, CORS, metrics, API keys: around everything above and below.
    install_operations(app, settings, registry, lines)
    for module in (speech, transcriptions, realtime, catalog, health, ps, page):
        app.include_router(module.router)
    app.add_api_websocket_route("/{path:path}", _unknown_websocket)  # last: a catch-all
    return app


async def _unknown_websocket(websocket: WebSocket) -> None:
    """A WebSocket to a path nobody serves gets a JSON 404, not Starlette's bare 403."""
    if "websocket.http.response" not in websocket.scope.get("extensions", {}):
        await websocket.close(code=1008, reason="no WebSocket route here")
        return
    await websocket.send_denial_response(
        error_response(404, f"no WebSocket route at {websocket.url.path}", code="not_found")
    )


def _log_start_failure(supervisor: Supervisor) -> Callable[[asyncio.Task[None]], None]:
    def callback(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            supervisor.status = f"failed to start: {exc}"
            logger.error("supervisor failed to start workers: %s", exc, exc_info=exc)

    return callback
