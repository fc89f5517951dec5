"""The gateway's client of one worker: every call speaks the contract's types, and every
gRPC status becomes a :class:`~polyvox.errors.PolyvoxError`, so nothing above imports grpc.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import TypeVar

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.contract import codec
from polyvox.contract.link import LinkCredentials, open_channel
from polyvox.contract.status import error_from_rpc
from polyvox.contract.types import (
    Pause,
    Segment,
    SegmentEnd,
    SynthesisConfig,
    SynthesisEvent,
    TranscriptEvent,
    TranscriptionConfig,
    TranscriptionInput,
    WorkerDescription,
)
from polyvox.errors import ResourceExhausted

T = TypeVar("T")

#: Audio per Transcribe message: 10 s of f32 is 640 KB, well under gRPC's 4 MB cap.
_TRANSCRIBE_CHUNK_SAMPLES = 160_000
#: gRPC waits 1 s after a failed connection, then longer (up to 2 min), before it tries
#: again; a worker restarting (or still starting) would be seen up that much later.
_CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    # A worker host that vanishes (power, network) sends no reset: pings find out, so
    # its streams end with an error instead of hanging. Workers accept pings this often
    # (worker/server.py).
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
)


async def _call(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except grpc.aio.AioRpcError as exc:
        raise error_from_rpc(exc) from None


#: What a Synthesize stream is fed: segments (plain text, or text with its language),
#: and pauses between turns.
SegmentInput = str | Segment | Pause


async def _aiter(
    items: Iterable[SegmentInput] | AsyncIterable[SegmentInput],
) -> AsyncIterator[SegmentInput]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def _write_segments(
    call: grpc.aio.StreamStreamCall,
    config: SynthesisConfig,
    segments: Iterable[SegmentInput] | AsyncIterable[SegmentInput],
    on_segment: Callable[[], None],
) -> None:
    """Send config, segments, end. Writes are explicit (not a request iterator) so a
    worker that rejects the stream early surfaces its own status to the reader,
    not a local write failure."""
    try:
        await call.write(codec.synthesis_config_to_pb(config))
        index = 0
        async for item in _aiter(segments):
            if isinstance(item, Pause):
                await call.write(codec.PAUSE_MESSAGE)
                continue
            segment = item if isinstance(item, Segment) else Segment(item)
            await call.write(codec.text_segment_to_pb(index, segment))
            on_segment()
            index += 1
        await call.write(codec.END_OF_SYNTHESIS_INPUT)
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return  # the call has ended; its status reaches the reader


async def _write_audio(
    call: grpc.aio.StreamStreamCall,
    config: TranscriptionConfig,
    audio: AsyncIterable[TranscriptionInput],
    sample_rate_hz: int,
) -> None:
    """Send config, mono float32 audio (and commits or clears), end; explicit writes, as
    in _write_segments."""
    try:
        await call.write(codec.transcription_config_to_pb(config))
        async for samples in audio:
            if not isinstance(samples, np.ndarray):
                await call.write(codec.transcription_control_to_pb(samples))
                continue
            data = np.asarray(samples, dtype=np.float32)
            for start in range(0, data.size, _TRANSCRIBE_CHUNK_SAMPLES):
                piece = data[start : start + _TRANSCRIBE_CHUNK_SAMPLES]
                await call.write(codec.transcription_audio_to_pb(piece, sample_rate_hz))
        await call.write(codec.END_OF_TRANSCRIPTION_INPUT)
        await call.done_writing()
    except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
        return


class WorkerClient:
    """A gRPC channel to one worker; reconnects by itself when the worker restarts."""

    def __init__(
        self,
        address: str,
        *,
        credentials: LinkCredentials | None = None,
        tls: bool | None = None,
        on_stream_end: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        #: Called when a Synthesize or Transcribe stream the worker took ends, however it
        #: ended: its worker may have room again. Not for a stream the worker refused
        #: for want of room: that freed nothing, and a line woken by it would try again
        #: at once, be refused, wake itself, and so on (bench/burst.py counted 12,488
        #: refusals for 128 requests that way).
        self.on_stream_end = on_stream_end
        credentials = credentials or LinkCredentials()
        self._metadata = credentials.metadata()
        self._channel = open_channel(address, credentials, _CHANNEL_OPTIONS, tls=tls)
        self._stub = worker_pb2_grpc.WorkerStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        #: Segments this gateway sent to the worker whose audio has not ended yet:
        #: the replica router's load signal.
        self.segments_in_flight = 0
        #: Synthesize and Transcribe streams open on this channel now.
        self.streams_open = 0

    @property
    def unreachable(self) -> bool:
        """The channel's last try to connect failed (it keeps retrying meanwhile)."""
        state = self._channel.get_state(try_to_connect=False)
        return state is grpc.ChannelConnectivity.TRANSIENT_FAILURE

    async def describe(self, *, timeout_s: float = 5.0) -> WorkerDescription:
        info = await _call(
            self._stub.Describe(pb.DescribeRequest(), timeout=timeout_s, metadata=self._metadata)
        )
        return codec.description_from_pb(info)

    async def health(self, *, timeout_s: float = 2.0) -> bool:
        """True when the worker answers grpc.health.v1 with SERVING (not draining)."""
        request = health_pb2.HealthCheckRequest(service="")
        response = await _call(
            self._health.Check(request, timeout=timeout_s, metadata=self._metadata)
        )
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    async def load(self, model_id: str, *, timeout_s: float = 600.0) -> float:
        """Make ``model_id`` resident; the seconds it took (0 when it already was)."""
        request = pb.LoadRequest(model_id=model_id)
        response = await _call(self._stub.Load(request, timeout=timeout_s, metadata=self._metadata))
        return float(response.load_duration_s)

    async def unload(self, model_id: str, *, timeout_s: float = 60.0) -> bool:
        request = pb.UnloadRequest(model_id=model_id)
        response = await _call(
            self._stub.Unload(request, timeout=timeout_s, metadata=self._metadata)
        )
        return bool(response.unloaded)

    async def synthesize(
        self,
        config: SynthesisConfig,
        segments: Iterable[SegmentInput] | AsyncIterable[SegmentInput],
    ) -> AsyncGenerator[SynthesisEvent, None]:
        """Stream audio for ``segments`` as the worker makes it; a :data:`PAUSE` among
        them says the client has nothing more for now (the stream goes idle).

        A failure (the worker refused, crashed or went away) raises the matching
        PolyvoxError. Close the generator (``aclosing``) to end the call at once.
        """
        call = self._stub.Synthesize(metadata=self._metadata)
        self.streams_open += 1
        outstanding = 0

        def segment_sent() -> None:
            nonlocal outstanding
            outstanding += 1
            self.segments_in_flight += 1

        writer = asyncio.create_task(_write_segments(call, config, segments, segment_sent))
        received = refused = False
        try:
            while (out := await _call(call.read())) is not grpc.aio.EOF:
                received = True
                event = codec.synthesis_event_from_pb(out)
                if isinstance(event, SegmentEnd):
                    outstanding -= 1
                    self.segments_in_flight -= 1
                yield event
        except ResourceExhausted:
            refused = not received  # full before its first turn: the worker took nothing
            raise
        finally:
            writer.cancel()
            call.cancel()
            self.segments_in_flight -= outstanding
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._ended(took=not refused)

    async def transcribe(
        self,
        config: TranscriptionConfig,
        audio: AsyncIterable[TranscriptionInput],
        *,
        sample_rate_hz: int,
    ) -> AsyncGenerator[TranscriptEvent, None]:
        """Send mono float32 ``audio`` at the model's rate (in streaming mode, with
        commits and clears between its chunks); yield what the worker sends back.
        Failures raise the matching PolyvoxError."""
        call = self._stub.Transcribe(metadata=self._metadata)
        self.streams_open += 1
        writer = asyncio.create_task(_write_audio(call, config, audio, sample_rate_hz))
        received = refused = False
        try:
            while (out := await _call(call.read())) is not grpc.aio.EOF:
                received = True
                yield codec.transcript_event_from_pb(out)
        except ResourceExhausted:
            refused = not received  # full before its first turn: the worker took nothing
            raise
        finally:
            writer.cancel()
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._ended(took=not refused)

    def _ended(self, *, took: bool) -> None:
        self.streams_open -= 1
        if took and self.on_stream_end is not None:
            self.on_stream_end()

    async def close(self) -> None:
        await self._channel.close()
