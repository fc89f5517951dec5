"""gRPC servicer: the only worker code that touches protobuf types."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import replace
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import grpc
import numpy as np

import polyvox
from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.engines.base import (
    Capability,
    Engine,
    KnowsItsEnd,
    ModelInfo,
    SpeechModel,
    SynthesisRequest,
)
from polyvox.errors import InvalidArgument, ResourceExhausted, Unavailable
from polyvox.logs import bind_context
from polyvox.text.pieces import split_to_length
from polyvox.voices import is_blend, resolve_blend
from polyvox.worker.models import ModelManager
from polyvox.worker.scheduler import DeadlineScheduler, PlaybackClock
from polyvox.worker.servicer_stt import transcribe
from polyvox.worker.settings import WorkerSettings

logger = logging.getLogger(__name__)

_CAPABILITY_PB = {
    Capability.TTS: pb.CAPABILITY_TTS,
    Capability.STT: pb.CAPABILITY_STT,
    Capability.VAD: pb.CAPABILITY_VAD,
}
_RUNTIME_PACKAGES = ("numpy", "onnxruntime", "grpcio", "protobuf")
_END = object()
#: How long a stream's next inference waits after the chunk that ended a listener's
#: silence. 5 ms was enough for the gateway to ship it on the 2-core development
#: machine (docs/benchmarks.md); twice that leaves room for a slower one.
_FIRST_AUDIO_HANDOFF_S = 0.010


def _model_to_pb(info: ModelInfo) -> pb.Model:
    return pb.Model(
        id=info.id,
        voices=[pb.Voice(id=v.id, language=v.language, labels=dict(v.labels)) for v in info.voices],
        native_sample_rate_hz=info.native_sample_rate_hz,
        languages=list(info.languages),
        capability=_CAPABILITY_PB[info.capability],
        voice_blending=info.voice_blending,
    )


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


def _next_chunk(chunks: Iterator[np.ndarray]) -> object:
    return next(chunks, _END)


def _audio_out(index: int, samples: np.ndarray, rate_hz: int) -> pb.SynthesizeOut:
    return pb.SynthesizeOut(
        audio=pb.AudioChunk(
            segment_index=index,
            samples=samples.tobytes(),
            sample_rate_hz=rate_hz,
            sample_format=pb.SAMPLE_FORMAT_F32LE,
            sample_width_bytes=4,
            channels=1,
        )
    )


class WorkerServicer(worker_pb2_grpc.WorkerServicer):
    def __init__(
        self,
        *,
        settings: WorkerSettings,
        engine: Engine,
        models: ModelManager,
        scheduler: DeadlineScheduler,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._models = models
        self._scheduler = scheduler
        self._in_flight = 0
        #: Streams synthesizing a segment right now. Not ``_in_flight``: an idle
        #: WebSocket session waiting for text holds a stream open but costs nothing.
        self._speaking = 0
        self._draining = False
        self._started_at_s = time.time()
        self._runtime = _runtime_facts()
        self.idle = asyncio.Event()
        self.idle.set()

    def start_draining(self) -> None:
        self._draining = True

    async def Describe(
        self, request: pb.DescribeRequest, context: grpc.aio.ServicerContext
    ) -> pb.WorkerInfo:
        return pb.WorkerInfo(
            engine=self._engine.name,
            engine_version=self._engine.version(),
            capabilities=[_CAPABILITY_PB[c] for c in self._engine.capabilities],
            models=[_model_to_pb(info) for info in self._models.catalog.values()],
            resident=[
                pb.ResidentModel(
                    model_id=model_id,
                    loaded_at_s=r.loaded_at_s,
                    last_used_at_s=r.last_used_at_s,
                    in_flight=r.in_flight,
                    expires_at_s=self._models.expires_at_s(model_id),
                )
                for model_id, r in self._models.resident.items()
            ],
            loading=self._models.loading,
            device=self._settings.device,
            in_flight=self._in_flight,
            capacity=self._settings.capacity,
            pid=os.getpid(),
            runtime=self._runtime,
            started_at_s=self._started_at_s,
            stats=self._stats(),
        )

    def _stats(self) -> pb.WorkerStats:
        return pb.WorkerStats(
            queue_depth=self._scheduler.queued,
            inference_running=self._scheduler.running,
            model_loads_total=self._models.loads_total,
            model_load_seconds_total=self._models.load_seconds_total,
            evictions_total=self._models.evictions_total,
            memory_rss_bytes=_rss_bytes(),
        )

    async def Health(
        self, request: pb.HealthRequest, context: grpc.aio.ServicerContext
    ) -> pb.HealthResponse:
        status = (
            pb.HealthResponse.STATUS_DRAINING
            if self._draining
            else pb.HealthResponse.STATUS_SERVING
        )
        return pb.HealthResponse(status=status)

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
        with self._admitted():
            async for out in self._synthesize(request_iterator):
                yield out

    async def Transcribe(
        self, request_iterator: AsyncIterator[pb.TranscribeIn], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TranscribeOut]:
        # One stream of either kind takes one capacity slot.
        with self._admitted():
            stream = transcribe(request_iterator, models=self._models, scheduler=self._scheduler)
            async for out in stream:
                yield out

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """Hold one of the worker's stream slots, or refuse: draining or at capacity."""
        if self._draining:
            raise Unavailable("worker is shutting down")
        if self._in_flight >= self._settings.capacity:
            raise ResourceExhausted(
                f"worker is at capacity ({self._settings.capacity} streams); retry shortly"
            )
        self._in_flight += 1
        self.idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.idle.set()

    async def _synthesize(
        self, requests: AsyncIterator[pb.SynthesizeIn]
    ) -> AsyncIterator[pb.SynthesizeOut]:
        first = await anext(requests, None)
        if first is None or first.WhichOneof("item") != "config":
            raise InvalidArgument("the first Synthesize message must be a config")
        config = first.config
        # Each RPC runs in its own task: its log lines carry the gateway's request id.
        bind_context(request_id=config.request_id or None, model=config.model_id)
        info = self._models.info(config.model_id)
        if info.capability is not Capability.TTS:
            raise InvalidArgument(f"model {info.id!r} does not synthesize speech")
        voice = config.voice or info.default_voice.id
        if voice not in (valid := info.voice_ids()) and is_blend(voice):
            voice = str(resolve_blend(info, voice))
        elif voice not in valid:
            raise InvalidArgument(
                f"model {info.id!r} has no voice {voice!r}; valid voices: {', '.join(valid)}"
            )
        if not (config.speed > 0 and np.isfinite(config.speed)):
            raise InvalidArgument(f"speed must be a positive number, got {config.speed}")
        lease = await self._models.acquire(info.id)
        playback = PlaybackClock(clock=self._scheduler.clock)
        logger.debug("synthesis started: voice %s, speed %.2f", voice, config.speed)
        try:
            async for message in requests:
                kind = message.WhichOneof("item")
                if kind == "end":
                    return
                if kind != "segment":
                    raise InvalidArgument(f"unexpected {kind or 'empty'} message after config")
                request = SynthesisRequest(
                    text=message.segment.text,
                    voice=voice,
                    speed=config.speed,
                    options=dict(config.options),
                )
                model = lease.model
                assert isinstance(model, SpeechModel)  # checked through info.capability
                segment = self._segment(model, message.segment.index, request, info, playback)
                async for out in segment:
                    yield out
        finally:
            lease.release()
            logger.info("synthesis ended: %.2f s of audio sent", playback.audio_sent_s)

    async def _piece_audio(
        self, model: SpeechModel, request: SynthesisRequest, playback: PlaybackClock
    ) -> AsyncGenerator[np.ndarray, None]:
        """Synthesize one piece step by step through the scheduler; yield its samples."""
        deadline_s = playback.next_deadline_s()
        # The listener has no audio left (a new stream, or a voice agent's next turn
        # on a WebSocket stream that went quiet): ask for a short first chunk.
        dry = deadline_s <= self._scheduler.clock()
        if self._settings.first_chunk_ms and dry:
            request = replace(request, first_chunk_s=self._settings.first_chunk_ms / 1000)
        chunks = iter(model.synthesize(request))
        ending = chunks if isinstance(chunks, KnowsItsEnd) else None
        while True:
            step = partial(_next_chunk, chunks)
            chunk = await self._scheduler.run(step, deadline_s=deadline_s)
            if chunk is _END:
                return
            samples = np.asarray(chunk, dtype="<f4").reshape(-1)
            playback.sent(samples.size / model.info.native_sample_rate_hz)
            if ending is not None:
                finished = ending.finished
                deadline_s = playback.next_deadline_s()
            else:
                finished = False
                # Asking an engine for more after a chunk usually finds it done (one
                # chunk per sentence). Queued at the playback deadline, that check
                # waited behind other streams' inferences, holding finished streams
                # open and ending them in bunches whose clients then all came back at
                # once. So it is due now; if the engine has more (another sentence),
                # that is one sentence of work, as a new stream's first segment is.
                deadline_s = self._scheduler.clock()
            yield samples
            if dry:
                dry = False
                # The listener is waiting for this chunk, and the gateway (on this
                # host by default) still has to resample, encode and send it. This
                # stream's next inference would take both cores from it: an mp3's
                # first 100 ms took 9 ms to encode instead of 1.5. The chunk gives
                # the stream far more slack than this; other streams' steps still run.
                await asyncio.sleep(_FIRST_AUDIO_HANDOFF_S)
            if finished:
                return

    def _pieces(self, text: str) -> list[str]:
        """The texts to synthesize one after another for one segment (see
        WorkerSettings.busy_split_chars): whole unless another stream is speaking."""
        if not text.strip():
            return []
        limit = self._settings.busy_split_chars
        if not limit or len(text) <= limit or self._speaking == 0:
            return [text]
        return split_to_length(text, limit)

    async def _segment(
        self,
        model: SpeechModel,
        index: int,
        request: SynthesisRequest,
        info: ModelInfo,
        playback: PlaybackClock,
    ) -> AsyncIterator[pb.SynthesizeOut]:
        if "\x00" in request.text:
            raise InvalidArgument(f"segment {index} contains a NUL character")
        if len(request.text) > self._settings.max_segment_chars:
            raise InvalidArgument(
                f"segment {index} has {len(request.text)} characters; the limit is "
                f"{self._settings.max_segment_chars}"
            )
        num_samples = 0
        pieces = self._pieces(request.text)
        self._speaking += 1
        try:
            for piece in pieces:
                audio = self._piece_audio(model, replace(request, text=piece), playback)
                # aclosing: a stream ended mid-piece stops its engine iterator now.
                async with contextlib.aclosing(audio):
                    async for samples in audio:
                        num_samples += samples.size
                        yield _audio_out(index, samples, info.native_sample_rate_hz)
        finally:
            self._speaking -= 1
        yield pb.SynthesizeOut(
            segment_end=pb.SegmentEnd(segment_index=index, num_samples=num_samples)
        )
