"""``POST /v1/audio/speech``: OpenAI-compatible text to speech, streamed as it is made;
``POST /v1/audio/speech/captions``: the same speech with its words' timings and captions."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response, StreamingResponse

from polyvox.audio import AudioEncoder, OutputFormat, check_sample_rate, create_encoder
from polyvox.contract.types import Capability, SynthesisConfig
from polyvox.errors import PolyvoxError
from polyvox.gateway.admission import ClientGone, admit_while_connected, on_some_replica
from polyvox.gateway.auth import accepted_subprotocol
from polyvox.gateway.captions import captions
from polyvox.gateway.deadline import Deadline
from polyvox.gateway.errors import ApiError
from polyvox.gateway.metrics import GatewayMetrics
from polyvox.gateway.openapi import error_responses
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.schemas import SpeechRequest
from polyvox.gateway.sessions.speech import SpeechSession
from polyvox.gateway.speech_plan import PlanRequest, plan_speech
from polyvox.gateway.speech_stream import DEFAULT_SAMPLE_RATE_HZ, StreamStats, stream_speech
from polyvox.gateway.sse import sse_events
from polyvox.gateway.waiting_line import WaitingLine
from polyvox.gateway.word_timeline import SpokenWord
from polyvox.logs import current_request_id, set_model
from polyvox.text.normalize import clean_text
from polyvox.text.segment import Segmenters

logger = logging.getLogger(__name__)
router = APIRouter()


@router.websocket("/v1/audio/speech/ws")
async def speech_websocket(websocket: WebSocket) -> None:
    """Text chunks in, fixed pcm frames out; see polyvox.gateway.ws_session."""
    await websocket.accept(subprotocol=accepted_subprotocol(websocket.scope))
    session = SpeechSession(
        websocket,
        websocket.app.state.router,
        segmenters=websocket.app.state.segmenters,
        max_unspoken_chars=websocket.app.state.settings.max_input_chars,
    )
    try:
        await session.run()
    finally:
        if session.model is not None:
            metrics: GatewayMetrics = websocket.app.state.metrics
            metrics.observe_audio(session.model, session.audio_s)


#: One Content-Type per response_format, for the OpenAPI schema.
_AUDIO_TYPES = tuple(dict.fromkeys(f.content_type for f in OutputFormat))


@router.post(
    "/v1/audio/speech",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The audio, streamed as it is made (or SSE events).",
            "content": {kind: {} for kind in (*_AUDIO_TYPES, "text/event-stream")},
        },
        **error_responses(404, 413, 422, 429, 503, 504),
    },
)
async def create_speech(body: SpeechRequest, request: Request) -> Response:
    sse = body.stream_format == "sse"
    speech = await _open(body, request, word_timings=sse and body.timestamps)
    if speech is None:
        return Response(status_code=499)
    items = _body(speech)
    if sse:
        return StreamingResponse(
            sse_events(items), media_type="text/event-stream", headers=speech.headers
        )
    return StreamingResponse(
        _audio_only(items), media_type=speech.encoder.content_type, headers=speech.headers
    )


@router.post(
    "/v1/audio/speech/captions",
    responses={
        200: {"description": "The whole audio (base64), its words' timings, SRT and WebVTT."},
        **error_responses(404, 413, 422, 429, 503, 504),
    },
)
async def create_captions(body: SpeechRequest, request: Request) -> Response:
    """The speech request's fields in; JSON out: ``audio`` (base64 of the encoded
    file), ``format``, ``words`` (each with ``word``, ``start``, ``end`` in seconds and
    where it is in the input), ``srt`` and ``vtt``."""
    # The audio goes out whole: its file headers can hold its exact length.
    speech = await _open(body, request, word_timings=True, complete_file=True)
    if speech is None:
        return Response(status_code=499)
    audio = bytearray()
    words: list[SpokenWord] = []
    async for item in _body(speech):
        if isinstance(item, SpokenWord):
            words.append(item)
        else:
            audio += item
    srt, vtt = captions(words, body.input)
    payload = {
        "audio": base64.b64encode(bytes(audio)).decode(),
        "format": body.response_format.value,
        "sample_rate": speech.sample_rate_hz,
        "duration": round(speech.stats.audio_s, 3),
        "words": [word.to_json() for word in words],
        "srt": srt,
        "vtt": vtt,
    }
    return JSONResponse(payload, headers=speech.headers)


@dataclass(slots=True)
class _Speech:
    """A stream a worker took: its first item, the rest to come, and its response's facts."""

    chunks: AsyncGenerator[bytes | SpokenWord, None]
    stats: StreamStats
    first: bytes | SpokenWord
    encoder: AudioEncoder
    sample_rate_hz: int
    headers: dict[str, str]
    deadline: Deadline
    metrics: GatewayMetrics
    on_end: Callable[[], None]


async def _open(
    body: SpeechRequest, request: Request, *, word_timings: bool, complete_file: bool = False
) -> _Speech | None:
    """Check everything, plan the segments, wait in line and start the stream; None
    when the client left while it waited."""
    started_s = time.perf_counter()
    settings = request.app.state.settings
    deadline = Deadline(settings.request_timeout_s)
    routes: Router = request.app.state.router
    # Everything is checked before any synthesis starts.
    if not clean_text(body.input).strip():
        raise ApiError(400, "input must contain text to speak", code="empty_input", param="input")
    if len(body.input) > settings.max_input_chars:
        raise ApiError(
            413,
            f"input has {len(body.input)} characters; the limit is {settings.max_input_chars}",
            code="input_too_long",
            param="input",
        )
    sample_rate_hz = body.sample_rate or DEFAULT_SAMPLE_RATE_HZ
    check_sample_rate(body.response_format, sample_rate_hz)
    route = routes.resolve(body.model, capability=Capability.TTS)
    set_model(route.native_id)
    voice = routes.resolve_voice(route.model, body.voice)
    segmenters: Segmenters = request.app.state.segmenters
    planning = PlanRequest(route.model, voice, body.speed, body.language, routes, segmenters)
    plan = await deadline.run(asyncio.to_thread(plan_speech, body.input, planning))
    if not plan.segments:
        raise ApiError(400, "input must contain text to speak", code="empty_input", param="input")
    # The id the RequestIdMiddleware checked (or made): the worker logs it too.
    request_id = current_request_id() or uuid.uuid4().hex
    synthesis = SynthesisConfig(
        model_id=route.model.id,
        voice=voice,
        speed=body.speed,
        request_id=request_id,
        word_timings=word_timings,
    )

    async def start(on: Route) -> _Started:
        # The encoder exists only once a worker takes the stream: a request waiting
        # in line holds none.
        encoder = create_encoder(
            body.response_format, sample_rate_hz=sample_rate_hz, complete_file=complete_file
        )
        stats = StreamStats()
        chunks = stream_speech(
            on.worker.client, synthesis, plan, native_rate_hz=on.model.native_sample_rate_hz,
            encoder=encoder, stats=stats,
        )  # fmt: skip
        # Headers go out only once the worker has answered: an early failure is still
        # a JSON error with its own status, never a 200 with a broken body.
        try:
            first = await anext(chunks)
        except BaseException:
            await chunks.aclose()
            raise
        return _Started(chunks, stats, first, encoder)

    async def attempt() -> tuple[_Started, Route]:
        return await on_some_replica(routes, body.model, Capability.TTS, start)

    line: WaitingLine = request.app.state.lines[route.worker.engine]
    try:
        (started, served_by), admitted = await deadline.run(
            admit_while_connected(request, line, attempt)
        )
    except ClientGone:
        logger.info("the client left while its request waited in the %s line", line.engine)
        return None
    if admitted.waited_s:
        logger.info("admitted after %.2f s in the %s line", admitted.waited_s, line.engine)
    first_audio_s = time.perf_counter() - started_s
    metrics: GatewayMetrics = request.app.state.metrics

    def observe() -> None:
        total_s = time.perf_counter() - started_s
        metrics.observe_speech(
            route.native_id,
            first_audio_s=first_audio_s,
            total_s=total_s,
            audio_s=started.stats.audio_s,
        )

    headers = {
        "x-polyvox-model": route.native_id,
        "x-polyvox-worker": served_by.worker.worker_id,
        "x-polyvox-voice": voice,
        "x-polyvox-sample-rate": str(sample_rate_hz),
        "x-polyvox-queued-ms": str(round(admitted.waited_s * 1000)),
    }
    return _Speech(
        started.chunks, started.stats, started.first, started.encoder, sample_rate_hz,
        headers, deadline, metrics, observe,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Started:
    """A stream a worker took: its first item, and the rest to come."""

    chunks: AsyncGenerator[bytes | SpokenWord, None]
    stats: StreamStats
    first: bytes | SpokenWord
    encoder: AudioEncoder


async def _audio_only(items: AsyncIterator[bytes | SpokenWord]) -> AsyncIterator[bytes]:
    async for item in items:
        if isinstance(item, bytes):
            yield item


async def _body(speech: _Speech) -> AsyncIterator[bytes | SpokenWord]:
    # Headers are sent: the only honest signal left is an unfinished body (or, for
    # SSE, an error event; see sse_events).
    rest = speech.chunks
    try:
        yield speech.first
        async for chunk in speech.deadline.iterate(rest):
            yield chunk
    except PolyvoxError as exc:
        logger.warning("stream ended by the worker: %s", exc.message)
        speech.metrics.error(exc.code.value)
        raise
    except ApiError as exc:
        logger.warning("stream ended: %s", exc.message)
        speech.metrics.error(exc.code)
        raise
    finally:
        await rest.aclose()
        speech.on_end()
