"""The ctypes binding of libespeak-ng, on the real library and data from espeakng-loader."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from polyvox.engines.espeak_library import (
    EspeakError,
    EspeakLibrary,
    Synthesis,
    SynthesisTimeout,
    open_library,
)

EN = "gmw/en-US"
DE = "gmw/de"
ENGLISH = "Please bring the blue folder. Then meet me near the lift!"
GERMAN = "Grüße aus Köln: wir treffen uns später im großen Saal."


@pytest.fixture(scope="module")
def library() -> EspeakLibrary:
    return open_library()


def speak(library: EspeakLibrary, text: str, voice: str = EN, **kwargs: int) -> Synthesis:
    return library.synthesize(text, voice=voice, rate_wpm=175, timeout_s=60, **kwargs)


def spoken_words(text: str, synthesis: Synthesis) -> list[str]:
    return [text[w.text_start : w.text_start + w.text_length] for w in synthesis.words]


def pitch_hz(samples: np.ndarray, rate_hz: int = 22_050) -> float:
    """Median fundamental frequency of the loud frames (autocorrelation peak, 60-400 Hz)."""
    signal = samples.astype(np.float64)
    frame = 1024
    estimates = []
    for start in range(0, signal.size - frame, frame):
        window = signal[start : start + frame]
        if np.abs(window).max() < 3000:
            continue
        correlation = np.correlate(window, window, "full")[frame - 1 :]
        shortest, longest = rate_hz // 400, rate_hz // 60
        estimates.append(rate_hz / (shortest + np.argmax(correlation[shortest:longest])))
    return float(np.median(estimates))


def test_one_library_per_process_from_the_wheel(library: EspeakLibrary) -> None:
    assert open_library() is library
    assert "espeakng_loader" in library.data_path
    assert re.fullmatch(r"1\.\d+\.\d+.*", library.version)
    assert library.sample_rate_hz == 22_050


def test_voices_carry_their_languages_and_files(library: EspeakLibrary) -> None:
    voices = {voice.identifier: voice for voice in library.voices}
    assert len(voices) > 100
    english = voices[EN]
    assert english.languages[0][1] == "en-us"
    assert english.gender in (1, 2)  # male or female
    assert all(voice.languages for voice in voices.values())


@pytest.mark.parametrize(("text", "voice"), [(ENGLISH, EN), (GERMAN, DE)])
def test_word_events_are_in_order_and_cover_the_words(
    library: EspeakLibrary, text: str, voice: str
) -> None:
    synthesis = speak(library, text, voice)
    # Positions count code points of the str (ü, ö, ß are one each), from 0.
    assert spoken_words(text, synthesis) == re.findall(r"\w+", text)
    starts = [word.audio_start_sample for word in synthesis.words]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    assert starts[0] >= 0
    assert starts[-1] < synthesis.samples.size
    text_starts = [word.text_start for word in synthesis.words]
    assert text_starts == sorted(set(text_starts))


def test_audio_is_mono_16_bit_speech(library: EspeakLibrary) -> None:
    synthesis = speak(library, ENGLISH)
    assert synthesis.samples.dtype == np.int16
    assert synthesis.samples.ndim == 1
    assert 3.0 < synthesis.samples.size / synthesis.sample_rate_hz < 10.0
    assert np.abs(synthesis.samples).max() > 3000


def test_rate_and_pitch_are_set_for_each_synthesis(library: EspeakLibrary) -> None:
    normal = speak(library, ENGLISH)
    fast = library.synthesize(ENGLISH, voice=EN, rate_wpm=350, timeout_s=60)
    high = speak(library, ENGLISH, pitch=99)
    low = speak(library, ENGLISH, pitch=0)
    assert fast.samples.size < 0.7 * normal.samples.size
    assert pitch_hz(low.samples) < pitch_hz(normal.samples) < pitch_hz(high.samples)
    # The library's parameters are global: a later synthesis must not inherit them.
    again = speak(library, ENGLISH)
    assert again.samples.size > 0.9 * normal.samples.size
    assert abs(pitch_hz(again.samples) / pitch_hz(normal.samples) - 1) < 0.1


def test_text_is_plain_never_markup(library: EspeakLibrary) -> None:
    text = "<speak>Hello</speak> --help [[h@l'oU]]"
    words = spoken_words(text, speak(library, text))
    assert words[:4] == ["speak", "Hello", "/", "speak"]
    assert "--help" in words


def test_concurrent_callers_get_their_own_audio(library: EspeakLibrary) -> None:
    jobs = [(ENGLISH, EN), (GERMAN, DE)] * 3
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: speak(library, *job), jobs))
    for (text, _), synthesis in zip(jobs, results, strict=True):
        assert spoken_words(text, synthesis) == re.findall(r"\w+", text)
        assert synthesis.words[-1].audio_start_sample < synthesis.samples.size


def test_a_synthesis_past_its_time_bound_stops(library: EspeakLibrary) -> None:
    ticks = iter(range(1_000_000))  # a clock that moves on 1 s per reading

    def clock() -> float:
        return float(next(ticks))

    with pytest.raises(SynthesisTimeout, match=r"stopped after 2\.5 s"):
        library.synthesize(ENGLISH * 20, voice=EN, rate_wpm=175, timeout_s=2.5, clock=clock)
    # Read when it started, then after each buffer: it stopped at the third buffer.
    assert next(ticks) == 4
    # The library is left ready for the next synthesis.
    assert spoken_words(ENGLISH, speak(library, ENGLISH)) == re.findall(r"\w+", ENGLISH)


def test_blank_text_is_a_moment_of_silence(library: EspeakLibrary) -> None:
    synthesis = speak(library, "   ")
    assert synthesis.samples.size < synthesis.sample_rate_hz // 10
    assert not synthesis.samples.any()
    assert synthesis.words == ()


def test_bad_input_is_refused(library: EspeakLibrary) -> None:
    with pytest.raises(ValueError, match="NUL"):
        speak(library, "Hello\0world")
    with pytest.raises(EspeakError, match="no voice"):
        speak(library, "Hello", "xyz/no-such-voice")


def test_missing_data_is_a_clear_error() -> None:
    # In a process of its own: initialising again would reset this process's library.
    script = (
        "import espeakng_loader\n"
        "from polyvox.engines.espeak_library import EspeakLibrary, LibraryUnavailable\n"
        "try:\n"
        "    EspeakLibrary(library_path=espeakng_loader.get_library_path(),"
        " data_path='/no/such/dir')\n"
        "except LibraryUnavailable as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "cannot use the data in /no/such/dir" in result.stdout
