"""The streaming-transcription parts of the contract survive protobuf both ways."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox.contract import codec
from polyvox.contract.types import (
    TranscriptionClear,
    TranscriptionCommit,
    TranscriptionConfig,
    TranscriptUpdate,
    TurnDetection,
    VadConfig,
)
from polyvox.errors import InvalidArgument

STREAMING = TranscriptionConfig(
    "tiny.en",
    language="en",
    streaming=True,
    vad=VadConfig(
        threshold=0.6, prefix_padding_ms=300, silence_duration_ms=350, suffix_padding_ms=64
    ),
    turn_detection=TurnDetection.CLIENT,
    speculative=True,
    partials=False,
)


@pytest.mark.parametrize("config", [STREAMING, TranscriptionConfig("tiny.en", streaming=True)])
def test_transcription_config_with_turns(config: TranscriptionConfig) -> None:
    message = codec.transcription_config_to_pb(config)
    assert codec.transcription_config_from_pb(message) == config
    assert message.config.HasField("vad") == (config.vad is not None)


def test_an_unknown_turn_detection_is_refused() -> None:
    message = codec.transcription_config_to_pb(STREAMING)
    message.config.turn_detection = 7  # type: ignore[assignment]
    with pytest.raises(InvalidArgument, match="turn detection"):
        codec.transcription_config_from_pb(message)


def test_inputs_after_the_config() -> None:
    for item in (TranscriptionCommit(42), TranscriptionClear()):
        assert codec.transcription_input_from_pb(codec.transcription_control_to_pb(item)) == item
    samples = np.array([0.0, 0.5, -0.25], np.float32)
    chunk = codec.transcription_input_from_pb(codec.transcription_audio_to_pb(samples, 16000))
    assert np.array_equal(chunk.samples, samples)  # type: ignore[union-attr]
    assert codec.transcription_input_from_pb(codec.END_OF_TRANSCRIPTION_INPUT) is None


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        codec.transcription_control_to_pb(TranscriptionCommit(0))
    with pytest.raises(InvalidArgument, match="needs an id"):
        codec.transcription_input_from_pb(pb.TranscribeIn(commit=pb.Commit()))
    with pytest.raises(InvalidArgument, match="unexpected config"):
        codec.transcription_input_from_pb(codec.transcription_config_to_pb(STREAMING))
    with pytest.raises(InvalidArgument, match="unexpected empty"):
        codec.transcription_input_from_pb(pb.TranscribeIn())


def test_a_final_answering_a_commit_carries_its_id() -> None:
    update = TranscriptUpdate(3, True, "Hello.", 1.0, 2.0, commit_id=42)
    assert codec.transcript_event_from_pb(codec.transcript_event_to_pb(update)) == update
