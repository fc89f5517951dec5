"""One Transcribe stream in a worker: batch, or streaming (``live_transcription``).

Decoding runs as steps on the worker's DeadlineScheduler, like synthesis, so STT
and TTS streams in one worker share its cores instead of oversubscribing them.
Every step's deadline is "now" when it is queued: a long batch job re-queues after
each decoded window and so interleaves with other streams rather than holding the
inference thread for minutes. Voice activity detection (a fraction of a
millisecond per 32 ms window, and what barge-in waits for) runs on a thread of its
own instead, so it never queues behind a decode.

A stream holds a session while open; it holds a work slot only while it decodes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

import numpy as np

from polyvox.contract.types import (
    AudioChunk,
    Capability,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptionInput,
    TranscriptSegment,
)
from polyvox.engines.base import TranscriptionModel, TranscriptionRequest
from polyvox.errors import InvalidArgument
from polyvox.logs import bind_context
from polyvox.worker.admission import Admission
from polyvox.worker.live_transcription import LiveTranscription
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Most audio one batch request may send (its samples are held in memory: 64 KB/s).
#: The gateway enforces its own, lower, limit; this guards the worker from any client.
MAX_BATCH_AUDIO_S = 4 * 3600


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


async def _checked_inputs(
    inputs: AsyncIterator[AudioChunk | TranscriptionInput], rate_hz: int, *, streaming: bool
) -> AsyncIterator[TranscriptionInput]:
    async for item in inputs:
        if isinstance(item, AudioChunk):
            yield _checked_samples(item, rate_hz)
        elif not streaming:
            raise InvalidArgument("Commit and Clear are for streaming mode only")
        else:
            yield item


async def _audio_only(inputs: AsyncIterator[TranscriptionInput]) -> AsyncIterator[np.ndarray]:
    async for item in inputs:
        assert isinstance(item, np.ndarray)  # _checked_inputs refuses the rest in batch mode
        yield item


def _checked_samples(chunk: AudioChunk, rate_hz: int) -> np.ndarray:
    if chunk.sample_rate_hz != rate_hz:
        raise InvalidArgument(
            f"audio must be at the model's rate, {rate_hz} Hz; got {chunk.sample_rate_hz} Hz"
        )
    if not np.isfinite(chunk.samples).all():
        raise InvalidArgument("audio contains NaN or infinite samples")
    return np.clip(chunk.samples, -1.0, 1.0).astype(np.float32, copy=False)


class TranscriptionStreams:
    """Serves every Transcribe stream of one worker."""

    def __init__(
        self, *, models: ModelManager, scheduler: DeadlineScheduler, admission: Admission
    ) -> None:
        self._models = models
        self._scheduler = scheduler
        self._admission = admission
        # One thread serves every stream's VAD: a window costs a fraction of a ms.
        self._vad_executor = ThreadPoolExecutor(1, thread_name_prefix="vad")

    async def stream(
        self,
        config: TranscriptionConfig,
        inputs: AsyncIterator[AudioChunk | TranscriptionInput],
    ) -> AsyncIterator[TranscriptEvent]:
        """Serve one stream (its session is held by the caller)."""
        bind_context(request_id=config.request_id or None, model=config.model_id)
        info = self._models.info(config.model_id)
        if info.capability is not Capability.STT:
            raise InvalidArgument(f"model {info.id!r} does not transcribe speech")
        request = _request(config)
        rate_hz = info.native_sample_rate_hz
        checked = _checked_inputs(inputs, rate_hz, streaming=config.streaming)
        events: AsyncIterator[TranscriptEvent]
        if config.streaming:
            events = self._streaming(info.id, config, request, checked)
        else:
            events = self._batch(info.id, request, _audio_only(checked), rate_hz)
        async for event in events:
            if isinstance(event, TranscriptionInfo):
                logger.info("transcription ended: %.2f s of audio", event.duration_s)
            yield event

    async def _streaming(
        self,
        model_id: str,
        config: TranscriptionConfig,
        request: TranscriptionRequest,
        inputs: AsyncIterator[TranscriptionInput],
    ) -> AsyncIterator[TranscriptEvent]:
        """VAD events, partial and final transcripts as audio arrives, then the info.
        The model stays leased while audio flows: every frame runs its VAD."""
        lease = await self._models.acquire(model_id)
        try:
            model = lease.model
            assert isinstance(model, TranscriptionModel)  # checked through capability
            live = LiveTranscription(
                model,
                config,
                request,
                scheduler=self._scheduler,
                admission=self._admission,
                vad_executor=self._vad_executor,
            )
            async for event in live.events(inputs):
                yield event
        finally:
            lease.release()

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
