"""The Transcribe contract's turns on a real whisper worker: commits answered by their id,
clears, and speculative finals identical to plain ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache

import numpy as np
import pytest
import soxr

from polyvox.contract.types import (
    SpeechEvent,
    TranscriptEvent,
    TranscriptionClear,
    TranscriptionCommit,
    TranscriptionConfig,
    TranscriptionInput,
    TranscriptUpdate,
    TurnDetection,
    VadConfig,
)
from polyvox.engines.base import SynthesisRequest
from polyvox.engines.piper import PiperEngine
from support.servers import Worker, run_worker
from support.speech import word_error_rate

RATE = 16_000
SENTENCE = "We will meet at the train station after lunch."


@cache
def speech() -> np.ndarray:
    voice = PiperEngine().load("en_US-joe-medium")
    audio = np.concatenate(list(voice.synthesize(SynthesisRequest(text=SENTENCE, voice="joe"))))
    return soxr.resample(audio, voice.info.native_sample_rate_hz, RATE).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


@pytest.fixture(scope="module")
async def worker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    workdir = tmp_path_factory.mktemp("whisper-turns")
    async with run_worker("whisper", workdir=workdir, args=("--preload", "tiny.en")) as running:
        yield running


async def stream(
    worker: Worker, config: TranscriptionConfig, *items: np.ndarray | TranscriptionInput
) -> list[TranscriptEvent]:
    async def inputs() -> AsyncIterator[TranscriptionInput]:
        for item in items:
            if isinstance(item, np.ndarray):
                for start in range(0, item.size, RATE // 50):  # 20 ms, as clients send
                    yield item[start : start + RATE // 50]
            else:
                yield item

    return [e async for e in worker.client.transcribe(config, inputs(), sample_rate_hz=RATE)]


def finals(events: list[TranscriptEvent]) -> list[TranscriptUpdate]:
    return [e for e in events if isinstance(e, TranscriptUpdate) and e.final]


async def test_client_turns_end_at_commits_and_clears_drop_audio(worker: Worker) -> None:
    config = TranscriptionConfig(
        "tiny.en", streaming=True, turn_detection=TurnDetection.CLIENT, speculative=True
    )
    events = await stream(
        worker, config,
        silence(0.3), speech(), silence(0.3), TranscriptionCommit(5),
        silence(0.5), TranscriptionCommit(6),
        speech(), TranscriptionClear(), silence(0.5),
    )  # fmt: skip
    spoken, quiet = finals(events)
    assert (spoken.commit_id, quiet.commit_id) == (5, 6)
    assert word_error_rate(SENTENCE, spoken.text) <= 0.25
    assert quiet.text == ""
    assert spoken.end_s == pytest.approx(quiet.start_s)
    # Speech events still say where speech is; the cleared speech got no final.
    assert any(isinstance(e, SpeechEvent) for e in events)


@pytest.mark.parametrize("silence_ms", [400, 800])
async def test_a_speculative_final_is_the_plain_final(worker: Worker, silence_ms: int) -> None:
    vad = VadConfig(silence_duration_ms=silence_ms, prefix_padding_ms=300)
    audio = (silence(0.5), speech(), silence(1.2), speech(), silence(1.2))
    plain = finals(
        await stream(worker, TranscriptionConfig("tiny.en", streaming=True, vad=vad), *audio)
    )
    fast = finals(
        await stream(
            worker,
            TranscriptionConfig("tiny.en", streaming=True, vad=vad, speculative=True),
            *audio,
        )
    )
    assert [f.text for f in fast] == [f.text for f in plain]
    assert [(f.start_s, f.end_s) for f in fast] == [(f.start_s, f.end_s) for f in plain]
    assert len(plain) == 2
    assert all(word_error_rate(SENTENCE, f.text) <= 0.25 for f in plain)
