"""``POST /v1/audio/transcriptions`` (OpenAI-compatible) and its WebSocket streaming twin."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, BinaryIO, Literal

import numpy as np
from fastapi import APIRouter, File, Form, Request, UploadFile, WebSocket
from fastapi.responses import Response, StreamingResponse

from polyvox.audio.decode import AudioDecodeError, decode_audio
from polyvox.contract.types import (
    Capability,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptSegment,
)
from polyvox.errors import PolyvoxError
from polyvox.gateway.admission import ClientGone, admit_while_connected, on_some_replica
from polyvox.gateway.auth import accepted_subprotocol
from polyvox.gateway.deadline import Deadline
from polyvox.gateway.errors import ApiError, error_body
from polyvox.gateway.languages import resolve_language
from polyvox.gateway.openapi import error_responses
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.sessions.transcription import TranscriptionSession
from polyvox.gateway.transcript_formats import (
    Transcript,
    TranscriptFormat,
    render,
    sse_event,
    text_delta,
    text_done,
)
from polyvox.gateway.waiting_line import WaitingLine
from polyvox.logs import current_request_id, set_model

logger = logging.getLogger(__name__)
router = APIRouter()

#: Where uploads go; the body size limit of this path is ``max_upload_bytes``.
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
_STREAMABLE = (TranscriptFormat.JSON, TranscriptFormat.TEXT)
#: A transcription a worker took: its first event, and the rest to come.
_Opened = tuple[TranscriptEvent, AsyncGenerator[TranscriptEvent, None]]


@router.websocket(f"{TRANSCRIPTIONS_PATH}/ws")
async def transcription_websocket(websocket: WebSocket) -> None:
    """pcm frames in; VAD events and partial/final transcripts out (see stt_session)."""
    await websocket.accept(subprotocol=accepted_subprotocol(websocket.scope))
    settings = websocket.app.state.settings
    session = TranscriptionSession(
        websocket, websocket.app.state.router, max_audio_s=settings.max_audio_duration_s
    )
    await session.run()


@router.post(
    TRANSCRIPTIONS_PATH,
    responses={
        200: {
            "description": "The transcript in the requested format (or SSE events).",
            "content": {
                kind: {}
                for kind in (
                    "application/json",
                    "text/plain",
                    "application/x-subrip",
                    "text/vtt",
                    "text/event-stream",
                )
            },
        },
        **error_responses(404, 413, 429, 502, 503, 504),
    },
)
async def create_transcription(
    request: Request,
    file: Annotated[UploadFile, File(description="Audio in any common container and codec.")],
    model: Annotated[str, Form(min_length=1, max_length=256)],
    language: Annotated[str | None, Form(max_length=32)] = None,
    prompt: Annotated[str | None, Form(max_length=4096)] = None,
    temperature: Annotated[float, Form(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0,
    response_format: Annotated[TranscriptFormat, Form()] = TranscriptFormat.JSON,
    timestamp_granularities: Annotated[
        list[Literal["segment", "word"]] | None, Form(alias="timestamp_granularities[]")
    ] = None,
    stream: Annotated[bool, Form()] = False,
    vad_filter: Annotated[
        bool, Form(description="Extension: decode only what Silero VAD calls speech.")
    ] = False,
) -> Response:
    settings = request.app.state.settings
    deadline = Deadline(settings.request_timeout_s)
    routes: Router = request.app.state.router
    route = routes.resolve(model, capability=Capability.STT)
    set_model(route.native_id)
    language_code = resolve_language(route.model, language)
    granularities = frozenset(timestamp_granularities or ("segment",))
    if stream and response_format not in _STREAMABLE:
        raise ApiError(
            400,
            "stream=true returns text events: use response_format json or text",
            code="invalid_value",
            param="response_format",
        )
    if file.size == 0:
        raise ApiError(400, "the uploaded file is empty", code="empty_file", param="file")
    rate_hz = route.model.native_sample_rate_hz
    samples = await deadline.run(
        asyncio.to_thread(
            _decode, file.file, rate_hz=rate_hz, max_duration_s=settings.max_audio_duration_s
        )
    )
    transcription = TranscriptionConfig(
        model_id=route.model.id,
        language=language_code,
        prompt=prompt or None,
        temperature=temperature,
        word_timestamps=response_format is TranscriptFormat.VERBOSE_JSON
        and "word" in granularities,
        vad_filter=vad_filter,
        request_id=current_request_id() or uuid.uuid4().hex,
    )

    async def start(on: Route) -> _Opened:
        # The worker answers once it has the audio and a slot to decode it in; past its
        # capacity it refuses, and the request waits in the engine's line.
        events = on.worker.client.transcribe(transcription, _once(samples), sample_rate_hz=rate_hz)
        try:
            first = await anext(events, None)
        except BaseException:
            await events.aclose()
            raise
        if first is None:
            raise _ended_early()
        return first, events

    async def attempt() -> tuple[_Opened, Route]:
        return await on_some_replica(routes, model, Capability.STT, start)

    line: WaitingLine = request.app.state.lines[route.worker.engine]
    try:
        ((first, events), served_by), admitted = await deadline.run(
            admit_while_connected(request, line, attempt)
        )
    except ClientGone:
        return Response(status_code=499)
    headers = {
        "x-polyvox-model": route.native_id,
        "x-polyvox-worker": served_by.worker.worker_id,
        "x-polyvox-queued-ms": str(round(admitted.waited_s * 1000)),
    }
    if stream:
        # As for speech: headers leave once the worker has answered, so an early
        # failure is still a JSON error with its own status.
        return StreamingResponse(
            _sse(first, events, deadline), media_type="text/event-stream", headers=headers
        )
    transcript = await deadline.run(_collect(first, events))
    response = render(transcript, response_format, granularities=granularities)
    response.headers.update(headers)
    return response


def _decode(source: BinaryIO, *, rate_hz: int, max_duration_s: float) -> np.ndarray:
    try:
        return decode_audio(source, sample_rate_hz=rate_hz, max_duration_s=max_duration_s)
    except AudioDecodeError as exc:
        raise ApiError(400, exc.message, code=exc.reason, param="file") from None


async def _once(samples: np.ndarray) -> AsyncIterator[np.ndarray]:
    yield samples


async def _collect(
    first: TranscriptEvent, events: AsyncGenerator[TranscriptEvent, None]
) -> Transcript:
    segments: list[TranscriptSegment] = []
    async with contextlib.aclosing(events):
        async for event in _chain(first, events):
            if isinstance(event, TranscriptSegment):
                segments.append(event)
            elif isinstance(event, TranscriptionInfo):
                return Transcript(segments, event)
    raise _ended_early()


def _ended_early() -> ApiError:
    return ApiError(502, "the worker ended the transcription early", code="worker_error")


async def _sse(
    first: TranscriptEvent, rest: AsyncGenerator[TranscriptEvent, None], deadline: Deadline
) -> AsyncIterator[bytes]:
    """OpenAI's ``transcript.text.delta`` per segment, then ``transcript.text.done``."""
    text = ""
    try:
        async for event in deadline.iterate(_chain(first, rest)):
            if isinstance(event, TranscriptSegment) and event.text.strip():
                delta = event.text if text else event.text.lstrip()
                text += delta
                yield text_delta(delta)
        yield text_done(text)
    except (PolyvoxError, ApiError) as exc:
        # Headers are sent: an error event is the only signal left.
        error = ApiError.from_exception(exc)
        logger.warning("transcription stream ended by the worker: %s", error.message)
        yield sse_event(
            {"type": "error", **error_body(error.status, error.message, code=error.code)}
        )
    finally:
        await rest.aclose()


async def _chain(
    first: TranscriptEvent, rest: AsyncGenerator[TranscriptEvent, None]
) -> AsyncIterator[TranscriptEvent]:
    yield first
    async for event in rest:
        yield event
