"""Every contract message survives the trip through protobuf and back, both directions."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox.contract import codec
from polyvox.contract.types import (
    AudioChunk,
    Capability,
    ModelInfo,
    ResidentModelInfo,
    Segment,
    SegmentEnd,
    SpeechEvent,
    SpeechEventKind,
    SynthesisConfig,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptSegment,
    TranscriptUpdate,
    VoiceInfo,
    Word,
    WordTiming,
    WorkerDescription,
    WorkerStats,
)
from polyvox.errors import InvalidArgument

KOKORO = ModelInfo(
    id="kokoro-82m-int8",
    voices=(
        VoiceInfo("jf_alpha", ("ja-JP", "en-US"), {"gender": "female"}),
        VoiceInfo("jm_kumo", ("ja-JP", "en-US"), {"gender": "male"}),
    ),
    native_sample_rate_hz=24000,
    languages=("en-US", "ja-JP"),
    voice_blending=True,
    phoneme_alphabets=("ipa",),
)
TINY = ModelInfo("tiny.en", (), 16000, ("en",), capability=Capability.STT)
SEGMENT = TranscriptSegment(
    id=3, start_s=1.25, end_s=2.5, text=" Hello there.", avg_logprob=-0.25,
    compression_ratio=1.5, no_speech_prob=0.125, temperature=0.25, tokens=(50364, 2425),
    words=(Word(1.25, 1.75, " Hello", 0.875), Word(1.75, 2.5, " there.", 0.5)), seek=125,
)  # fmt: skip


def test_description() -> None:
    description = WorkerDescription(
        engine="kokoro", engine_version="0.6.1", models=(KOKORO, TINY),
        resident=(ResidentModelInfo("kokoro-82m-int8", 10.5, 20.25, 2, 330.5),),
        device="cuda:0", in_flight=2, capacity=16, sessions=40, max_sessions=4096, pid=1234,
        runtime={"python": "/venv/bin/python"}, started_at_s=5.5, loading=("other",),
        stats=WorkerStats(queue_depth=1, inference_running=1, model_loads_total=3,
                          model_load_seconds_total=4.5, evictions_total=1, memory_rss_bytes=99),
        capabilities=(Capability.TTS, Capability.STT, Capability.VAD),
    )  # fmt: skip
    assert codec.description_from_pb(codec.description_to_pb(description)) == description


def test_an_unknown_capability_is_dropped_not_read_as_tts(caplog: pytest.LogCaptureFixture) -> None:
    wire = codec.description_to_pb(WorkerDescription("x", "1", models=(KOKORO, TINY)))
    wire.models[1].capability = 99  # a kind of model this side does not know
    wire.capabilities.append(98)
    description = codec.description_from_pb(wire)
    assert description.models == (KOKORO,)
    assert description.capabilities == ()
    assert "unknown capability" in caplog.text


def test_synthesis_config() -> None:
    config = SynthesisConfig(
        "m", voice="a(2)+b(1)", speed=1.5, options={"k": "v"}, request_id="r",
        wait_for_slot=True, word_timings=True,
    )  # fmt: skip
    assert codec.synthesis_config_from_pb(codec.synthesis_config_to_pb(config)) == config


@pytest.mark.parametrize(
    "segment",
    [
        Segment("Hello there."),
        Segment("こんにちは", language="ja-JP"),
        Segment(
            "tomato", voice="jm_kumo", speed=1.25, phonemes="təˈmɑːtoʊ", phoneme_alphabet="ipa"
        ),
    ],
)
def test_text_segments(segment: Segment) -> None:
    wire = codec.text_segment_to_pb(7, segment)
    assert codec.text_segment_from_pb(wire.segment) == (7, segment)


def test_a_stream_must_start_with_its_config() -> None:
    with pytest.raises(InvalidArgument, match="first Synthesize message must be a config"):
        codec.synthesis_config_from_pb(codec.text_segment_to_pb(0, Segment("hi")))
    with pytest.raises(InvalidArgument, match="first Transcribe message must be a config"):
        codec.transcription_config_from_pb(codec.END_OF_TRANSCRIPTION_INPUT)


def test_synthesis_events() -> None:
    samples = np.linspace(-1, 1, 480, dtype=np.float32)
    chunk = codec.synthesis_event_from_pb(
        codec.synthesis_event_to_pb(AudioChunk(2, samples, 24000))
    )
    assert isinstance(chunk, AudioChunk)
    assert (chunk.segment_index, chunk.sample_rate_hz) == (2, 24000)
    np.testing.assert_array_equal(chunk.samples, samples)
    end = SegmentEnd(2, 480)
    assert codec.synthesis_event_from_pb(codec.synthesis_event_to_pb(end)) == end
    word = WordTiming(2, 6, 11, 2205, 9261)
    assert codec.synthesis_event_from_pb(codec.synthesis_event_to_pb(word)) == word


def test_s16_audio_becomes_float_and_bad_layouts_are_refused() -> None:
    wire = pb.AudioChunk(
        samples=np.array([0, 16384, -32768], "<i2").tobytes(),
        sample_rate_hz=16000, sample_format=pb.SAMPLE_FORMAT_S16LE, channels=1,
    )  # fmt: skip
    np.testing.assert_array_equal(codec.audio_chunk_from_pb(wire).samples, [0.0, 0.5, -1.0])
    with pytest.raises(InvalidArgument, match="mono"):
        codec.audio_chunk_from_pb(pb.AudioChunk(sample_format=pb.SAMPLE_FORMAT_F32LE, channels=2))
    with pytest.raises(InvalidArgument, match="whole number"):
        codec.audio_chunk_from_pb(pb.AudioChunk(samples=b"\0" * 3, sample_format=1, channels=1))
    with pytest.raises(InvalidArgument, match="f32le or s16le"):
        codec.audio_chunk_from_pb(pb.AudioChunk(samples=b"", channels=1))


def test_transcription_config() -> None:
    config = TranscriptionConfig(
        "tiny.en", language="en", prompt="Polyvox", temperature=0.5, word_timestamps=True,
        vad_filter=True, streaming=True, request_id="r", options={"beam_size": "1"},
    )  # fmt: skip
    assert codec.transcription_config_from_pb(codec.transcription_config_to_pb(config)) == config
    bare = TranscriptionConfig("tiny.en")
    assert codec.transcription_config_from_pb(codec.transcription_config_to_pb(bare)) == bare


@pytest.mark.parametrize(
    "event",
    [
        SEGMENT,
        SpeechEvent(SpeechEventKind.STARTED, 0.5),
        SpeechEvent(SpeechEventKind.STOPPED, 2.75),
        TranscriptUpdate(1, False, "Hello", 1.0, 1.5),
        TranscriptUpdate(1, True, "Hello there.", 1.25, 2.5, segments=(SEGMENT,)),
        TranscriptionInfo("en", 0.875, 3.5, 2.25),
    ],
)
def test_transcript_events(event: object) -> None:
    assert codec.transcript_event_from_pb(codec.transcript_event_to_pb(event)) == event  # type: ignore[arg-type]
