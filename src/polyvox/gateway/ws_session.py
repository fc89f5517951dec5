"""One WebSocket speech session: text chunks in, 20 ms pcm frames and events out.

Client messages (JSON text frames): ``session.update`` (first, once), ``text``,
``flush``, ``cancel`` (barge-in: drop queued audio at once), ``close``.
Server messages: binary s16le frames; ``session.created``, ``segment.started``,
``segment.done``, ``cancelled``, ``done``, ``error`` (then the socket closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocket

from polyvox.audio import Framer, StreamResampler, check_sample_rate, float_to_int16
from polyvox.audio.formats import OutputFormat
from polyvox.engines.base import Capability
from polyvox.errors import PolyvoxError
from polyvox.gateway.errors import ApiError
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.speech import DEFAULT_SAMPLE_RATE_HZ
from polyvox.gateway.worker_client import SegmentEnd, SynthesisSettings
from polyvox.logs import current_request_id, set_model
from polyvox.text.buffer import TextBuffer
from polyvox.text.normalize import clean_text
from polyvox.text.segment import Segmenter

logger = logging.getLogger(__name__)

#: Close codes (RFC 6455): 1008 policy violation for client mistakes, 1011 server error.
CLOSE_CLIENT_ERROR = 1008
CLOSE_SERVER_ERROR = 1011


class SessionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    model: str = Field(min_length=1)
    voice: str = Field(min_length=1)
    sample_rate: int = DEFAULT_SAMPLE_RATE_HZ
    frame_ms: int = Field(default=20, ge=5, le=1000)
    speed: float = Field(default=1.0, ge=0.25, le=4.0, allow_inf_nan=False)


class SessionError(Exception):
    def __init__(self, code: str, message: str, *, close_code: int = CLOSE_CLIENT_ERROR) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


@dataclass
class _Utterance:
    """The gRPC stream serving the current run of text, until cancel or close."""

    segments: asyncio.Queue[str | None]
    task: asyncio.Task[None]
    texts: list[str]


class SpeechSession:
    def __init__(
        self, websocket: WebSocket, router: Router, *, segmenter: Segmenter, max_text_chars: int
    ) -> None:
        self._ws = websocket
        self._router = router
        self._max_text_chars = max_text_chars
        self._send_lock = asyncio.Lock()
        self._segmenter = segmenter
        self._buffer = TextBuffer(self._segmenter)
        self._update: SessionUpdate | None = None
        self._route: Route | None = None
        self._voice = ""
        self._utterance: _Utterance | None = None
        self._audio_offset_ms = 0.0
        self.request_id = current_request_id() or uuid.uuid4().hex

    @property
    def model(self) -> str | None:
        """Native id of the session's model, once configured."""
        return self._route.native_id if self._route is not None else None

    @property
    def audio_s(self) -> float:
        """Seconds of audio sent so far."""
        return self._audio_offset_ms / 1000

    async def run(self) -> None:
        try:
            while True:
                message = await self._ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    raise SessionError(
                        "invalid_message", "binary frames are not accepted; send JSON"
                    )
                if await self._handle(_parse(message.get("text") or "")):
                    return
        except SessionError as exc:
            await self._fail(exc)
        finally:
            await self._stop_utterance()

    async def _handle(self, event: dict[str, Any]) -> bool:
        """Act on one client event; True once the session is finished."""
        kind = event.get("type")
        if kind == "session.update":
            await self._configure(event)
            return False
        if self._update is None:
            raise SessionError("session_not_configured", "send session.update before anything else")
        if kind == "text":
            text = event.get("text")
            if not isinstance(text, str):
                raise SessionError("invalid_message", "a text message needs a string 'text' field")
            if len(self._buffer.pending) + len(text) > self._max_text_chars:
                raise SessionError(
                    "text_too_long", f"more than {self._max_text_chars} unspoken chars"
                )
            await self._speak(self._buffer.push(clean_text(text)))
        elif kind == "flush":
            await self._speak(self._buffer.flush())
        elif kind == "cancel":
            self._buffer.clear()
            await self._stop_utterance()
            await self._send_json({"type": "cancelled"})
        elif kind == "close":
            await self._speak(self._buffer.flush())
            await self._finish_utterance()
            await self._send_json({"type": "done", "audio_ms": round(self._audio_offset_ms)})
            await self._ws.close()
            return True
        else:
            raise SessionError(
                "unknown_type",
                f"unknown message type {kind!r}; expected "
                "session.update, text, flush, cancel or close",
            )
        return False

    async def _configure(self, event: dict[str, Any]) -> None:
        if self._update is not None:
            raise SessionError("invalid_message", "session.update may be sent only once")
        try:
            update = SessionUpdate.model_validate(event)
            check_sample_rate(OutputFormat.PCM, update.sample_rate)
            route = self._router.resolve(update.model, capability=Capability.TTS)
            self._voice = self._router.resolve_voice(route.model, update.voice)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise SessionError(
                "invalid_session", f"session.update {field}: {error['msg']}"
            ) from None
        except PolyvoxError as exc:
            raise SessionError(exc.code.value, exc.message) from None
        self._update, self._route = update, route
        set_model(route.native_id)
        await self._send_json(
            {
                "type": "session.created",
                "model": route.native_id,
                "voice": self._voice,
                "sample_rate": update.sample_rate,
                "frame_ms": update.frame_ms,
            }
        )

    async def _speak(self, segments: list[str]) -> None:
        if not segments:
            return
        if self._utterance is None or self._utterance.task.done():
            self._utterance = self._start_utterance()
        for segment in segments:
            await self._utterance.segments.put(segment)

    def _start_utterance(self) -> _Utterance:
        segments: asyncio.Queue[str | None] = asyncio.Queue()
        texts: list[str] = []
        task = asyncio.create_task(self._stream_audio(segments, texts), name="ws-audio")
        return _Utterance(segments=segments, task=task, texts=texts)

    async def _finish_utterance(self) -> None:
        if self._utterance is not None:
            await self._utterance.segments.put(None)
            await self._utterance.task
            self._utterance = None

    async def _stop_utterance(self) -> None:
        if self._utterance is not None:
            self._utterance.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._utterance.task
            self._utterance = None

    async def _stream_audio(self, queue: asyncio.Queue[str | None], texts: list[str]) -> None:
        assert self._update is not None
        assert self._route is not None
        update, route = self._update, self._route
        settings = SynthesisSettings(
            model_id=route.model.id,
            voice=self._voice,
            speed=update.speed,
            request_id=self.request_id,
        )

        async def segments() -> Any:
            while (text := await queue.get()) is not None:
                texts.append(text)
                yield text

        framer = Framer(sample_rate_hz=update.sample_rate, frame_ms=update.frame_ms)
        resampler: StreamResampler | None = None
        started: set[int] = set()
        try:
            stream = contextlib.aclosing(route.worker.client.synthesize(settings, segments()))
            async with stream as audio:
                async for item in audio:
                    if isinstance(item, SegmentEnd):
                        await self._send_json(
                            {
                                "type": "segment.done",
                                "index": item.segment_index,
                                "text": texts[item.segment_index],
                            }
                        )
                        continue
                    if item.segment_index not in started:
                        started.add(item.segment_index)
                        await self._send_json(
                            {
                                "type": "segment.started",
                                "index": item.segment_index,
                                "text": texts[item.segment_index],
                                "audio_offset_ms": round(self._audio_offset_ms),
                            }
                        )
                    resampler = resampler or StreamResampler(
                        in_rate_hz=item.sample_rate_hz, out_rate_hz=update.sample_rate
                    )
                    # Resampling is CPU work: off the event loop. Only this task
                    # touches the resampler, so a cancelled step cannot race another.
                    pcm = await asyncio.to_thread(_resample_pcm, resampler, item.samples)
                    await self._send_frames(framer.push(pcm), update)
            if resampler is not None:
                pcm = await asyncio.to_thread(_resample_pcm, resampler, None)
                await self._send_frames(framer.push(pcm) + framer.flush(), update)
        except grpc.aio.AioRpcError as exc:
            error = ApiError.from_grpc(exc)
            await self._fail(
                SessionError(
                    error.code or "worker_error", error.message, close_code=CLOSE_SERVER_ERROR
                )
            )

    async def _send_frames(self, frames: list[bytes], update: SessionUpdate) -> None:
        for frame in frames:
            async with self._send_lock:
                await self._ws.send_bytes(frame)
            self._audio_offset_ms += update.frame_ms

    async def _send_json(self, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._ws.send_json(payload)

    async def _fail(self, error: SessionError) -> None:
        logger.info("websocket session %s: %s", self.request_id, error.message)
        with contextlib.suppress(Exception):
            await self._send_json({"type": "error", "code": error.code, "message": error.message})
            await self._ws.close(code=error.close_code, reason=error.code)


def _resample_pcm(resampler: StreamResampler, samples: np.ndarray | None) -> bytes:
    """Resample (``None``: flush the resampler) and convert to s16le bytes."""
    out = resampler.flush() if samples is None else resampler.process(samples)
    return float_to_int16(out).astype("<i2").tobytes() if out.size else b""


def _parse(text: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        raise SessionError("invalid_json", "messages must be JSON objects") from None
    if not isinstance(event, dict):
        raise SessionError("invalid_json", "messages must be JSON objects")
    return event
