"""The gateway's side of the worker contract: the only gateway code touching protobuf."""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
)
from dataclasses import dataclass, field

import grpc
import numpy as np

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.addresses import grpc_target
from polyvox.engines.base import Capability, ModelInfo, VoiceInfo
from polyvox.engines.transcript import (
    SpeechEvent,
    SpeechEventKind,
    TranscriptEvent,
    TranscriptionInfo,
    TranscriptSegment,
    TranscriptUpdate,
    Word,
)

_CAPABILITY = {
    pb.CAPABILITY_TTS: Capability.TTS,
    pb.CAPABILITY_STT: Capability.STT,
    pb.CAPABILITY_VAD: Capability.VAD,
}
_SPEECH_KIND = {
    pb.SpeechEvent.KIND_STARTED: SpeechEventKind.STARTED,
    pb.SpeechEvent.KIND_STOPPED: SpeechEventKind.STOPPED,
}
#: Audio per Transcribe message: 10 s of f32 is 640 KB, well under gRPC's 4 MB cap.
_TRANSCRIBE_CHUNK_SAMPLES = 160_000
_SAMPLE_DTYPE = {pb.SAMPLE_FORMAT_F32LE: "<f4", pb.SAMPLE_FORMAT_S16LE: "<i2"}


@dataclass(frozen=True, slots=True)
class ResidentModelInfo:
    model_id: str
    loaded_at_s: float
    last_used_at_s: float
    in_flight: int
    #: When the model becomes evictable for idleness; 0 when it never will as is.
    expires_at_s: float


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """Load and model-lifecycle figures; counters restart with the worker process."""

    queue_depth: int = 0
    inference_running: int = 0
    model_loads_total: int = 0
    model_load_seconds_total: float = 0.0
    evictions_total: int = 0
    memory_rss_bytes: int = 0

    @classmethod
    def from_pb(cls, stats: pb.WorkerStats) -> WorkerStats:
        return cls(
            queue_depth=stats.queue_depth,
            inference_running=stats.inference_running,
            model_loads_total=stats.model_loads_total,
            model_load_seconds_total=stats.model_load_seconds_total,
            evictions_total=stats.evictions_total,
            memory_rss_bytes=stats.memory_rss_bytes,
        )


@dataclass(frozen=True, slots=True)
class WorkerDescription:
    engine: str
    engine_version: str
    models: tuple[ModelInfo, ...]
    resident: tuple[ResidentModelInfo, ...]
    device: str
    in_flight: int
    capacity: int
    pid: int
    runtime: Mapping[str, str]
    started_at_s: float
    loading: tuple[str, ...] = ()
    stats: WorkerStats = WorkerStats()

    @classmethod
    def from_pb(cls, info: pb.WorkerInfo) -> WorkerDescription:
        return cls(
            engine=info.engine,
            engine_version=info.engine_version,
            models=tuple(_model_from_pb(m) for m in info.models),
            resident=tuple(
                ResidentModelInfo(
                    r.model_id, r.loaded_at_s, r.last_used_at_s, r.in_flight, r.expires_at_s
                )
                for r in info.resident
            ),
            device=info.device,
            in_flight=info.in_flight,
            capacity=info.capacity,
            pid=info.pid,
            runtime=dict(info.runtime),
            started_at_s=info.started_at_s,
            loading=tuple(info.loading),
            stats=WorkerStats.from_pb(info.stats),
        )


def _model_from_pb(model: pb.Model) -> ModelInfo:
    return ModelInfo(
        id=model.id,
        voices=tuple(
            VoiceInfo(id=v.id, language=v.language, labels=dict(v.labels)) for v in model.voices
        ),
        native_sample_rate_hz=model.native_sample_rate_hz,
        languages=tuple(model.languages),
        capability=_CAPABILITY.get(model.capability, Capability.TTS),
        voice_blending=model.voice_blending,
    )


@dataclass(frozen=True, slots=True)
class SynthesisSettings:
    """Per-stream settings sent as the first Synthesize message."""

    model_id: str
    voice: str
    speed: float = 1.0
    options: Mapping[str, str] = field(default_factory=dict)
    request_id: str = ""

    def to_pb(self) -> pb.SynthesizeIn:
        return pb.SynthesizeIn(
            config=pb.SynthesisConfig(
                model_id=self.model_id,
                voice=self.voice,
                speed=self.speed,
                options=dict(self.options),
                request_id=self.request_id,
            )
        )


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono float32 samples of one segment at the model's native rate."""

    segment_index: int
    samples: np.ndarray
    sample_rate_hz: int


@dataclass(frozen=True, slots=True)
class SegmentEnd:
    segment_index: int
    num_samples: int


def _audio_from_pb(chunk: pb.AudioChunk) -> AudioChunk:
    samples = np.frombuffer(chunk.samples, dtype=_SAMPLE_DTYPE[chunk.sample_format])
    if chunk.channels > 1:
        samples = samples.reshape(-1, chunk.channels).mean(axis=1)
    if samples.dtype != np.float32:
        samples = samples.astype(np.float32) / 32768.0
    return AudioChunk(
        chunk.segment_index, samples.astype(np.float32, copy=False), chunk.sample_rate_hz
    )


async def _write_requests(
    call: grpc.aio.StreamStreamCall,
    settings: SynthesisSettings,
    segments: Iterable[str] | AsyncIterable[str],
    on_segment: Callable[[], None],
) -> None:
    """Send config, segments, end. Writes are explicit (not a request iterator) so a
    worker that rejects the stream early surfaces its own status to the reader,
    not a local write failure."""
    try:
        await call.write(settings.to_pb())
        index = 0
        async for text in _aiter(segments):
            await call.write(pb.SynthesizeIn(segment=pb.TextSegment(index=index, text=text)))
            on_segment()
            index += 1
        await call.write(pb.SynthesizeIn(end=pb.EndOfInput()))
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return  # the call has ended; its status reaches the reader


async def _aiter(items: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


@dataclass(frozen=True, slots=True)
class TranscriptionSettings:
    """Per-stream settings sent as the first Transcribe message."""

    model_id: str
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    vad_filter: bool = False
    #: VAD events and partial/final transcripts while audio arrives, instead of batch.
    streaming: bool = False
    request_id: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    def to_pb(self) -> pb.TranscribeIn:
        return pb.TranscribeIn(
            config=pb.TranscriptionConfig(
                model_id=self.model_id,
                language=self.language or "",
                prompt=self.prompt or "",
                temperature=self.temperature,
                word_timestamps=self.word_timestamps,
                vad_filter=self.vad_filter,
                streaming=self.streaming,
                request_id=self.request_id,
                options=dict(self.options),
            )
        )


def _segment_from_pb(segment: pb.TranscriptSegment) -> TranscriptSegment:
    return TranscriptSegment(
        id=segment.id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        text=segment.text,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        temperature=segment.temperature,
        tokens=tuple(segment.tokens),
        words=tuple(Word(w.start_s, w.end_s, w.word, w.probability) for w in segment.words),
        seek=segment.seek,
    )


def _transcript_event_from_pb(out: pb.TranscribeOut) -> TranscriptEvent:
    kind = out.WhichOneof("item")
    if kind == "segment":
        return _segment_from_pb(out.segment)
    if kind == "speech":
        return SpeechEvent(_SPEECH_KIND[out.speech.kind], out.speech.time_s)
    if kind == "transcript":
        update = out.transcript
        return TranscriptUpdate(
            utterance_index=update.utterance_index,
            final=update.final,
            text=update.text,
            start_s=update.start_s,
            end_s=update.end_s,
            segments=tuple(_segment_from_pb(s) for s in update.segments),
        )
    info = out.info
    return TranscriptionInfo(
        info.language, info.language_probability, info.duration_s, info.duration_after_vad_s
    )


async def _write_audio(
    call: grpc.aio.StreamStreamCall,
    settings: TranscriptionSettings,
    audio: AsyncIterable[np.ndarray],
    sample_rate_hz: int,
) -> None:
    """Send config, mono f32 audio, end; explicit writes, as in _write_requests."""
    try:
        await call.write(settings.to_pb())
        async for samples in audio:
            data = np.asarray(samples, dtype="<f4")
            for start in range(0, data.size, _TRANSCRIBE_CHUNK_SAMPLES):
                piece = data[start : start + _TRANSCRIBE_CHUNK_SAMPLES]
                chunk = pb.AudioChunk(
                    samples=piece.tobytes(),
                    sample_rate_hz=sample_rate_hz,
                    sample_format=pb.SAMPLE_FORMAT_F32LE,
                    sample_width_bytes=4,
                    channels=1,
                )
                await call.write(pb.TranscribeIn(audio=chunk))
        await call.write(pb.TranscribeIn(end=pb.EndOfInput()))
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return  # the call has ended; its status reaches the reader


class WorkerClient:
    """A gRPC channel to one worker; reconnects by itself when the worker restarts."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = grpc.aio.insecure_channel(grpc_target(address))
        self._stub = worker_pb2_grpc.WorkerStub(self._channel)
        #: Segments this gateway sent to the worker whose audio has not ended yet:
        #: the replica router's load signal.
        self.segments_in_flight = 0

    async def describe(self, *, timeout_s: float = 5.0) -> WorkerDescription:
        info = await self._stub.Describe(pb.DescribeRequest(), timeout=timeout_s)
        return WorkerDescription.from_pb(info)

    async def health(self, *, timeout_s: float = 2.0) -> bool:
        """True when the worker answers and is serving (not draining)."""
        response = await self._stub.Health(pb.HealthRequest(), timeout=timeout_s)
        return response.status == pb.HealthResponse.STATUS_SERVING

    async def load(self, model_id: str, *, timeout_s: float = 600.0) -> float:
        response = await self._stub.Load(pb.LoadRequest(model_id=model_id), timeout=timeout_s)
        return response.load_duration_s

    async def unload(self, model_id: str, *, timeout_s: float = 60.0) -> bool:
        response = await self._stub.Unload(pb.UnloadRequest(model_id=model_id), timeout=timeout_s)
        return response.unloaded

    async def synthesize(
        self, settings: SynthesisSettings, segments: Iterable[str] | AsyncIterable[str]
    ) -> AsyncGenerator[AudioChunk | SegmentEnd, None]:
        """Stream audio for ``segments``; gRPC errors propagate as grpc.aio.AioRpcError."""
        call = self._stub.Synthesize()
        outstanding = 0

        def segment_sent() -> None:
            nonlocal outstanding
            outstanding += 1
            self.segments_in_flight += 1

        writer = asyncio.create_task(_write_requests(call, settings, segments, segment_sent))
        try:
            while (out := await call.read()) is not grpc.aio.EOF:
                if out.WhichOneof("item") == "audio":
                    yield _audio_from_pb(out.audio)
                else:
                    outstanding -= 1
                    self.segments_in_flight -= 1
                    yield SegmentEnd(out.segment_end.segment_index, out.segment_end.num_samples)
        finally:
            writer.cancel()
            call.cancel()
            self.segments_in_flight -= outstanding

    async def transcribe(
        self,
        settings: TranscriptionSettings,
        audio: AsyncIterable[np.ndarray],
        *,
        sample_rate_hz: int,
    ) -> AsyncGenerator[TranscriptEvent, None]:
        """Send mono float32 ``audio`` at the model's rate; yield what the worker sends
        back. gRPC errors propagate as grpc.aio.AioRpcError."""
        call = self._stub.Transcribe()
        writer = asyncio.create_task(_write_audio(call, settings, audio, sample_rate_hz))
        try:
            while (out := await call.read()) is not grpc.aio.EOF:
                yield _transcript_event_from_pb(out)
        finally:
            writer.cancel()
            call.cancel()

    async def close(self) -> None:
        await self._channel.close()
