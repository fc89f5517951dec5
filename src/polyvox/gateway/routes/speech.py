"""``POST /v1/audio/speech``: OpenAI-compatible text to speech, streamed as it is made."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

import grpc
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import StreamingResponse

from polyvox.audio import create_encoder
from polyvox.gateway.errors import ApiError
from polyvox.gateway.routing import Router
from polyvox.gateway.schemas import SpeechRequest
from polyvox.gateway.speech import DEFAULT_SAMPLE_RATE_HZ, stream_encoded
from polyvox.gateway.sse import sse_events
from polyvox.gateway.worker_client import SynthesisSettings
from polyvox.gateway.ws_session import SpeechSession
from polyvox.text.normalize import clean_text
from polyvox.text.segment import Segmenter

logger = logging.getLogger(__name__)
router = APIRouter()
_SEGMENTER = Segmenter()


@router.websocket("/v1/audio/speech/ws")
async def speech_websocket(websocket: WebSocket) -> None:
    """Text chunks in, fixed pcm frames out; see polyvox.gateway.ws_session."""
    await websocket.accept()
    session = SpeechSession(
        websocket,
        websocket.app.state.router,
        max_text_chars=websocket.app.state.settings.max_input_chars,
    )
    await session.run()


@router.post("/v1/audio/speech", response_class=StreamingResponse)
async def create_speech(body: SpeechRequest, request: Request) -> StreamingResponse:
    settings = request.app.state.settings
    routes: Router = request.app.state.router
    # Everything is checked before any synthesis starts.
    text = clean_text(body.input)
    if not text.strip():
        raise ApiError(400, "input must contain text to speak", code="empty_input", param="input")
    if len(body.input) > settings.max_input_chars:
        raise ApiError(
            413,
            f"input has {len(body.input)} characters; the limit is {settings.max_input_chars}",
            code="input_too_long",
            param="input",
        )
    sample_rate_hz = body.sample_rate or DEFAULT_SAMPLE_RATE_HZ
    encoder = create_encoder(body.response_format, sample_rate_hz=sample_rate_hz)
    route = routes.resolve(body.model)
    voice = routes.resolve_voice(route.model, body.voice)
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    segments = await asyncio.to_thread(_SEGMENTER.split, text)

    chunks = stream_encoded(
        route.worker.client,
        SynthesisSettings(
            model_id=route.model.id, voice=voice, speed=body.speed, request_id=request_id
        ),
        segments,
        encoder=encoder,
    )
    # Headers go out only once the first audio exists: an early failure is still
    # a JSON error with its own status, never a 200 with a broken body.
    first = await anext(chunks)
    audio = _body(first, chunks, request_id)
    sse = body.stream_format == "sse"
    return StreamingResponse(
        sse_events(audio) if sse else audio,
        media_type="text/event-stream" if sse else encoder.content_type,
        headers={
            "x-request-id": request_id,
            "x-polyvox-model": route.native_id,
            "x-polyvox-voice": voice,
            "x-polyvox-sample-rate": str(sample_rate_hz),
        },
    )


async def _body(
    first: bytes, rest: AsyncGenerator[bytes, None], request_id: str
) -> AsyncIterator[bytes]:
    try:
        yield first
        async for chunk in rest:
            yield chunk
    except grpc.aio.AioRpcError as exc:
        # Headers are sent: the only honest signal left is an unfinished body.
        logger.warning("request %s: stream ended by the worker: %s", request_id, exc.details())
        raise
    finally:
        await rest.aclose()
