"""One WebSocket speech session: text chunks in, fixed pcm frames and events out.

Client messages (JSON text frames): ``session.update`` (first, once), ``text``,
``flush``, ``cancel`` (barge-in: drop queued audio at once), ``close``.
Server messages: binary s16le frames; ``session.created``, ``segment.started``,
``segment.done``, ``word`` (with ``timestamps``: each word with ``audio_start_ms`` /
``audio_end_ms`` in the session's audio, and ``text_start`` / ``text_end`` in the text
of its segment, as ``segment.started`` gave it), ``cancelled``, ``done``, ``error``
(then the socket closes).

What a session holds unsent is bounded: text buffered or queued for synthesis but not
yet spoken may not pass ``max_unspoken_chars`` (an ``error`` event says so); audio is
sent as it is made, each frame awaited, so a client that stops reading holds back
the worker's stream rather than filling the gateway's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocket

from polyvox.audio import Framer, StreamResampler, check_sample_rate, float_to_int16
from polyvox.audio.formats import OutputFormat
from polyvox.contract.types import (
    PAUSE,
    Capability,
    Pause,
    Segment,
    SegmentEnd,
    SynthesisConfig,
    WordTiming,
)
from polyvox.errors import PolyvoxError
from polyvox.gateway.languages import check_speakable, language_runs, speaking_languages
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.sessions.base import SessionError, WebSocketSession, validate
from polyvox.gateway.speech_plan import PlannedSegment, SpeechPlan
from polyvox.gateway.speech_stream import DEFAULT_SAMPLE_RATE_HZ
from polyvox.gateway.word_timeline import SpokenWord, WordTimeline
from polyvox.logs import set_model
from polyvox.text.buffer import TextBuffer
from polyvox.text.normalize import clean_text
from polyvox.text.segment import Segmenters

logger = logging.getLogger(__name__)


class SessionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    model: str = Field(min_length=1)
    voice: str = Field(min_length=1)
    sample_rate: int = DEFAULT_SAMPLE_RATE_HZ
    frame_ms: int = Field(default=20, ge=5, le=1000)
    speed: float = Field(default=1.0, ge=0.25, le=4.0, allow_inf_nan=False)
    #: The language the text will be in (BCP 47): picks the front end among the
    #: voice's; by default found from each piece of text.
    language: str | None = Field(default=None, min_length=1, max_length=35)
    #: Send a ``word`` event for each word spoken, where the engine knows them.
    timestamps: bool = False


@dataclass
class _Utterance:
    """The gRPC stream serving the current run of text, until cancel or close."""

    segments: asyncio.Queue[Segment | Pause | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    #: Texts sent to the worker and not yet spoken, by segment index.
    unspoken: dict[int, str] = field(default_factory=dict)
    sent: int = 0


class SpeechSession(WebSocketSession):
    def __init__(
        self,
        websocket: WebSocket,
        router: Router,
        *,
        segmenters: Segmenters,
        max_unspoken_chars: int,
    ) -> None:
        super().__init__(websocket)
        self._router = router
        self._segmenters = segmenters
        self._max_unspoken_chars = max_unspoken_chars
        # Made by session.update, with the sentence rules of the voice's language.
        self._buffer = TextBuffer(segmenters.for_language("en"))
        #: The languages the session's text may be in (the voice's, or the one asked for).
        self._languages: tuple[str, ...] = ()
        self._update: SessionUpdate | None = None
        self._route: Route | None = None
        self._voice = ""
        self._utterance: _Utterance | None = None
        self._audio_offset_ms = 0.0

    @property
    def model(self) -> str | None:
        """Native id of the session's model, once configured."""
        return self._route.native_id if self._route is not None else None

    @property
    def audio_s(self) -> float:
        """Seconds of audio sent so far."""
        return self._audio_offset_ms / 1000

    def _unspoken_chars(self) -> int:
        queued = self._utterance.unspoken.values() if self._utterance is not None else ()
        return len(self._buffer.pending) + sum(len(text) for text in queued)

    async def on_event(self, event: dict[str, Any]) -> bool:
        kind = event.get("type")
        if kind == "session.update":
            await self._configure(event)
            return False
        if self._update is None:
            raise SessionError("session_not_configured", "send session.update before anything else")
        if kind == "text":
            await self._text(event)
        elif kind == "flush":
            await self._speak(self._buffer.flush())
        elif kind == "cancel":
            self._buffer.clear()
            await self._stop_utterance()
            await self.send_json({"type": "cancelled"})
        elif kind == "close":
            await self._speak(self._buffer.flush())
            await self._finish_utterance()
            await self.send_json({"type": "done", "audio_ms": round(self._audio_offset_ms)})
            await self.close()
            return True
        else:
            raise SessionError(
                "unknown_type",
                f"unknown message type {kind!r}; expected "
                "session.update, text, flush, cancel or close",
            )
        return False

    async def _text(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if not isinstance(text, str):
            raise SessionError("invalid_message", "a text message needs a string 'text' field")
        if self._unspoken_chars() + len(text) > self._max_unspoken_chars:
            raise SessionError(
                "text_too_long",
                f"more than {self._max_unspoken_chars} characters would wait to be spoken; "
                "send more once the audio has caught up",
            )
        text = clean_text(text)
        try:
            check_speakable(text, self._languages, voices=self._router.tts_voices())
        except PolyvoxError as exc:
            # Only this piece is refused (the error event says why); the session goes on.
            raise SessionError(
                exc.reason or exc.code.value, exc.message, recoverable=True, param="text"
            ) from None
        if self._buffer.needs_segmenter(text):
            # Finding sentence ends costs real CPU: off the event loop. This session's
            # messages are handled one at a time, so its buffer is never shared.
            segments = await asyncio.to_thread(self._buffer.push, text)
        else:
            segments = self._buffer.push(text)
        await self._speak(segments)

    async def _configure(self, event: dict[str, Any]) -> None:
        if self._update is not None:
            raise SessionError("invalid_message", "session.update may be sent only once")
        update = validate(SessionUpdate, event, what="session.update")
        try:
            check_sample_rate(OutputFormat.PCM, update.sample_rate)
            route = self._router.resolve(update.model, capability=Capability.TTS)
            self._voice = self._router.resolve_voice(route.model, update.voice)
            self._languages = speaking_languages(route.model, self._voice, update.language)
        except PolyvoxError as exc:
            raise SessionError(exc.reason or exc.code.value, exc.message) from None
        self._buffer = TextBuffer(self._segmenters.for_language(self._languages[0]))
        self._update, self._route = update, route
        set_model(route.native_id)
        await self.send_json(
            {
                "type": "session.created",
                "model": route.native_id,
                "voice": self._voice,
                "sample_rate": update.sample_rate,
                "frame_ms": update.frame_ms,
            }
        )

    async def _speak(self, texts: list[str]) -> None:
        if not texts:
            return
        if self._utterance is None or self._utterance.task is None or self._utterance.task.done():
            self._utterance = self._start_utterance()
        update = self._update
        tag = len(self._languages) > 1 or (update is not None and update.language is not None)
        for text in texts:
            # A voice reading several languages gets each run through its own front end.
            for run in language_runs(text, self._languages):
                segment = Segment(run.text, run.language if tag else None)
                self._utterance.unspoken[self._utterance.sent] = segment.text
                self._utterance.sent += 1
                await self._utterance.segments.put(segment)
        # That is all there is for now: once spoken, the worker's stream may go idle
        # (it holds no capacity while this session waits for more text).
        await self._utterance.segments.put(PAUSE)

    def _start_utterance(self) -> _Utterance:
        utterance = _Utterance()
        utterance.task = asyncio.create_task(self._stream_audio(utterance), name="ws-audio")
        return utterance

    async def _finish_utterance(self) -> None:
        if self._utterance is not None and self._utterance.task is not None:
            await self._utterance.segments.put(None)
            await self._utterance.task
        self._utterance = None

    async def _stop_utterance(self) -> None:
        if self._utterance is not None and self._utterance.task is not None:
            self._utterance.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._utterance.task
        self._utterance = None

    async def on_end(self) -> None:
        await self._stop_utterance()

    async def _stream_audio(self, utterance: _Utterance) -> None:
        assert self._update is not None
        assert self._route is not None
        update, route = self._update, self._route
        config = SynthesisConfig(
            model_id=route.model.id,
            voice=self._voice,
            speed=update.speed,
            request_id=self.request_id,
            # The session is bound to this worker: when it is full, this turn waits
            # in the worker's line, which is served before any new stream.
            wait_for_slot=True,
            word_timings=update.timestamps,
        )

        async def segments() -> AsyncIterator[Segment | Pause]:
            while (item := await utterance.segments.get()) is not None:
                yield item

        framer = Framer(sample_rate_hz=update.sample_rate, frame_ms=update.frame_ms)
        resampler: StreamResampler | None = None
        started: set[int] = set()
        words = _Words(self._audio_offset_ms / 1000, route.model.native_sample_rate_hz)
        try:
            stream = contextlib.aclosing(route.worker.client.synthesize(config, segments()))
            async with stream as audio:
                async for item in audio:
                    index = item.segment_index
                    if isinstance(item, WordTiming):
                        text = utterance.unspoken.get(index, "")
                        for word in words.add(index, text, item):
                            await self.send_json(_word_event(index, word))
                        continue
                    if isinstance(item, SegmentEnd):
                        for word in words.end(index):
                            await self.send_json(_word_event(index, word))
                        text = utterance.unspoken.pop(index, "")
                        await self.send_json({"type": "segment.done", "index": index, "text": text})
                        continue
                    if index not in started:
                        started.add(index)
                        await self.send_json(
                            {
                                "type": "segment.started",
                                "index": index,
                                "text": utterance.unspoken.get(index, ""),
                                "audio_offset_ms": round(self._audio_offset_ms),
                            }
                        )
                    words.received(item.samples.size)
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
        except PolyvoxError as exc:
            await self.fail(SessionError.from_domain(exc))

    async def _send_frames(self, frames: list[bytes], update: SessionUpdate) -> None:
        for frame in frames:
            await self.send_bytes(frame)
            self._audio_offset_ms += update.frame_ms


class _Words:
    """Word timings of one utterance's segments as words of each segment's text, in
    seconds of the session's audio (see :mod:`polyvox.gateway.word_timeline`)."""

    def __init__(self, start_s: float, rate_hz: int) -> None:
        self._start_s = start_s
        self._rate_hz = rate_hz
        self._received = 0
        self._timelines: dict[int, WordTimeline] = {}

    def received(self, samples: int) -> None:
        self._received += samples

    @property
    def _now_s(self) -> float:
        return self._start_s + self._received / self._rate_hz

    def add(self, index: int, text: str, timing: WordTiming) -> list[SpokenWord]:
        timeline = self._timelines.get(index)
        if timeline is None:
            sources = tuple((i, i + 1) for i in range(len(text)))
            plan = SpeechPlan(text, [PlannedSegment(Segment(text), sources)])
            timeline = self._timelines[index] = WordTimeline(plan)
            timeline.start_segment(0, self._now_s)
        return timeline.add(timing, self._rate_hz)

    def end(self, index: int) -> list[SpokenWord]:
        timeline = self._timelines.pop(index, None)
        return timeline.end_segment(self._now_s) if timeline is not None else []


def _word_event(index: int, word: SpokenWord) -> dict[str, Any]:
    return {
        "type": "word",
        "index": index,
        "word": word.word,
        "text_start": word.source_start,
        "text_end": word.source_end,
        "audio_start_ms": round(word.start_s * 1000),
        "audio_end_ms": round(word.end_s * 1000),
    }


def _resample_pcm(resampler: StreamResampler, samples: np.ndarray | None) -> bytes:
    """Resample (``None``: flush the resampler) and convert to s16le bytes."""
    out = resampler.flush() if samples is None else resampler.process(samples)
    return float_to_int16(out).astype("<i2").tobytes() if out.size else b""
