"""One Transcribe stream in a worker: batch, or streaming with voice activity detection.

Blocking work (VAD over a chunk, decoding a window) runs as steps on the worker's
DeadlineScheduler, like synthesis, so STT and TTS streams in one worker share its
cores instead of oversubscribing them. Every step's deadline is "now" when it is
queued: a long batch job re-queues after each decoded window and so interleaves
with other streams rather than holding the inference thread for minutes.

A stream holds a session while open; it holds a work slot only while it decodes. A
streaming session that is only listening (VAD) works for nothing but its VAD steps;
a final transcript waits for a slot, a partial one is skipped when none is free, so
partials are what a busy worker sheds first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import TypeVar

import numpy as np

from polyvox.contract.types import (
    AudioChunk,
    Capability,
    SpeechEvent,
    SpeechEventKind,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptSegment,
    TranscriptUpdate,
    transcript_text,
)
from polyvox.engines.base import TranscriptionModel, TranscriptionRequest, VadParameters
from polyvox.errors import InvalidArgument
from polyvox.logs import bind_context
from polyvox.worker.admission import Admission, WorkSlot
from polyvox.worker.models import ModelManager
from polyvox.worker.sample_buffer import SampleBuffer
from polyvox.worker.scheduler import DeadlineScheduler

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Most audio one batch request may send (its samples are held in memory: 64 KB/s).
#: The gateway enforces its own, lower, limit; this guards the worker from any client.
MAX_BATCH_AUDIO_S = 4 * 3600
#: A partial transcript of the utterance in progress after each second of new speech,
#: or less often when decoding it takes longer: partials (which re-decode the whole
#: utterance so far) then use at most about half of the stream's real time.
PARTIAL_INTERVAL_S = 1.0
_PARTIAL_MAX_SHARE = 0.5
#: Whisper decodes 30 s windows: a longer utterance is finalized in pieces this long.
MAX_UTTERANCE_S = 28.0
#: Audio kept before the current position while nobody speaks, so a detected start
#: (which reaches back by the VAD's padding) still has its samples.
_LOOKBACK_S = 1.0


def _next_segment(segments: Iterator[TranscriptSegment]) -> TranscriptSegment | None:
    return next(segments, None)


def _request(config: TranscriptionConfig) -> TranscriptionRequest:
    if not (0.0 <= config.temperature <= 1.0):
        raise InvalidArgument(f"temperature must be between 0 and 1, got {config.temperature}")
    return TranscriptionRequest(
        language=config.language,
        prompt=config.prompt,
        temperature=config.temperature,
        word_timestamps=config.word_timestamps,
        vad_filter=config.vad_filter,
        options=dict(config.options),
    )


def _checked_samples(chunk: AudioChunk, rate_hz: int) -> np.ndarray:
    if chunk.sample_rate_hz != rate_hz:
        raise InvalidArgument(
            f"audio must be at the model's rate, {rate_hz} Hz; got {chunk.sample_rate_hz} Hz"
        )
    if not np.isfinite(chunk.samples).all():
        raise InvalidArgument("audio contains NaN or infinite samples")
    return np.clip(chunk.samples, -1.0, 1.0).astype(np.float32, copy=False)


class StreamingTranscriber:
    """The state of one streaming transcription: audio buffer, VAD, utterances.

    Its methods block (VAD, decoding) and are run as scheduler steps, one at a time.
    """

    def __init__(
        self, model: TranscriptionModel, request: TranscriptionRequest, vad: VadParameters
    ) -> None:
        self._model = model
        self._request = request
        self._preview = model.preview_request(request)
        self._detector = model.voice_activity(vad)
        self._rate = model.info.native_sample_rate_hz
        self._audio = SampleBuffer()
        self._utterance_start: int | None = None
        self._partial_at = 0
        self._partial_cost_s = 0.0
        self._finals: list[tuple[int, int]] = []
        self._utterances = 0
        self._next_segment_id = 0
        self._decoded_samples = 0
        self._last_info: TranscriptionInfo | None = None

    @property
    def _received(self) -> int:
        return self._audio.end

    def push(self, samples: np.ndarray) -> list[SpeechEvent]:
        self._trim()
        self._audio.append(samples)
        return self._track(self._detector.push(samples))

    def finish(self) -> list[SpeechEvent]:
        """End of audio: close the utterance in progress."""
        return self._track(self._detector.flush())

    def take_final(self) -> tuple[int, int] | None:
        """The next ended utterance to transcribe, as stream sample indices."""
        return self._finals.pop(0) if self._finals else None

    def partial_due(self) -> bool:
        interval_s = max(PARTIAL_INTERVAL_S, self._partial_cost_s / _PARTIAL_MAX_SHARE)
        start = self._utterance_start
        return start is not None and self._received - self._partial_at >= interval_s * self._rate

    def partial(self) -> TranscriptUpdate:
        assert self._utterance_start is not None
        self._partial_at = self._received
        started = time.perf_counter()
        update = self._decode(self._utterance_start, self._received, final=False)
        self._partial_cost_s = time.perf_counter() - started
        return update

    def final(self, span: tuple[int, int]) -> TranscriptUpdate:
        update = self._decode(*span, final=True)
        self._utterances += 1
        return update

    def info(self) -> TranscriptionInfo:
        """What the stream heard: the language its model decoded last (the request's,
        or the model's only one, before any decode)."""
        if self._last_info is not None:
            language = self._last_info.language
            probability = self._last_info.language_probability
        else:
            language = self._request.language or (self._model.info.languages or ("",))[0]
            probability = 1.0 if self._request.language else 0.0
        return TranscriptionInfo(
            language=language,
            language_probability=probability,
            duration_s=self._received / self._rate,
            duration_after_vad_s=self._decoded_samples / self._rate,
        )

    def _track(self, events: list[SpeechEvent]) -> list[SpeechEvent]:
        for event in events:
            sample = round(event.time_s * self._rate)
            if event.kind is SpeechEventKind.STARTED:
                self._utterance_start = self._partial_at = sample
                self._partial_cost_s = 0.0
            elif self._utterance_start is not None:
                self._finals.append((self._utterance_start, sample))
                self._utterance_start = None
        start = self._utterance_start
        if start is not None and self._received - start >= MAX_UTTERANCE_S * self._rate:
            # Still speaking after a whole window: finalize what we have, go on after it.
            self._finals.append((start, self._received))
            self._utterance_start = self._partial_at = self._received
        return events

    def _trim(self) -> None:
        keep_from = self._received - int(_LOOKBACK_S * self._rate)
        for start, _ in self._finals:
            keep_from = min(keep_from, start)
        if self._utterance_start is not None:
            keep_from = min(keep_from, self._utterance_start)
        self._audio.drop_before(keep_from)

    def _decode(self, start: int, end: int, *, final: bool) -> TranscriptUpdate:
        audio = self._audio.slice(start, end)
        request = self._request if final else self._preview
        segments, info = self._model.transcribe(audio, request)
        offset_s = start / self._rate
        decoded = [segment.shifted(offset_s) for segment in segments]
        if final:
            self._last_info = info
            self._decoded_samples += audio.size
            decoded = [
                segment.shifted(0.0, id=self._next_segment_id + i)
                for i, segment in enumerate(decoded)
            ]
            self._next_segment_id += len(decoded)
        return TranscriptUpdate(
            utterance_index=self._utterances,
            final=final,
            text=transcript_text(decoded),
            start_s=offset_s,
            end_s=end / self._rate,
            segments=tuple(decoded) if final else (),
        )


class TranscriptionStreams:
    """Serves every Transcribe stream of one worker."""

    def __init__(
        self, *, models: ModelManager, scheduler: DeadlineScheduler, admission: Admission
    ) -> None:
        self._models = models
        self._scheduler = scheduler
        self._admission = admission

    async def stream(
        self, config: TranscriptionConfig, audio: AsyncIterator[AudioChunk]
    ) -> AsyncIterator[TranscriptEvent]:
        """Serve one stream (its session is held by the caller)."""
        bind_context(request_id=config.request_id or None, model=config.model_id)
        info = self._models.info(config.model_id)
        if info.capability is not Capability.STT:
            raise InvalidArgument(f"model {info.id!r} does not transcribe speech")
        request = _request(config)
        rate_hz = info.native_sample_rate_hz
        samples = (_checked_samples(chunk, rate_hz) async for chunk in audio)
        if config.streaming:
            events = self._streaming(info.id, request, samples)
        else:
            events = self._batch(info.id, request, samples, rate_hz)
        async for event in events:
            if isinstance(event, TranscriptionInfo):
                logger.info("transcription ended: %.2f s of audio", event.duration_s)
            yield event

    async def _step(self, work: Callable[[], T], model: TranscriptionModel) -> T:
        exclusive = None if model.concurrent_calls else model
        return await self._scheduler.run(
            work, deadline_s=self._scheduler.clock(), exclusive=exclusive
        )

    async def _batch(
        self,
        model_id: str,
        request: TranscriptionRequest,
        audio: AsyncIterator[np.ndarray],
        rate_hz: int,
    ) -> AsyncIterator[TranscriptSegment | TranscriptionInfo]:
        """Yield each segment as its window is decoded, then the info."""
        chunks, total = [], 0
        async for samples in audio:
            total += samples.size
            if total > MAX_BATCH_AUDIO_S * rate_hz:
                raise InvalidArgument(f"more than {MAX_BATCH_AUDIO_S} s of audio in one request")
            chunks.append(samples)
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        slot = self._admission.try_work()
        try:
            lease = await self._models.acquire(model_id)
            try:
                model = lease.model
                assert isinstance(model, TranscriptionModel)  # checked through capability
                decode = partial(model.transcribe, samples, request)
                segments, info = await self._step(decode, model)
                iterator = iter(segments)
                next_segment = partial(_next_segment, iterator)
                while (segment := await self._step(next_segment, model)) is not None:
                    yield segment
                yield info
            finally:
                lease.release()
        finally:
            slot.release()

    async def _streaming(
        self, model_id: str, request: TranscriptionRequest, audio: AsyncIterator[np.ndarray]
    ) -> AsyncIterator[TranscriptEvent]:
        """Yield speech events, partial and final transcripts as audio arrives, then the
        info. The model stays leased while audio flows: every frame runs its VAD."""
        lease = await self._models.acquire(model_id)
        try:
            model = lease.model
            assert isinstance(model, TranscriptionModel)  # checked through capability
            session = StreamingTranscriber(model, request, VadParameters())
            async for samples in audio:
                for event in await self._step(partial(session.push, samples), model):
                    yield event
                async for update in self._transcripts(session, model):
                    yield update
            for event in await self._step(session.finish, model):
                yield event
            async for update in self._transcripts(session, model, partials=False):
                yield update
            yield session.info()
        finally:
            lease.release()

    async def _transcripts(
        self, session: StreamingTranscriber, model: TranscriptionModel, *, partials: bool = True
    ) -> AsyncIterator[TranscriptUpdate]:
        while (span := session.take_final()) is not None:
            slot = await self._admission.work()
            try:
                final = await self._step(partial(session.final, span), model)
            finally:
                slot.release()
            yield final
        if partials and session.partial_due():
            preview_slot: WorkSlot | None = self._admission.try_work_or_none()
            if preview_slot is None:
                return  # the worker is busy: a preview can wait, other streams cannot
            try:
                update = await self._step(session.partial, model)
            finally:
                preview_slot.release()
            if update.text:
                yield update
