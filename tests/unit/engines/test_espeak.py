"""The espeak engine: its voice table with BCP 47 languages, and speech through
libespeak-ng from espeakng-loader."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from polyvox.engines.base import SynthesisRequest
from polyvox.engines.espeak import (
    MODEL_ID,
    EspeakEngine,
    EspeakModel,
    bcp47,
    library_voice_rows,
    parse_voices,
    voice_table,
)
from polyvox.engines.espeak_library import EspeakVoice, open_library
from polyvox.errors import InvalidArgument, Unavailable

# espeak-ng's own table, verbatim.
LISTING = """\
Pty Language       Age/Gender VoiceName          File                 Other Languages
 5  af              --/M      Afrikaans          gmw/af
 5  cmn             --/M      Chinese_(Mandarin,_latin_as_English) sit/cmn              (zh-cmn 5)(zh 5)
 2  en-gb           --/M      English_(Great_Britain) gmw/en               (en 2)
 5  en-gb-x-rp      --/M      English_(Received_Pronunciation) gmw/en-GB-x-rp
 2  en-us           --/F      English_(America)  gmw/en-US            (en 3)
 5  yue             --/M      Chinese_(Cantonese) sit/yue              (zh-yue 5)(zh 8)
 5  yue             --/M      Chinese_(Cantonese,_latin_as_Jyutping) sit/yue-Latn-jyutping (zh-yue 8)
"""  # noqa: E501


def test_bcp47_case() -> None:
    assert bcp47("en-us") == "en-US"
    assert bcp47("en-gb-x-rp") == "en-GB-x-rp"
    assert bcp47("cmn-latn-pinyin") == "cmn-Latn-pinyin"
    assert bcp47("es-419") == "es-419"
    assert bcp47("chr-US-Qaaa-x-west") == "chr-US-Qaaa-x-west"


def test_voices_are_unique_with_the_default_first() -> None:
    voices = parse_voices(LISTING)
    assert [v.info.id for v in voices] == [
        "en-us", "af", "cmn", "en-gb", "en-gb-x-rp", "yue", "yue-latn-jyutping",
    ]  # fmt: skip
    first = voices[0]
    assert (first.info.language, first.file) == ("en-US", "gmw/en-US")
    assert first.info.labels == {"name": "English (America)", "gender": "female"}
    assert voices[-1].file == "sit/yue-Latn-jyutping"


# --- The engine on libespeak-ng from espeakng-loader (no espeak-ng program needed) ---


def as_voices_listing(voices: tuple[EspeakVoice, ...]) -> str:
    """What `espeak-ng --voices` prints for these voices (its DisplayVoices, in Python)."""
    lines = [
        "Pty Language       Age/Gender VoiceName          File                 Other Languages"
    ]
    for voice in voices:
        (priority, language), *others = voice.languages
        age = f"{voice.age:3d}" if voice.age else " --"
        gender = "-MF-"[voice.gender]
        line = f"{priority:2d}  {language:<15}{age}/{gender}      "
        line += f"{voice.name.replace(' ', '_'):<18} {voice.identifier:<20} "
        lines.append(line + "".join(f"({other} {p})" for p, other in others))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    return EspeakEngine()


@pytest.fixture(scope="module")
def model(engine: EspeakEngine) -> EspeakModel:
    return engine.load(MODEL_ID)


def speak(model: EspeakModel, text: str, **kwargs: Any) -> list[np.ndarray]:
    return list(model.synthesize(SynthesisRequest(text=text, voice="en-us", **kwargs)))


def test_the_library_lists_what_the_program_would() -> None:
    library = open_library()
    from_library = voice_table(library_voice_rows(library.voices))
    assert from_library == parse_voices(as_voices_listing(library.voices))


def test_the_engine_speaks_through_the_library(engine: EspeakEngine) -> None:
    assert engine.version().endswith("(libespeak-ng)")
    (info,) = engine.list_models()
    assert info.native_sample_rate_hz == 22_050
    ids = info.voice_ids()
    assert ids[0] == "en-us"
    assert len(ids) == len(set(ids)) > 100
    languages = {voice.id: voice.language for voice in info.voices}
    assert {"de": "de", "fr-fr": "fr-FR", "cmn": "cmn", "en-gb-x-rp": "en-GB-x-rp"}.items() <= (
        languages.items()
    )
    assert {"yue", "yue-latn-jyutping"} <= set(ids)


def test_audio_comes_in_float32_chunks(model: EspeakModel) -> None:
    chunks = speak(model, "Please bring the blue folder to the meeting on the second floor.")
    assert len(chunks) > 1
    assert all(chunk.dtype == np.float32 and chunk.ndim == 1 for chunk in chunks)
    assert all(chunk.size <= 4096 for chunk in chunks)
    audio = np.concatenate(chunks)
    assert 0.1 < np.abs(audio).max() <= 1.0
    assert 2.0 < audio.size / 22_050 < 8.0


def test_speed_outside_espeaks_range_is_invalid(model: EspeakModel) -> None:
    for speed in (0.25, 6.0):
        with pytest.raises(InvalidArgument, match="80-1000 words per minute"):
            speak(model, "Hello.", speed=speed)
    assert speak(model, "Hello.", speed=0.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pitch": "100"}, "pitch must be an integer 0-99, got '100'"),
        ({"pitch": "high"}, "pitch must be an integer 0-99"),
        ({"volume": "5"}, "unknown espeak option 'volume'; valid options: pitch"),
    ],
)
def test_bad_options_are_invalid(model: EspeakModel, options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        speak(model, "Hello.", options=options)


def test_pitch_is_an_option(model: EspeakModel) -> None:
    assert speak(model, "Hello.", options={"pitch": "0"})
    assert speak(model, "Hello.", options={"pitch": "99"})


def test_nul_in_text_is_invalid(model: EspeakModel) -> None:
    with pytest.raises(InvalidArgument, match="NUL"):
        speak(model, "Hello\0there.")


def test_a_segment_past_the_time_bound_is_invalid_not_stuck() -> None:
    # A bound no synthesis can meet: it stops at its first buffer.
    model = EspeakEngine(options={"timeout_s": "1e-9"}).load(MODEL_ID)
    with pytest.raises(InvalidArgument, match="takes too long to synthesize; send shorter text"):
        speak(model, "Please bring the blue folder to the meeting on the second floor.")


def test_a_bad_time_bound_is_a_load_error() -> None:
    with pytest.raises(Unavailable, match="timeout_s must be seconds above 0, got 'soon'"):
        EspeakEngine(options={"timeout_s": "soon"}).load(MODEL_ID)
