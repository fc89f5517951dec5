"""espeak-ng over gRPC: its many languages, text that looks like command-line flags,
and a worker that has only libespeak-ng from espeakng-loader, no espeak-ng program."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
import soxr

from polyvox.contract.types import AudioChunk, SynthesisConfig
from polyvox.engines.base import VadParameters
from polyvox.engines.silero_vad import SAMPLE_RATE_HZ as VAD_RATE_HZ
from polyvox.engines.silero_vad import SileroVad, speech_spans
from polyvox.errors import InvalidArgument, PolyvoxError
from support.servers import Worker, run_worker
from support.speech import Decoded, transcribe, word_error_rate

MODEL = "espeak-ng"
RATE_HZ = 22_050


@pytest.fixture(scope="module")
async def worker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    async with run_worker("espeak", workdir=tmp_path_factory.mktemp("espeak")) as running:
        yield running


async def speak(worker: Worker, text: str, voice: str, *, speed: float = 1.0) -> np.ndarray:
    settings = SynthesisConfig(model_id=MODEL, voice=voice, speed=speed)
    items = [item async for item in worker.client.synthesize(settings, [text])]
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert all(chunk.sample_rate_hz == RATE_HZ for chunk in chunks)
    return np.concatenate([chunk.samples for chunk in chunks])


async def test_describe_lists_every_espeak_language(worker: Worker) -> None:
    (model,) = (await worker.client.describe()).models
    languages = {voice.id: voice.language for voice in model.voices}
    assert len(languages) > 100
    assert model.default_voice.id == "en-us"
    assert {"de": "de", "fr-fr": "fr-FR", "en-gb-x-rp": "en-GB-x-rp", "ja": "ja"}.items() <= (
        languages.items()
    )


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("de", "Guten Morgen, wie geht es Ihnen heute?"),
        ("fr-fr", "Bonjour, comment allez-vous aujourd'hui ?"),
        ("ja", "今日は良い天気ですね。"),
    ],
)
async def test_non_english_voices_speak(worker: Worker, voice: str, text: str) -> None:
    audio = await speak(worker, text, voice)
    assert 1.0 < audio.size / RATE_HZ < 8.0
    assert audio.std() > 0.01


async def test_text_starting_with_a_dash_is_spoken_not_parsed(worker: Worker) -> None:
    audio = await speak(worker, "--help is not an option here.", "en-us")
    heard = transcribe(Decoded(audio, RATE_HZ)).lower()
    assert "option" in heard
    assert "here" in heard


async def test_speed_maps_to_words_per_minute(worker: Worker) -> None:
    text = "Please bring the blue folder to the meeting on the second floor."
    normal = await speak(worker, text, "en-us")
    fast = await speak(worker, text, "en-us", speed=2.0)
    assert fast.size < 0.7 * normal.size
    with pytest.raises(PolyvoxError) as caught:
        await speak(worker, text, "en-us", speed=0.25)
    assert isinstance(caught.value, InvalidArgument)
    assert "words per minute" in caught.value.message


def path_without_espeak_ng() -> str:
    """This process's PATH less every folder that holds an ``espeak-ng`` program."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(
        folder for folder in folders if folder and shutil.which("espeak-ng", path=folder) is None
    )


def speech_fraction(audio: np.ndarray) -> float:
    """How much of the audio Silero VAD calls speech."""
    samples = soxr.resample(audio, RATE_HZ, VAD_RATE_HZ).astype(np.float32)
    spans = speech_spans(SileroVad(), samples, VadParameters(speech_pad_ms=0))
    return sum(end - start for start, end in spans) / samples.size


async def test_a_worker_without_the_espeak_ng_program_speaks(tmp_path: Path) -> None:
    path = path_without_espeak_ng()
    assert shutil.which("espeak-ng", path=path) is None
    async with run_worker("espeak", workdir=tmp_path, env={**os.environ, "PATH": path}) as hidden:
        description = await hidden.client.describe()
        assert description.engine_version.endswith("(libespeak-ng)")
        (model,) = description.models
        assert model.default_voice.id == "en-us"
        assert len(model.voices) > 100
        assert {"de", "fr-fr", "cmn"} <= set(model.voice_ids())

        english = "Please bring the blue folder to the meeting on the second floor."
        heard = transcribe(Decoded(await speak(hidden, english, "en-us"), RATE_HZ))
        assert word_error_rate(english, heard) <= 0.35  # as the engine contract's espeak case
        # Whisper tiny.en knows no German: Silero VAD says it is speech, start to end.
        german = await speak(hidden, "Guten Morgen, wie geht es Ihnen heute?", "de")
        assert 1.0 < german.size / RATE_HZ < 8.0
        assert speech_fraction(german) > 0.6
