"""One contract, every engine: each runs as a real `polyvox worker` spoken to over gRPC.

The workers run in this (dev) environment, which holds every engine's extra.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import pytest

from polyvox.contract.types import AudioChunk, SegmentEnd, SynthesisConfig
from polyvox.errors import InvalidArgument, NotFound, PolyvoxError
from support.servers import Worker, run_worker
from support.speech import Decoded, transcribe, word_error_rate

#: Whisper tiny.en heard this sentence with no error from each engine (measured);
#: the thresholds leave a margin for the model, never for a broken front end.
SENTENCE = "Please bring the blue folder to the meeting on the second floor."


@dataclass(frozen=True)
class EngineCase:
    engine: str
    model: str
    voice: str
    language: str
    native_sample_rate_hz: int
    max_wer: float


CASES = [
    EngineCase("piper", "en_US-joe-medium", "joe", "en-US", 22_050, max_wer=0.25),
    # Kokoro's packaged voices are all Japanese; each speaks English through espeak-ng.
    EngineCase("kokoro", "kokoro-82m-int8", "jf_alpha", "ja-JP", 24_000, max_wer=0.25),
    # Formant speech: tiny.en misses more words of it (worst measured: 0.17).
    EngineCase("espeak", "espeak-ng", "en-us", "en-US", 22_050, max_wer=0.35),
]


@pytest.fixture(scope="module", params=CASES, ids=[case.engine for case in CASES])
def case(request: pytest.FixtureRequest) -> EngineCase:
    param: EngineCase = request.param
    return param


@pytest.fixture(scope="module")
async def worker(
    case: EngineCase, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Worker]:
    async with run_worker(case.engine, workdir=tmp_path_factory.mktemp(case.engine)) as running:
        yield running


async def synthesize(worker: Worker, settings: SynthesisConfig, text: str) -> list[AudioChunk]:
    items = [item async for item in worker.client.synthesize(settings, [text])]
    assert isinstance(items[-1], SegmentEnd)
    return [item for item in items if isinstance(item, AudioChunk)]


async def test_describe_lists_models_voices_languages_and_rate(
    worker: Worker, case: EngineCase
) -> None:
    info = await worker.client.describe()
    assert info.engine == case.engine
    models = {model.id: model for model in info.models}
    model = models[case.model]
    assert model.native_sample_rate_hz == case.native_sample_rate_hz
    assert model.default_voice.id == case.voice
    assert model.default_voice.language == case.language
    assert all(voice.language for voice in model.voices)
    assert case.language in model.languages


async def test_a_fixed_sentence_is_intelligible(worker: Worker, case: EngineCase) -> None:
    settings = SynthesisConfig(model_id=case.model, voice=case.voice)
    chunks = await synthesize(worker, settings, SENTENCE)
    assert {chunk.sample_rate_hz for chunk in chunks} == {case.native_sample_rate_hz}
    audio = np.concatenate([chunk.samples for chunk in chunks])
    assert np.abs(audio).max() <= 1.0
    heard = transcribe(Decoded(audio, case.native_sample_rate_hz))
    wer = word_error_rate(SENTENCE, heard)
    assert wer <= case.max_wer, f"{case.engine} WER {wer:.2f}: heard {heard!r}"


async def test_a_bad_voice_is_invalid_argument_naming_valid_voices(
    worker: Worker, case: EngineCase
) -> None:
    settings = SynthesisConfig(model_id=case.model, voice="gandalf")
    with pytest.raises(PolyvoxError) as caught:
        await synthesize(worker, settings, "Hello.")
    assert isinstance(caught.value, InvalidArgument)
    details = caught.value.message or ""
    assert "valid voices:" in details
    assert case.voice in details
    assert await worker.client.health()


async def test_an_unknown_model_is_not_found(worker: Worker, case: EngineCase) -> None:
    settings = SynthesisConfig(model_id="no-such-model", voice=case.voice)
    with pytest.raises(PolyvoxError) as caught:
        await synthesize(worker, settings, "Hello.")
    assert isinstance(caught.value, NotFound)
    assert case.model in (caught.value.message or "")
