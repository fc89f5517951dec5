"""Silero VAD (the real ONNX model from the silero-vad package) on real speech and silence."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import soxr

from polyvox.contract.types import SpeechEventKind
from polyvox.engines.base import SynthesisRequest, VadParameters
from polyvox.engines.piper import PiperEngine
from polyvox.engines.silero_vad import SAMPLE_RATE_HZ, SileroVad, model_path, speech_spans

RATE = SAMPLE_RATE_HZ
#: Detected boundaries may be this far from where the speech samples begin/end:
#: the detector's padding (100 ms), a 32 ms window, and Piper's quiet edges.
TOLERANCE_S = 0.3


@cache
def speech() -> np.ndarray:
    """A real sentence from the Piper engine, at 16 kHz, trimmed to its audible part."""
    voice = PiperEngine().load("en_US-joe-medium")
    request = SynthesisRequest(text="Please call me back tomorrow morning.", voice="joe")
    audio = np.concatenate(list(voice.synthesize(request)))
    audio = soxr.resample(audio, voice.info.native_sample_rate_hz, RATE).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[loud[0] : loud[-1] + 1]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


def test_model_comes_from_the_silero_vad_package() -> None:
    path = model_path()
    assert path.name == "silero_vad.onnx"
    assert "silero_vad" in path.parts


def test_speech_between_silences_is_found(vad: SileroVad) -> None:
    words = speech()
    signal = np.concatenate([silence(1.0), words, silence(2.0), words, silence(1.0)])
    truth = [(1.0, 1.0 + words.size / RATE), (3.0 + words.size / RATE, 3.0 + 2 * words.size / RATE)]

    spans = speech_spans(vad, signal, VadParameters(min_silence_ms=500, speech_pad_ms=0))

    assert len(spans) == 2
    for (start, end), (true_start, true_end) in zip(spans, truth, strict=True):
        assert start / RATE == pytest.approx(true_start, abs=TOLERANCE_S)
        assert end / RATE == pytest.approx(true_end, abs=TOLERANCE_S)


def test_streaming_events_alternate_and_bracket_the_speech(vad: SileroVad) -> None:
    words = speech()
    signal = np.concatenate([silence(0.5), words, silence(1.5), words, silence(0.2)])
    stream = vad.stream(VadParameters(min_silence_ms=500, speech_pad_ms=100))
    events = []
    # Odd chunk sizes: the detector must window across chunk boundaries itself.
    for start in range(0, signal.size, 777):
        events += stream.push(signal[start : start + 777])
    assert stream.in_speech  # the second utterance runs into the end of the audio
    events += stream.flush()

    kinds = [event.kind for event in events]
    assert kinds == [SpeechEventKind.STARTED, SpeechEventKind.STOPPED] * 2
    times = [event.time_s for event in events]
    assert times == sorted(times)
    assert times[0] == pytest.approx(0.5, abs=TOLERANCE_S)
    assert times[1] == pytest.approx(0.5 + words.size / RATE, abs=TOLERANCE_S)
    assert times[2] == pytest.approx(2.0 + words.size / RATE, abs=TOLERANCE_S)
    assert times[3] <= signal.size / RATE


def test_silence_and_quiet_noise_are_not_speech(vad: SileroVad) -> None:
    noise = np.random.default_rng(0).normal(0, 0.003, 3 * RATE).astype(np.float32)
    assert speech_spans(vad, silence(3.0), VadParameters()) == []
    assert speech_spans(vad, noise, VadParameters()) == []


def test_pauses_shorter_than_min_silence_do_not_split(vad: SileroVad) -> None:
    words = speech()
    signal = np.concatenate([silence(0.5), words, silence(0.3), words, silence(0.5)])
    assert len(speech_spans(vad, signal, VadParameters(min_silence_ms=800))) == 1
