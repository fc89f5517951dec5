"""The Transcribe RPC spoken directly over gRPC to a real whisper worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import cache

import grpc
import numpy as np
import pytest
import soxr

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox._proto.polyvox.v1 import worker_pb2_grpc
from polyvox.engines.base import SynthesisRequest
from polyvox.engines.piper import PiperEngine
from support.servers import Worker, run_worker
from support.speech import word_error_rate

RATE = 16_000
SENTENCE = "We will meet at the train station after lunch."
CONFIG = pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="tiny.en"))
END = pb.TranscribeIn(end=pb.EndOfInput())


@cache
def speech() -> np.ndarray:
    voice = PiperEngine().load("en_US-joe-medium")
    audio = np.concatenate(list(voice.synthesize(SynthesisRequest(text=SENTENCE, voice="joe"))))
    return soxr.resample(audio, voice.info.native_sample_rate_hz, RATE).astype(np.float32)


def audio(samples: np.ndarray, *, rate: int = RATE, fmt: str = "f32") -> pb.TranscribeIn:
    if fmt == "s16":
        data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        sample_format, width = pb.SAMPLE_FORMAT_S16LE, 2
    else:
        data = samples.astype("<f4").tobytes()
        sample_format, width = pb.SAMPLE_FORMAT_F32LE, 4
    chunk = pb.AudioChunk(
        samples=data, sample_rate_hz=rate, sample_format=sample_format,
        sample_width_bytes=width, channels=1,
    )  # fmt: skip
    return pb.TranscribeIn(audio=chunk)


@pytest.fixture(scope="module")
async def worker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    workdir = tmp_path_factory.mktemp("whisper-worker")
    async with run_worker("whisper", workdir=workdir, args=("--preload", "tiny.en")) as running:
        yield running


async def transcribe(worker: Worker, *items: pb.TranscribeIn) -> list[pb.TranscribeOut]:
    call = worker_pb2_grpc.WorkerStub(worker.channel).Transcribe()

    async def write() -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            for item in items:
                await call.write(item)
            await call.done_writing()

    writer = asyncio.create_task(write())
    try:
        return [out async for out in _reads(call)]
    finally:
        writer.cancel()


async def _reads(call: grpc.aio.StreamStreamCall) -> AsyncIterator[pb.TranscribeOut]:
    while (out := await call.read()) is not grpc.aio.EOF:
        yield out


async def test_describe_says_stt_and_vad(worker: Worker) -> None:
    info = await worker_pb2_grpc.WorkerStub(worker.channel).Describe(pb.DescribeRequest())
    assert info.engine == "whisper"
    assert set(info.capabilities) == {pb.CAPABILITY_STT, pb.CAPABILITY_VAD}
    (model,) = info.models
    assert (model.id, model.capability, model.native_sample_rate_hz) == (
        "tiny.en",
        pb.CAPABILITY_STT,
        RATE,
    )


@pytest.mark.parametrize("fmt", ["f32", "s16"])
async def test_batch_segments_then_info(worker: Worker, fmt: str) -> None:
    samples = speech()
    # Sent in pieces: the worker joins them before decoding.
    pieces = [audio(samples[i : i + 4000], fmt=fmt) for i in range(0, samples.size, 4000)]
    outs = await transcribe(worker, CONFIG, *pieces, END)
    kinds = [out.WhichOneof("item") for out in outs]
    assert kinds[-1] == "info"
    assert set(kinds[:-1]) == {"segment"}
    assert outs[-1].info.duration_s == pytest.approx(samples.size / RATE)
    text = "".join(out.segment.text for out in outs[:-1])
    assert word_error_rate(SENTENCE, text) <= 0.25


async def test_streaming_mode_reports_speech_and_a_final_transcript(worker: Worker) -> None:
    samples = np.concatenate(
        [np.zeros(RATE // 2, np.float32), speech(), np.zeros(RATE, np.float32)]
    )
    config = pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="tiny.en", streaming=True))
    pieces = [audio(samples[i : i + 1600]) for i in range(0, samples.size, 1600)]
    outs = await transcribe(worker, config, *pieces, END)
    speech_kinds = [out.speech.kind for out in outs if out.WhichOneof("item") == "speech"]
    assert speech_kinds == [pb.SpeechEvent.KIND_STARTED, pb.SpeechEvent.KIND_STOPPED]
    finals = [out.transcript for out in outs if out.WhichOneof("item") == "transcript"
              and out.transcript.final]  # fmt: skip
    assert len(finals) == 1
    assert word_error_rate(SENTENCE, finals[0].text) <= 0.25
    assert outs[-1].WhichOneof("item") == "info"


BAD_STREAMS = [
    ("audio first", [audio(np.zeros(160, np.float32)), END], grpc.StatusCode.INVALID_ARGUMENT),
    ("unknown model", [pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="large")), END],
     grpc.StatusCode.NOT_FOUND),
    ("wrong rate", [CONFIG, audio(np.zeros(160, np.float32), rate=8000), END],
     grpc.StatusCode.INVALID_ARGUMENT),
    ("nan samples", [CONFIG, audio(np.full(160, np.nan, np.float32)), END],
     grpc.StatusCode.INVALID_ARGUMENT),
    ("odd bytes", [CONFIG, pb.TranscribeIn(audio=pb.AudioChunk(
        samples=b"\x00" * 7, sample_rate_hz=RATE, sample_format=pb.SAMPLE_FORMAT_F32LE,
        sample_width_bytes=4, channels=1)), END], grpc.StatusCode.INVALID_ARGUMENT),
    ("stereo", [CONFIG, pb.TranscribeIn(audio=pb.AudioChunk(
        samples=b"\x00" * 8, sample_rate_hz=RATE, sample_format=pb.SAMPLE_FORMAT_F32LE,
        sample_width_bytes=4, channels=2)), END], grpc.StatusCode.INVALID_ARGUMENT),
    ("temperature", [pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="tiny.en",
        temperature=3)), END], grpc.StatusCode.INVALID_ARGUMENT),
    ("language", [pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="tiny.en",
        language="de")), audio(speech()), END], grpc.StatusCode.INVALID_ARGUMENT),
    ("engine option", [pb.TranscribeIn(config=pb.TranscriptionConfig(model_id="tiny.en",
        options={"beam": "3"})), audio(speech()), END], grpc.StatusCode.INVALID_ARGUMENT),
]  # fmt: skip


@pytest.mark.parametrize(
    ("items", "status"), [c[1:] for c in BAD_STREAMS], ids=[c[0] for c in BAD_STREAMS]
)
async def test_bad_streams_get_their_status(
    worker: Worker, items: list[pb.TranscribeIn], status: grpc.StatusCode
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await transcribe(worker, *items)
    assert caught.value.code() == status
    assert caught.value.details()


async def test_synthesize_refuses_an_stt_model(worker: Worker) -> None:
    call = worker_pb2_grpc.WorkerStub(worker.channel).Synthesize()
    await call.write(pb.SynthesizeIn(config=pb.SynthesisConfig(model_id="tiny.en", speed=1)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
