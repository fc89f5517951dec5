"""Whisper's encoder window cut to the audio (engines/whisper_window.py): what is cut,
when a transcript counts as a decoder loop, and that the real model, cut short,
still hears the words (and falls back to the full window when asked to)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import soxr

from polyvox.contract.types import transcript_text
from polyvox.engines import whisper_window
from polyvox.engines.base import SynthesisRequest, TimedChunk, TranscriptionRequest
from polyvox.engines.piper import PiperEngine, PiperModel
from polyvox.engines.whisper import WhisperEngine, WhisperTranscriber
from polyvox.engines.whisper_window import (
    FULL_WINDOW_FRAMES,
    looks_repeated,
    trimmed_window,
)
from polyvox.errors import InvalidArgument
from support.speech import word_error_rate

TEXT = "Could you book me a table for two at seven tonight, please?"
REQUEST = TranscriptionRequest(language="en", options={"beam_size": "1"})


def _padded(frames_used: int) -> np.ndarray:
    features = np.zeros((80, FULL_WINDOW_FRAMES), np.float32)
    features[:, :frames_used] = np.random.default_rng(0).uniform(-0.5, 1.0, (80, frames_used))
    return features


def test_a_window_is_cut_to_its_audio_plus_the_margin_in_whole_seconds() -> None:
    features = _padded(250)
    window = trimmed_window(features, margin_frames=500)
    assert window.shape == (80, 800)
    assert np.array_equal(window[:, :250], features[:, :250])
    # The margin is digital silence (the features' floor), not faster-whisper's zeros.
    assert np.all(window[:, 250:] == features[:, :250].min())


@pytest.mark.parametrize("frames_used", [0, 2600, FULL_WINDOW_FRAMES])
def test_a_window_without_audio_or_without_room_is_left_whole(frames_used: int) -> None:
    features = _padded(frames_used)
    assert trimmed_window(features, margin_frames=500) is features


def test_a_transcript_that_says_a_run_of_words_twice_is_a_decoder_loop() -> None:
    once = "It's easy to tell the depth of a well."
    assert not looks_repeated(once, 2.5)
    assert looks_repeated(f"{once} {once}", 2.5)
    assert looks_repeated(f"{once}  It's easy to tell the depth", 2.5)
    assert looks_repeated("No? No?", 0.6)
    assert not looks_repeated("No, I said maybe, not no.", 2.0)


def test_more_words_than_anyone_says_in_the_time_is_a_decoder_loop() -> None:
    words = " ".join(f"word{i}" for i in range(20))
    assert not looks_repeated(words, 4.0)
    assert looks_repeated(words, 1.0)


def test_the_margin_option_is_checked() -> None:
    with pytest.raises(InvalidArgument, match="window_margin_s"):
        WhisperEngine(options={"window_margin_s": "soon"}).load("tiny.en")
    with pytest.raises(InvalidArgument, match="window_margin_s"):
        WhisperEngine(options={"window_margin_s": "-1"}).load("tiny.en")


#: Forty-odd seconds of different sentences. Repeating one sentence would not do: text
#: that compresses well sends Whisper down its temperature ladder, which samples.
LONG_TEXT = (
    "The morning train left the station twelve minutes late.",
    "Our neighbour grows tomatoes and beans along the fence.",
    "Please remember to water the plants before you leave.",
    "A cold wind blew across the harbour all afternoon.",
    "The library closes early on the first Monday of each month.",
    "She painted the kitchen a pale shade of yellow.",
    "Two boys carried the heavy box up the narrow stairs.",
    "The concert was cancelled because the singer had a fever.",
    "Fresh bread is delivered to the shop every day at six.",
    "He wrote the address on the back of an old envelope.",
    "The children built a sandcastle near the edge of the water.",
    "We watched the storm roll in from the top of the hill.",
)


def _speak(piper: PiperModel, text: str) -> np.ndarray:
    request = SynthesisRequest(text=text, voice=piper.info.default_voice.id)
    pieces = [c.samples if isinstance(c, TimedChunk) else c for c in piper.synthesize(request)]
    audio = np.concatenate([np.asarray(p, np.float32).reshape(-1) for p in pieces])
    return soxr.resample(audio, piper.info.native_sample_rate_hz, 16_000).astype(np.float32)


@pytest.fixture(scope="module")
def piper() -> PiperModel:
    return PiperEngine().load("en_US-joe-medium")


@pytest.fixture(scope="module")
def utterance(piper: PiperModel) -> np.ndarray:
    return _speak(piper, TEXT)


@pytest.fixture(scope="module")
def long_speech(piper: PiperModel) -> np.ndarray:
    pause = np.zeros(8_000, np.float32)
    return np.concatenate([part for text in LONG_TEXT for part in (_speak(piper, text), pause)])


@pytest.fixture(scope="module")
def whisper() -> Iterator[WhisperTranscriber]:
    model = WhisperEngine().load("tiny.en")
    yield model
    model.close()


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frames of every window the encoder is given (the model's own encode)."""
    seen: list[int] = []
    encode = whisper_window.WhisperModel.encode

    def recording(self: object, features: np.ndarray) -> object:
        seen.append(features.shape[-1])
        return encode(self, features)

    monkeypatch.setattr(whisper_window.WhisperModel, "encode", recording)
    return seen


def test_a_short_utterance_is_heard_in_a_short_window(
    whisper: WhisperTranscriber, utterance: np.ndarray, windows: list[int]
) -> None:
    segments, _ = whisper.transcribe(utterance, REQUEST)
    assert word_error_rate(TEXT, transcript_text(tuple(segments))) <= 0.2
    audio_frames = utterance.size // 160
    assert windows
    assert all(audio_frames < frames < FULL_WINDOW_FRAMES for frames in windows)


def test_a_transcript_that_loops_is_decoded_again_in_the_full_window(
    whisper: WhisperTranscriber,
    utterance: np.ndarray,
    windows: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(whisper_window, "looks_repeated", lambda text, duration_s: True)
    segments, _ = whisper.transcribe(utterance, REQUEST)
    assert word_error_rate(TEXT, transcript_text(tuple(segments))) <= 0.2
    assert windows[0] < FULL_WINDOW_FRAMES
    assert windows[-1] == FULL_WINDOW_FRAMES


def test_audio_longer_than_a_short_window_is_decoded_in_full_windows(
    whisper: WhisperTranscriber, long_speech: np.ndarray, windows: list[int]
) -> None:
    assert long_speech.size > 35 * 16_000  # more than one window
    segments, _ = whisper.transcribe(long_speech, REQUEST)
    heard = transcript_text(tuple(segments))
    assert word_error_rate(" ".join(LONG_TEXT), heard) <= 0.3
    assert len(windows) >= 2
    assert set(windows) == {FULL_WINDOW_FRAMES}
