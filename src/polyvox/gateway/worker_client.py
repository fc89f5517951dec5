"""The gateway's side of the worker contract: the only gateway code touching protobuf."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field

import grpc
import numpy as np

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.addresses import grpc_target
from polyvox.engines.base import Capability, ModelInfo, VoiceInfo

_CAPABILITY = {pb.CAPABILITY_TTS: Capability.TTS, pb.CAPABILITY_STT: Capability.STT}
_SAMPLE_DTYPE = {pb.SAMPLE_FORMAT_F32LE: "<f4", pb.SAMPLE_FORMAT_S16LE: "<i2"}


@dataclass(frozen=True, slots=True)
class ResidentModelInfo:
    model_id: str
    loaded_at_s: float
    last_used_at_s: float
    in_flight: int


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

    @classmethod
    def from_pb(cls, info: pb.WorkerInfo) -> WorkerDescription:
        return cls(
            engine=info.engine,
            engine_version=info.engine_version,
            models=tuple(_model_from_pb(m) for m in info.models),
            resident=tuple(
                ResidentModelInfo(r.model_id, r.loaded_at_s, r.last_used_at_s, r.in_flight)
                for r in info.resident
            ),
            device=info.device,
            in_flight=info.in_flight,
            capacity=info.capacity,
            pid=info.pid,
            runtime=dict(info.runtime),
            started_at_s=info.started_at_s,
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
) -> None:
    """Send config, segments, end. Writes are explicit (not a request iterator) so a
    worker that rejects the stream early surfaces its own status to the reader,
    not a local write failure."""
    try:
        await call.write(settings.to_pb())
        index = 0
        async for text in _aiter(segments):
            await call.write(pb.SynthesizeIn(segment=pb.TextSegment(index=index, text=text)))
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


class WorkerClient:
    """A gRPC channel to one worker; reconnects by itself when the worker restarts."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._channel = grpc.aio.insecure_channel(grpc_target(address))
        self._stub = worker_pb2_grpc.WorkerStub(self._channel)

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
        writer = asyncio.create_task(_write_requests(call, settings, segments))
        try:
            while (out := await call.read()) is not grpc.aio.EOF:
                if out.WhichOneof("item") == "audio":
                    yield _audio_from_pb(out.audio)
                else:
                    yield SegmentEnd(out.segment_end.segment_index, out.segment_end.num_samples)
        finally:
            writer.cancel()
            call.cancel()

    async def close(self) -> None:
        await self._channel.close()
