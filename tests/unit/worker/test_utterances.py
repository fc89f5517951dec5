"""Utterance boundaries, commits and speculation over real speech and the real Silero VAD."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import soxr

from polyvox.contract.types import SpeechEventKind, TurnDetection
from polyvox.engines.base import SynthesisRequest, VadParameters
from polyvox.engines.piper import PiperEngine
from polyvox.engines.silero_vad import SAMPLE_RATE_HZ, SileroVad
from polyvox.worker.utterances import FinalJob, Span, Utterances

RATE = SAMPLE_RATE_HZ
CHUNK = RATE // 50  # 20 ms, as clients send it
PARAMS = VadParameters(min_silence_ms=500, speech_pad_ms=100)


@cache
def words() -> np.ndarray:
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


def utterances(vad: SileroVad, turns: TurnDetection, **options: bool) -> Utterances:
    return Utterances(
        vad.stream(PARAMS), rate_hz=RATE, turn_detection=turns, suffix_pad_ms=100, **options
    )


class Feed:
    """Pushes audio in 20 ms chunks and records what each step showed."""

    def __init__(self, target: Utterances) -> None:
        self.target = target
        self.kinds: list[SpeechEventKind] = []
        self.jobs: list[FinalJob] = []
        #: Each speculation span the first time it appeared, with the sample it appeared at.
        self.speculations: list[tuple[Span, int]] = []

    def push(self, audio: np.ndarray) -> None:
        for start in range(0, audio.size, CHUNK):
            self.kinds += [e.kind for e in self.target.push(audio[start : start + CHUNK])]
            self._collect()

    def _collect(self) -> None:
        while (job := self.target.take_final()) is not None:
            self.jobs.append(job)
        span = self.target.speculation()
        if span is not None and (not self.speculations or self.speculations[-1][0] != span):
            self.speculations.append((span, self.target.received))


def test_a_speculation_starts_in_the_silence_and_is_what_the_final_decodes(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.VOICE_ACTIVITY, speculative=True))
    feed.push(np.concatenate([silence(0.5), words(), silence(1.0)]))

    assert feed.kinds == [SpeechEventKind.STARTED, SpeechEventKind.STOPPED]
    (job,) = feed.jobs
    (speculation, seen_at) = feed.speculations[0]
    assert job.decode == job.span == speculation
    # It was there well before the silence was long enough to end the utterance.
    speech_end = int((0.5 + words().size / RATE) * RATE)
    assert seen_at - speech_end < 0.3 * RATE
    assert job.span.end - speech_end < 0.25 * RATE


def test_speech_that_resumes_throws_the_speculation_away(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.VOICE_ACTIVITY, speculative=True))
    feed.push(np.concatenate([silence(0.3), words(), silence(0.35)]))
    assert feed.target.speculation() is not None
    feed.push(words()[: RATE // 2])
    assert feed.target.speculation() is None
    assert feed.jobs == []
    feed.push(silence(1.0))
    (job,) = feed.jobs
    assert job.decode == feed.speculations[-1][0]
    assert len(feed.speculations) == 2


def test_without_speculation_there_is_none(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.VOICE_ACTIVITY))
    feed.push(np.concatenate([silence(0.3), words(), silence(1.0)]))
    assert len(feed.jobs) == 1
    assert feed.speculations == []


def test_client_turns_end_only_at_a_commit(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.CLIENT, speculative=True))
    feed.push(np.concatenate([silence(0.3), words(), silence(1.0)]))
    assert feed.kinds == [SpeechEventKind.STARTED, SpeechEventKind.STOPPED]
    assert feed.jobs == []
    received = feed.target.received
    feed.target.commit(7)
    feed._collect()
    (job,) = feed.jobs
    assert job.commit_id == 7
    assert job.span == Span(0, received)
    # The speculation of the silence still stands: no speech came after it.
    assert job.decode == feed.speculations[-1][0]

    # Silence alone is committed with nothing to decode.
    feed.push(silence(0.5))
    feed.target.commit(8)
    feed._collect()
    assert feed.jobs[-1].commit_id == 8
    assert feed.jobs[-1].decode is None
    assert feed.jobs[-1].span == Span(received, feed.target.received)


def test_a_clear_drops_the_audio_before_it(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.CLIENT))
    feed.push(np.concatenate([silence(0.3), words(), silence(0.2)]))
    feed.target.clear()
    cleared_at = feed.target.received
    feed.push(silence(0.8))
    feed.target.commit(1)
    feed._collect()
    (job,) = feed.jobs
    assert job.span.start == cleared_at
    assert job.decode is None


def test_a_commit_during_speech_ends_the_utterance_and_a_new_one_starts(vad: SileroVad) -> None:
    feed = Feed(utterances(vad, TurnDetection.VOICE_ACTIVITY))
    feed.push(np.concatenate([silence(0.3), words()[:RATE]]))
    committed_at = feed.target.received
    feed.target.commit(3)
    feed._collect()
    feed.push(np.concatenate([words()[RATE:], silence(1.0)]))
    assert feed.kinds == [SpeechEventKind.STARTED, SpeechEventKind.STARTED, SpeechEventKind.STOPPED]
    first, second = feed.jobs
    assert (first.commit_id, first.span.end, first.decode) == (3, committed_at, first.span)
    assert second.commit_id == 0
    assert second.span.start >= committed_at
    assert [first.utterance, second.utterance] == [0, 1]
