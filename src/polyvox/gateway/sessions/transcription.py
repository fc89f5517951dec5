"""One WebSocket transcription session: pcm frames in, VAD events and transcripts out.

Client messages: ``session.update`` (JSON, first and once: ``model``, ``language``,
``prompt``, ``sample_rate``), then binary frames of s16le mono pcm at that rate,
then ``{"type": "close"}`` (end of audio). Server messages (JSON):
``session.created``, ``speech.started`` / ``speech.stopped`` (voice activity, with
audio times), ``transcript.partial`` (the utterance so far) and ``transcript.final``
(the utterance, once it ended), ``done``; ``error`` then a close (1008 for a client
mistake, 1011 for a server failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocket

from polyvox.audio import SUPPORTED_SAMPLE_RATES_HZ, StreamResampler
from polyvox.audio.samples import int16_bytes_to_float
from polyvox.contract.types import (
    Capability,
    SpeechEvent,
    SpeechEventKind,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptUpdate,
)
from polyvox.errors import PolyvoxError
from polyvox.gateway.languages import resolve_language
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.sessions.base import (
    CLOSE_SERVER_ERROR,
    SessionError,
    WebSocketSession,
    validate,
)
from polyvox.logs import set_model

logger = logging.getLogger(__name__)

#: Frames waiting for the worker before the session stops reading the socket.
_QUEUED_FRAMES = 64
#: Longest single binary frame, in seconds of audio.
_MAX_FRAME_S = 10.0


class TranscriptionSessionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    model: str = Field(min_length=1, max_length=256)
    language: str | None = Field(default=None, max_length=32)
    prompt: str | None = Field(default=None, max_length=4096)
    #: Rate of the pcm frames the client sends; resampled to the model's rate.
    sample_rate: int = 16_000


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _event_json(event: TranscriptEvent) -> dict[str, Any] | None:
    if isinstance(event, SpeechEvent):
        key = "audio_start_ms" if event.kind is SpeechEventKind.STARTED else "audio_end_ms"
        return {"type": event.kind.value, key: _ms(event.time_s)}
    if isinstance(event, TranscriptUpdate):
        payload: dict[str, Any] = {
            "type": "transcript.final" if event.final else "transcript.partial",
            "utterance": event.utterance_index,
            "text": event.text,
            "audio_start_ms": _ms(event.start_s),
            "audio_end_ms": _ms(event.end_s),
        }
        if event.final:
            payload["segments"] = [
                {"start_ms": _ms(s.start_s), "end_ms": _ms(s.end_s), "text": s.text.strip()}
                for s in event.segments
            ]
        return payload
    if isinstance(event, TranscriptionInfo):
        return {"type": "done", "language": event.language, "audio_ms": _ms(event.duration_s)}
    return None  # batch segments never arrive on a streaming call


class TranscriptionSession(WebSocketSession):
    def __init__(self, websocket: WebSocket, router: Router, *, max_audio_s: float) -> None:
        super().__init__(websocket)
        self._router = router
        self._max_audio_s = max_audio_s
        self._audio: asyncio.Queue[np.ndarray | None] = asyncio.Queue(_QUEUED_FRAMES)
        self._resampler: StreamResampler | None = None
        self._update: TranscriptionSessionUpdate | None = None
        self._forwarder: asyncio.Task[None] | None = None
        self._received_s = 0.0

    async def on_event(self, event: dict[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "session.update":
            await self._configure(event)
            return False
        if self._update is None:
            raise SessionError("session_not_configured", "send session.update before anything else")
        if kind == "close":
            await self._finish()
            return True
        raise SessionError(
            "unknown_type", f"unknown message type {kind!r}; expected session.update or close"
        )

    async def _configure(self, event: dict[str, Any]) -> None:
        if self._update is not None:
            raise SessionError("invalid_message", "session.update may be sent only once")
        update = validate(TranscriptionSessionUpdate, event, what="session.update")
        try:
            route = self._router.resolve(update.model, capability=Capability.STT)
            language = resolve_language(route.model, update.language)
        except PolyvoxError as exc:
            raise SessionError(exc.code.value, exc.message) from None
        if update.sample_rate not in SUPPORTED_SAMPLE_RATES_HZ:
            rates = ", ".join(str(rate) for rate in SUPPORTED_SAMPLE_RATES_HZ)
            raise SessionError(
                "invalid_argument",
                f"unsupported sample_rate {update.sample_rate} Hz; choose one of: {rates} Hz",
            )
        set_model(route.native_id)
        self._update = update
        self._resampler = StreamResampler(
            in_rate_hz=update.sample_rate, out_rate_hz=route.model.native_sample_rate_hz
        )
        config = TranscriptionConfig(
            model_id=route.model.id,
            language=language,
            prompt=update.prompt or None,
            streaming=True,
            request_id=self.request_id,
        )
        self._forwarder = asyncio.create_task(self._forward(route, config), name="stt-forward")
        await self.send_json(
            {"type": "session.created", "model": route.native_id, "sample_rate": update.sample_rate}
        )

    async def on_bytes(self, data: bytes) -> bool:
        if self._update is None or self._resampler is None:
            raise SessionError("session_not_configured", "send session.update before audio")
        if len(data) > _MAX_FRAME_S * self._update.sample_rate * 2:
            raise SessionError("frame_too_large", f"a frame may hold at most {_MAX_FRAME_S:g} s")
        try:
            samples = int16_bytes_to_float(data)
        except ValueError as exc:
            raise SessionError("invalid_audio", f"a pcm frame {exc}") from None
        self._received_s += samples.size / self._update.sample_rate
        if self._received_s > self._max_audio_s:
            raise SessionError(
                "audio_too_long", f"the session passed its limit of {self._max_audio_s:g} s"
            )
        if not self._resampler.is_passthrough:
            samples = await asyncio.to_thread(self._resampler.process, samples)
        await self._put(samples)
        return False

    async def _finish(self) -> None:
        assert self._resampler is not None
        await self._put(self._resampler.flush())
        await self._put(None)
        if self._forwarder is not None:
            await self._forwarder
            self._forwarder = None
        await self.close()

    async def _put(self, samples: np.ndarray | None) -> None:
        # The forwarder may have failed (and closed the socket): don't wait on it.
        if self._forwarder is None or self._forwarder.done():
            return
        await self._audio.put(samples)

    async def _samples(self) -> AsyncIterator[np.ndarray]:
        while (samples := await self._audio.get()) is not None:
            if samples.size:
                yield samples

    async def _forward(self, route: Route, config: TranscriptionConfig) -> None:
        rate_hz = route.model.native_sample_rate_hz
        try:
            events = route.worker.client.transcribe(config, self._samples(), sample_rate_hz=rate_hz)
            async with contextlib.aclosing(events):
                async for event in events:
                    if (payload := _event_json(event)) is not None:
                        await self.send_json(payload)
        except PolyvoxError as exc:
            await self.fail(SessionError.from_domain(exc))
        except Exception as exc:  # the client went away mid-send, or a bug: end cleanly
            logger.info("transcription session %s ended: %r", self.request_id, exc)
            await self.fail(
                SessionError("internal", "transcription failed", close_code=CLOSE_SERVER_ERROR)
            )

    async def on_end(self) -> None:
        if self._forwarder is not None:
            self._forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._forwarder
            self._forwarder = None
