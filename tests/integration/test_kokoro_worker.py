"""Kokoro-specific behaviour over gRPC: voice blends, Japanese, front-end routing, speed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import numpy as np
import pytest

from polyvox.contract.types import AudioChunk, SynthesisConfig
from polyvox.errors import InvalidArgument, PolyvoxError
from support.servers import Worker, run_worker
from support.speech import Decoded, transcribe, word_error_rate

MODEL = "kokoro-82m-int8"
RATE_HZ = 24_000
SENTENCE = "Please bring the blue folder to the meeting on the second floor."


@pytest.fixture(scope="module")
async def worker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    async with run_worker("kokoro", workdir=tmp_path_factory.mktemp("kokoro")) as running:
        yield running


async def speak(
    worker: Worker,
    text: str,
    voice: str = "jf_alpha",
    *,
    speed: float = 1.0,
    options: Mapping[str, str] | None = None,
) -> np.ndarray:
    settings = SynthesisConfig(model_id=MODEL, voice=voice, speed=speed, options=options or {})
    items = [item async for item in worker.client.synthesize(settings, [text])]
    chunks = [item for item in items if isinstance(item, AudioChunk)]
    assert all(chunk.sample_rate_hz == RATE_HZ for chunk in chunks)
    return np.concatenate([chunk.samples for chunk in chunks])


async def refusal(worker: Worker, text: str, voice: str = "jf_alpha", **kwargs: object) -> str:
    with pytest.raises(PolyvoxError) as caught:
        await speak(worker, text, voice, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidArgument)
    return caught.value.message or ""


async def test_describe_offers_five_voices_that_blend(worker: Worker) -> None:
    (model,) = (await worker.client.describe()).models
    assert model.id == MODEL
    assert model.voice_blending
    assert model.native_sample_rate_hz == RATE_HZ
    voices = {voice.id: (voice.language, voice.labels.get("gender")) for voice in model.voices}
    assert voices == {
        "jf_alpha": ("ja-JP", "female"),
        "jf_gongitsune": ("ja-JP", "female"),
        "jf_nezumi": ("ja-JP", "female"),
        "jf_tebukuro": ("ja-JP", "female"),
        "jm_kumo": ("ja-JP", "male"),
    }


async def test_a_blended_voice_speaks_and_differs_from_each_pure_voice(worker: Worker) -> None:
    blend = await speak(worker, SENTENCE, "jf_alpha(2)+jm_kumo(1)")
    for pure_voice in ("jf_alpha", "jm_kumo"):
        pure = await speak(worker, SENTENCE, pure_voice)
        # Synthesis is deterministic, so any difference comes from the style mix.
        assert np.array_equal(pure, await speak(worker, SENTENCE, pure_voice))
        assert blend.size != pure.size or not np.allclose(blend, pure, atol=1e-3)
    heard = transcribe(Decoded(blend, RATE_HZ))
    assert word_error_rate(SENTENCE, heard) <= 0.25, heard


@pytest.mark.parametrize(
    ("voice", "mentions"),
    [
        ("jf_alpha+gandalf", "valid voices: jf_alpha"),
        ("jf_alpha(0)+jm_kumo", "positive number"),
        ("jf_alpha(x)+jm_kumo", "positive number"),
        ("jf_alpha+jm_kumo+jf_nezumi+jf_tebukuro+jf_gongitsune", "at most 4"),
    ],
)
async def test_bad_blends_are_invalid_argument(worker: Worker, voice: str, mentions: str) -> None:
    assert mentions in await refusal(worker, "Hello.", voice)


async def test_japanese_text_is_read_by_the_japanese_front_end(worker: Worker) -> None:
    text = "東京駅で午後三時に会いましょう。今日は良い天気ですね。"
    audio = await speak(worker, text, "jf_nezumi")
    # 32 morae at Japanese speaking rates (6-9 per second) plus a pause; the English
    # phonemizer would instead say "Chinese letter" for each of the 9 kanji.
    assert 2.5 < audio.size / RATE_HZ < 7.0
    assert audio.std() > 0.01
    heard = transcribe(Decoded(audio, RATE_HZ)).lower()
    assert "chinese" not in heard
    assert "letter" not in heard


async def test_japanese_text_is_never_read_as_english(worker: Worker) -> None:
    details = await refusal(worker, "今日は良い天気ですね。", options={"language": "en-us"})
    assert "Japanese script" in details
    assert "'ja' or 'auto'" in details


async def test_a_script_kokoro_cannot_read_is_refused(worker: Worker) -> None:
    assert "Hangul" in await refusal(worker, "안녕하세요")


async def test_speed_is_honoured_within_kokoros_range(worker: Worker) -> None:
    normal = await speak(worker, SENTENCE)
    fast = await speak(worker, SENTENCE, speed=2.0)
    assert fast.size < 0.7 * normal.size
    assert "0.5 to 2.0" in await refusal(worker, SENTENCE, speed=3.0)


async def test_unknown_options_are_refused(worker: Worker) -> None:
    assert "valid options: language" in await refusal(worker, "Hi.", options={"pitch": "3"})
    assert "en-us" in await refusal(worker, "Hi.", options={"language": "klingon"})
