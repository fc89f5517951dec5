"""The Transcribe RPC: servicer.py's speech-to-text half, kept apart to keep both small.

With servicer.py, the only worker code that touches protobuf types: messages in
become numpy arrays and a TranscriptionRequest, transcript events out become
messages; worker/transcription.py does the work.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox.engines.base import Capability, TranscriptionModel
from polyvox.engines.transcript import (
    SpeechEvent,
    SpeechEventKind,
    TranscriptEvent,
    TranscriptionInfo,
    TranscriptionRequest,
    TranscriptSegment,
    TranscriptUpdate,
)
from polyvox.errors import InvalidArgument
from polyvox.logs import bind_context
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler
from polyvox.worker.transcription import transcribe_batch, transcribe_streaming

logger = logging.getLogger(__name__)

#: Most audio one batch request may send (its samples are held in memory: 64 KB/s).
#: The gateway enforces its own, lower, limit; this guards the worker from any client.
MAX_BATCH_AUDIO_S = 4 * 3600
_DTYPES: dict[int, np.dtype[Any]] = {
    pb.SAMPLE_FORMAT_F32LE: np.dtype("<f4"),
    pb.SAMPLE_FORMAT_S16LE: np.dtype("<i2"),
}
_SPEECH_KIND_PB = {
    SpeechEventKind.STARTED: pb.SpeechEvent.KIND_STARTED,
    SpeechEventKind.STOPPED: pb.SpeechEvent.KIND_STOPPED,
}


def _request_from_pb(config: pb.TranscriptionConfig) -> TranscriptionRequest:
    if not (0.0 <= config.temperature <= 1.0):
        raise InvalidArgument(f"temperature must be between 0 and 1, got {config.temperature}")
    return TranscriptionRequest(
        language=config.language or None,
        prompt=config.prompt or None,
        temperature=config.temperature,
        word_timestamps=config.word_timestamps,
        vad_filter=config.vad_filter,
        options=dict(config.options),
    )


def _samples_from_pb(chunk: pb.AudioChunk, rate_hz: int) -> np.ndarray:
    if chunk.sample_rate_hz != rate_hz:
        raise InvalidArgument(
            f"audio must be at the model's rate, {rate_hz} Hz; got {chunk.sample_rate_hz} Hz"
        )
    if chunk.channels > 1:
        raise InvalidArgument(f"audio must be mono; got {chunk.channels} channels")
    dtype = _DTYPES.get(chunk.sample_format)
    if dtype is None:
        raise InvalidArgument("audio must be f32le or s16le samples")
    if len(chunk.samples) % dtype.itemsize:
        raise InvalidArgument(
            f"audio bytes are not a whole number of {dtype.itemsize}-byte samples"
        )
    samples = np.frombuffer(chunk.samples, dtype=dtype)
    if dtype.kind == "i":
        return samples.astype(np.float32) / 32768.0
    if not np.isfinite(samples).all():
        raise InvalidArgument("audio contains NaN or infinite samples")
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


async def _audio(
    requests: AsyncIterator[pb.TranscribeIn], rate_hz: int
) -> AsyncIterator[np.ndarray]:
    """Audio chunks until End (or the client closes its side)."""
    async for message in requests:
        kind = message.WhichOneof("item")
        if kind == "end":
            return
        if kind != "audio":
            raise InvalidArgument(f"unexpected {kind or 'empty'} message after config")
        yield _samples_from_pb(message.audio, rate_hz)


async def _collect(audio: AsyncIterator[np.ndarray], rate_hz: int) -> np.ndarray:
    chunks, total = [], 0
    async for samples in audio:
        total += samples.size
        if total > MAX_BATCH_AUDIO_S * rate_hz:
            raise InvalidArgument(f"more than {MAX_BATCH_AUDIO_S} s of audio in one request")
        chunks.append(samples)
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _segment_to_pb(segment: TranscriptSegment) -> pb.TranscriptSegment:
    return pb.TranscriptSegment(
        id=segment.id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        text=segment.text,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        temperature=segment.temperature,
        tokens=list(segment.tokens),
        words=[
            pb.TranscriptWord(
                start_s=w.start_s, end_s=w.end_s, word=w.word, probability=w.probability
            )
            for w in segment.words
        ],
        seek=segment.seek,
    )


def _event_to_pb(event: TranscriptEvent) -> pb.TranscribeOut:
    if isinstance(event, TranscriptSegment):
        return pb.TranscribeOut(segment=_segment_to_pb(event))
    if isinstance(event, SpeechEvent):
        return pb.TranscribeOut(
            speech=pb.SpeechEvent(kind=_SPEECH_KIND_PB[event.kind], time_s=event.time_s)
        )
    if isinstance(event, TranscriptUpdate):
        return pb.TranscribeOut(
            transcript=pb.TranscriptUpdate(
                utterance_index=event.utterance_index,
                final=event.final,
                text=event.text,
                start_s=event.start_s,
                end_s=event.end_s,
                segments=[_segment_to_pb(s) for s in event.segments],
            )
        )
    assert isinstance(event, TranscriptionInfo)
    return pb.TranscribeOut(
        info=pb.TranscriptionInfo(
            language=event.language,
            language_probability=event.language_probability,
            duration_s=event.duration_s,
            duration_after_vad_s=event.duration_after_vad_s,
        )
    )


async def transcribe(
    requests: AsyncIterator[pb.TranscribeIn], *, models: ModelManager, scheduler: DeadlineScheduler
) -> AsyncIterator[pb.TranscribeOut]:
    """Serve one Transcribe stream (capacity is checked by the caller)."""
    first = await anext(requests, None)
    if first is None or first.WhichOneof("item") != "config":
        raise InvalidArgument("the first Transcribe message must be a config")
    config = first.config
    bind_context(request_id=config.request_id or None, model=config.model_id)
    info = models.info(config.model_id)
    if info.capability is not Capability.STT:
        raise InvalidArgument(f"model {info.id!r} does not transcribe speech")
    request = _request_from_pb(config)
    lease = await models.acquire(info.id)
    try:
        model = lease.model
        assert isinstance(model, TranscriptionModel)  # checked through info.capability
        audio = _audio(requests, info.native_sample_rate_hz)
        if config.streaming:
            events = transcribe_streaming(model, request, audio, scheduler)
        else:
            samples = await _collect(audio, info.native_sample_rate_hz)
            events = transcribe_batch(model, request, samples, scheduler)
        async for event in events:
            if isinstance(event, TranscriptionInfo):
                logger.info("transcription ended: %.2f s of audio", event.duration_s)
            yield _event_to_pb(event)
    finally:
        lease.release()
