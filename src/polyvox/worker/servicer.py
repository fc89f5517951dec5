"""The worker's gRPC servicer: the only worker code that touches protobuf.

Messages in become the contract's types through :mod:`polyvox.contract.codec`; the
streams themselves are served by :mod:`synthesis_stream` and
:mod:`transcription_stream`, which know nothing of gRPC.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

import grpc

import polyvox
from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.contract import codec
from polyvox.contract.types import (
    PAUSE,
    AudioChunk,
    Pause,
    ResidentModelInfo,
    TranscriptionInput,
    WorkerDescription,
    WorkerStats,
)
from polyvox.engines.base import Engine
from polyvox.errors import InvalidArgument
from polyvox.worker.admission import Admission
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler
from polyvox.worker.settings import WorkerSettings
from polyvox.worker.synthesis_stream import SynthesisStreams, TextInput
from polyvox.worker.transcription_stream import TranscriptionStreams

_RUNTIME_PACKAGES = ("numpy", "onnxruntime", "grpcio", "protobuf")


def _runtime_facts() -> dict[str, str]:
    facts = {"python": sys.executable, "python_version": sys.version.split()[0]}
    facts["polyvox"] = polyvox.__version__
    for package in _RUNTIME_PACKAGES:
        try:
            facts[package] = version(package)
        except PackageNotFoundError:
            continue
    return facts


def _rss_bytes() -> int:
    """Resident memory of this process (Linux); 0 elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


async def _text_inputs(
    requests: AsyncIterator[pb.SynthesizeIn],
) -> AsyncIterator[TextInput | Pause]:
    """The segments (and pauses) after a stream's config, until End (or the client
    closes its side)."""
    async for message in requests:
        kind = message.WhichOneof("item")
        if kind == "end":
            return
        if kind == "pause":
            yield PAUSE
        elif kind == "segment":
            yield codec.text_segment_from_pb(message.segment)
        else:
            raise InvalidArgument(f"unexpected {kind or 'empty'} message after config")


async def _audio_inputs(
    requests: AsyncIterator[pb.TranscribeIn],
) -> AsyncIterator[AudioChunk | TranscriptionInput]:
    """Audio, commits and clears after a stream's config, until End."""
    async for message in requests:
        item = codec.transcription_input_from_pb(message)
        if item is None:
            return
        yield item


class WorkerServicer(worker_pb2_grpc.WorkerServicer):
    def __init__(
        self,
        *,
        settings: WorkerSettings,
        engine: Engine,
        models: ModelManager,
        scheduler: DeadlineScheduler,
        admission: Admission,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._models = models
        self._scheduler = scheduler
        self._admission = admission
        self._synthesis = SynthesisStreams(
            settings=settings, models=models, scheduler=scheduler, admission=admission
        )
        self._transcription = TranscriptionStreams(
            models=models, scheduler=scheduler, admission=admission
        )
        self._started_at_s = time.time()
        self._runtime = _runtime_facts()

    def describe(self) -> WorkerDescription:
        models = self._models
        return WorkerDescription(
            engine=self._engine.name,
            engine_version=self._engine.version(),
            capabilities=tuple(self._engine.capabilities),
            models=tuple(models.catalog.values()),
            resident=tuple(
                ResidentModelInfo(
                    model_id=model_id,
                    loaded_at_s=resident.loaded_at_s,
                    last_used_at_s=resident.last_used_at_s,
                    in_flight=resident.in_flight,
                    expires_at_s=models.expires_at_s(model_id),
                )
                for model_id, resident in models.resident.items()
            ),
            device=self._settings.device,
            in_flight=self._admission.working,
            capacity=self._admission.capacity,
            sessions=self._admission.sessions,
            max_sessions=self._admission.max_sessions,
            pid=os.getpid(),
            runtime=self._runtime,
            started_at_s=self._started_at_s,
            loading=tuple(models.loading),
            stats=WorkerStats(
                queue_depth=self._scheduler.queued,
                inference_running=self._scheduler.running,
                model_loads_total=models.loads_total,
                model_load_seconds_total=models.load_seconds_total,
                evictions_total=models.evictions_total,
                memory_rss_bytes=_rss_bytes(),
            ),
        )

    async def Describe(
        self, request: pb.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerInfo:
        return codec.description_to_pb(self.describe())

    async def Load(
        self, request: pb.LoadRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoadResponse:
        return pb.LoadResponse(load_duration_s=await self._models.load(request.model_id))

    async def Unload(
        self, request: pb.UnloadRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnloadResponse:
        return pb.UnloadResponse(unloaded=await self._models.unload(request.model_id))

    async def Synthesize(
        self, request_iterator: AsyncIterator[pb.SynthesizeIn], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SynthesizeOut]:
        with self._admission.session():
            first = await anext(request_iterator, None)
            config = codec.synthesis_config_from_pb(first or pb.SynthesizeIn())
            async for event in self._synthesis.stream(config, _text_inputs(request_iterator)):
                yield codec.synthesis_event_to_pb(event)

    async def Transcribe(
        self, request_iterator: AsyncIterator[pb.TranscribeIn], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TranscribeOut]:
        with self._admission.session():
            first = await anext(request_iterator, None)
            config = codec.transcription_config_from_pb(first or pb.TranscribeIn())
            stream = self._transcription.stream(config, _audio_inputs(request_iterator))
            async for event in stream:
                yield codec.transcript_event_to_pb(event)
