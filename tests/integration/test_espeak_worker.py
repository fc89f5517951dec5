"""espeak-ng over gRPC: its many languages, and text that looks like command-line flags."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from polyvox.contract.types import AudioChunk, SynthesisConfig
from polyvox.errors import InvalidArgument, PolyvoxError
from support.servers import Worker, run_worker
from support.speech import Decoded, transcribe

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
    assert "words per minute" in (caught.value.message or "")
