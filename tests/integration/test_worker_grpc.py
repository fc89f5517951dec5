"""The worker contract, spoken directly over gRPC to a real `polyvox worker` process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.contract.client import WorkerClient
from polyvox.contract.types import AudioChunk, SegmentEnd, SynthesisConfig
from polyvox.errors import ModelBusy, NotFound, ResourceExhausted
from polyvox.text.pieces import split_to_length
from polyvox.worker.settings import WorkerSettings
from support.servers import Worker, run_worker

MODEL = "en_US-joe-medium"


@pytest.fixture(scope="module")
async def worker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    workdir = tmp_path_factory.mktemp("worker")
    # Capacity by count alone: on a loaded machine the speed bound would let fewer work,
    # and streams opened together would find the first one's step due (newcomer slack).
    env = {
        **os.environ,
        "POLYVOX_WORKER_MAX_REALTIME_LOAD": "null",
        "POLYVOX_WORKER_NEWCOMER_SLACK_MS": "0",
    }
    async with run_worker("piper", workdir=workdir, args=("--capacity", "2"), env=env) as running:
        yield running


def stub(worker: Worker) -> worker_pb2_grpc.WorkerStub:
    return worker_pb2_grpc.WorkerStub(worker.channel)


def open_stream(worker: Worker, *items: pb.SynthesizeIn) -> grpc.aio.StreamStreamCall:
    """Start a Synthesize call and write ``items``; write failures are left to the reader."""
    call = stub(worker).Synthesize()

    async def write() -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            for item in items:
                await call.write(item)
            if items and items[-1] == END:
                await call.done_writing()

    writers.add(task := asyncio.create_task(write()))
    task.add_done_callback(writers.discard)
    return call


async def read_all(call: grpc.aio.StreamStreamCall) -> list[pb.SynthesizeOut]:
    return [out async for out in _reads(call)]


async def _reads(call: grpc.aio.StreamStreamCall) -> AsyncIterator[pb.SynthesizeOut]:
    while (out := await call.read()) is not grpc.aio.EOF:
        yield out


writers: set[asyncio.Task[None]] = set()


def config(**fields: object) -> pb.SynthesizeIn:
    return pb.SynthesizeIn(config=pb.SynthesisConfig(**{"model_id": MODEL, "speed": 1.0, **fields}))


def segment(index: int, text: str) -> pb.SynthesizeIn:
    return pb.SynthesizeIn(segment=pb.TextSegment(index=index, text=text))


END = pb.SynthesizeIn(end=pb.EndOfInput())
PAUSE = pb.SynthesizeIn(pause=pb.Pause())


async def test_describe_lists_models_voices_and_runtime(worker: Worker) -> None:
    info = await worker.client.describe()
    assert info.engine == "piper"
    (model,) = info.models
    assert model.id == MODEL
    assert model.voice_ids() == ["joe"]
    assert model.native_sample_rate_hz == 22050
    assert info.capacity == 2
    assert info.runtime["numpy"]


async def test_synthesize_streams_audio_per_segment(worker: Worker) -> None:
    settings = SynthesisConfig(model_id=MODEL, voice="joe")
    items = [
        item async for item in worker.client.synthesize(settings, ["Hello there.", "Goodbye now."])
    ]
    ends = [item for item in items if isinstance(item, SegmentEnd)]
    assert [end.segment_index for end in ends] == [0, 1]
    for end in ends:
        chunks = [
            i for i in items if isinstance(i, AudioChunk) and i.segment_index == end.segment_index
        ]
        assert sum(chunk.samples.size for chunk in chunks) == end.num_samples > 22050 * 0.3
        assert all(chunk.sample_rate_hz == 22050 for chunk in chunks)
        audio = np.concatenate([chunk.samples for chunk in chunks])
        assert np.abs(audio).max() <= 1.0
        assert audio.std() > 0.01  # speech, not silence


@pytest.mark.parametrize(
    ("first", "code", "mentions"),
    [
        (config(model_id="nope"), grpc.StatusCode.NOT_FOUND, "available models: en_US-joe-medium"),
        (config(voice="gandalf"), grpc.StatusCode.INVALID_ARGUMENT, "valid voices: joe"),
        (config(speed=0.0), grpc.StatusCode.INVALID_ARGUMENT, "speed"),
        (config(speed=float("nan")), grpc.StatusCode.INVALID_ARGUMENT, "speed"),
        (segment(0, "text before config"), grpc.StatusCode.INVALID_ARGUMENT, "first"),
        (
            config(options={"volume": "11"}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown piper option",
        ),
        (config(options={"noise_scale": "loud"}), grpc.StatusCode.INVALID_ARGUMENT, "number"),
    ],
)
async def test_bad_streams_get_status_codes(
    worker: Worker, first: pb.SynthesizeIn, code: grpc.StatusCode, mentions: str
) -> None:
    call = open_stream(worker, first, segment(0, "Hello."), END)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read_all(call)
    assert caught.value.code() == code
    assert mentions in (caught.value.details() or "")
    assert await worker.client.health()


async def test_nul_in_a_segment_is_invalid_not_internal(worker: Worker) -> None:
    call = open_stream(worker, config(), segment(0, "Hello\x00world."), END)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read_all(call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert await worker.client.health()


async def test_config_twice_is_refused(worker: Worker) -> None:
    call = open_stream(worker, config(), config(), END)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await read_all(call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def until_described(worker: Worker, **counts: int) -> None:
    """Poll the worker's own counts (bounded): not a timing assertion."""
    for _ in range(1000):
        description = await worker.client.describe()
        if all(getattr(description, name) == value for name, value in counts.items()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the worker never reported {counts}")


async def test_capacity_counts_working_streams_with_resource_exhausted(worker: Worker) -> None:
    held = [open_stream(worker, config(), segment(0, MANY_SENTENCES)) for _ in range(2)]
    try:
        await until_described(worker, in_flight=2, sessions=2)
        extra = open_stream(worker, config(), segment(0, "Hi."), END)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await read_all(extra)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "2 streams working" in (caught.value.details() or "")
    finally:
        for call in held:
            call.cancel()


async def test_only_a_stream_the_worker_took_says_it_ended(worker: Worker) -> None:
    # A gateway's line is woken by stream ends: a refused stream freed nothing, and a
    # line woken by its own refusals would ask again and again (a busy loop).
    ends: list[str] = []
    client = WorkerClient(worker.address, on_stream_end=lambda: ends.append("ended"))
    settings = SynthesisConfig(model_id=MODEL, voice="joe")
    held = [open_stream(worker, config(), segment(0, MANY_SENTENCES)) for _ in range(2)]
    try:
        await until_described(worker, in_flight=2, sessions=2)
        with pytest.raises(ResourceExhausted):
            _ = [item async for item in client.synthesize(settings, ["Hi."])]
        assert ends == []
        assert client.streams_open == 0
        for call in held:
            call.cancel()
        await until_described(worker, in_flight=0)
        items = [item async for item in client.synthesize(settings, ["Hi."])]
        assert isinstance(items[-1], SegmentEnd)
        assert ends == ["ended"]
    finally:
        for call in held:
            call.cancel()
        await client.close()


async def test_idle_streams_hold_no_capacity(worker: Worker) -> None:
    # Five sessions that said something and then went quiet, on a worker that lets two
    # streams work at once: a new request is still served.
    idle: list[grpc.aio.StreamStreamCall] = []
    try:
        for _ in range(5):  # one after another, as conversations start
            idle.append(open_stream(worker, config(), segment(0, "Hi."), PAUSE))
            await _segment_end(idle[-1])
        await until_described(worker, in_flight=0, sessions=5)
        settings = SynthesisConfig(model_id=MODEL, voice="joe")
        items = [item async for item in worker.client.synthesize(settings, ["Still here."])]
        assert isinstance(items[-1], SegmentEnd)
        # A quiet session's next turn is served too.
        await idle[0].write(segment(1, "And again."))
        await idle[0].write(PAUSE)
        assert await _segment_end(idle[0]) == 1
    finally:
        for call in idle:
            call.cancel()


async def test_standard_grpc_health_says_serving(worker: Worker) -> None:
    health = health_pb2_grpc.HealthStub(worker.channel)
    for service in ("", "polyvox.v1.Worker"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


#: One sentence of 118 characters with no clause break: whole, Piper makes two chunks
#: (a stream's first audio of about first_chunk_ms, then the rest).
LONG_SEGMENT = (
    "Our new speech server streams audio while it is still being synthesized "
    "so the listener hears the first words at once."
)


async def _segment_chunks(worker: Worker) -> tuple[list[AudioChunk], int]:
    # Deterministic synthesis, so the two runs can be compared sample for sample.
    settings = SynthesisConfig(
        model_id=MODEL, voice="joe", options={"noise_scale": "0", "noise_w_scale": "0"}
    )
    items = [item async for item in worker.client.synthesize(settings, [LONG_SEGMENT])]
    (end,) = [item for item in items if isinstance(item, SegmentEnd)]
    return [item for item in items if isinstance(item, AudioChunk)], end.num_samples


#: Twenty sentences in one segment: the stream keeps synthesizing for a while,
#: one chunk per sentence.
MANY_SENTENCES = " ".join(f"Sentence number {n}." for n in range(1, 21))


async def _segment_end(call: grpc.aio.StreamStreamCall) -> int:
    """Read until a segment's end; its index."""
    async for out in _reads(call):
        if out.HasField("segment_end"):
            return int(out.segment_end.segment_index)
    raise AssertionError("the stream ended before a segment did")


async def _first_audio(call: grpc.aio.StreamStreamCall) -> None:
    async for out in _reads(call):
        if out.HasField("audio"):
            return
    raise AssertionError("the stream ended without audio")


async def test_a_long_segment_is_cut_only_while_another_stream_speaks(worker: Worker) -> None:
    alone, alone_samples = await _segment_chunks(worker)
    assert len(alone) == 2

    # A stream that is open but says nothing (an idle WebSocket session) costs the
    # worker nothing: segments stay whole.
    idle = open_stream(worker, config())
    try:
        await until_described(worker, sessions=1)
        beside_idle, _ = await _segment_chunks(worker)
    finally:
        idle.cancel()
    assert len(beside_idle) == 2

    speaking = open_stream(worker, config(), segment(0, MANY_SENTENCES), END)
    try:
        await _first_audio(speaking)  # it is now inside its 20-sentence segment
        shared, shared_samples = await _segment_chunks(worker)
    finally:
        speaking.cancel()
    # Cut at the worker's default busy_split_chars: one inference per piece, the
    # first piece in two chunks as above.
    pieces = split_to_length(LONG_SEGMENT, WorkerSettings().busy_split_chars)
    assert len(pieces) >= 3
    assert len(shared) == len(pieces) + 1
    assert {chunk.segment_index for chunk in shared} == {0}
    assert sum(chunk.samples.size for chunk in shared) == shared_samples
    # The same words, spoken in pieces: about as long (phrase ends add a little).
    assert 0.8 < shared_samples / alone_samples < 1.3


async def test_load_and_unload(worker: Worker) -> None:
    await worker.client.load(MODEL)
    assert await worker.client.load(MODEL) == 0.0
    assert await worker.client.unload(MODEL) is True
    assert (await worker.client.describe()).resident == ()
    assert await worker.client.unload(MODEL) is False
    assert await worker.client.load(MODEL) > 0.0
    with pytest.raises(NotFound):
        await worker.client.unload("nope")


async def test_unload_while_in_use_is_refused(worker: Worker) -> None:
    call = open_stream(worker, config(), segment(0, MANY_SENTENCES))
    try:
        await _first_audio(call)  # working: the model is leased
        with pytest.raises(ModelBusy):
            await worker.client.unload(MODEL)
    finally:
        call.cancel()


async def test_an_idle_session_does_not_pin_its_model(worker: Worker) -> None:
    call = open_stream(worker, config(), segment(0, "Hello."), PAUSE)
    try:
        await _segment_end(call)
        # The session is open but quiet: its model may go (TTL, cap, or by hand).
        await until_described(worker, in_flight=0)
        assert await worker.client.unload(MODEL) is True
        # Its next turn loads the model again.
        await call.write(segment(1, "Welcome back."))
        await call.write(PAUSE)
        audio = 0
        async for out in _reads(call):
            if out.HasField("audio"):
                audio += len(out.audio.samples)
            if out.HasField("segment_end"):
                break
        assert audio > 0
    finally:
        call.cancel()


async def test_sigterm_drains_running_streams(tmp_path: Path) -> None:
    async with run_worker("piper", workdir=tmp_path, args=("--preload", MODEL)) as worker:
        settings = SynthesisConfig(model_id=MODEL, voice="joe")
        stream = worker.client.synthesize(
            settings, ["One.", "This is the second segment.", "Three."]
        )
        first = await anext(stream)
        assert isinstance(first, AudioChunk)
        worker.process.send_signal(signal.SIGTERM)
        rest = [item async for item in stream]
        assert [i.segment_index for i in rest if isinstance(i, SegmentEnd)] == [0, 1, 2]
        assert await asyncio.wait_for(worker.process.wait(), 30) == 0


async def test_a_turn_ends_at_a_pause_and_holds_until_then(worker: Worker) -> None:
    """Without a Pause, a stream whose segments ran out keeps its slot a moment (more may be
    on the way); with one, it lets go once the audio is out."""
    call = open_stream(worker, config(), segment(0, "Hello."))
    try:
        await _segment_end(call)
        await until_described(worker, in_flight=1)  # held: no Pause yet
        await call.write(PAUSE)
        await until_described(worker, in_flight=0)
        await call.write(segment(1, "Later."))
        await call.write(PAUSE)
        assert await _segment_end(call) == 1
        await until_described(worker, in_flight=0)
    finally:
        call.cancel()
