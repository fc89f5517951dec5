"""Kokoro cut at its decoder (real int8 model): whole units as kokoro-onnx makes them,
a first chunk early, and the cut audio close to the whole decode.

How close is measured, not assumed (``bench/kokoro_cut_fidelity.py``): the int8 graph
moves its own output to a magnitude-spectrum SNR of ~26 dB under a 1e-6 perturbation
of the decoder's input, and a window's statistics are its own, so no cut is exact.
On 20 Harvard sentences cut whole, the first chunk measured 3.6-15 dB (median 8.8)
and 1.7-6.2 dB quieter than the whole decode; the whole sentence 13.5 dB (median).
The bounds below hold for the sentences tested with a margin, and fail for a broken
phase carry, context or weighting (each cost 3-10 dB when measured).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from polyvox.engines import kokoro_decode
from polyvox.engines.base import KnowsItsEnd, SynthesisRequest, TimedChunk
from polyvox.engines.kokoro import MODEL_ID, SAMPLE_RATE_HZ, KokoroEngine, KokoroModel
from polyvox.engines.kokoro_graph import split_model
from polyvox.engines.kokoro_weights import KokoroWeights, default_cache_dir
from polyvox.errors import InvalidArgument

VOICE = "jf_alpha"
FIRST_S = 0.35
SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
]
#: kokoro-onnx's trim hops; a cut unit's trimmed start may land one or two away.
TRIM_HOP = 512


@pytest.fixture(scope="module")
def kokoro() -> KokoroModel:
    return KokoroEngine(threads_per_inference=2).load(MODEL_ID)


def speak(
    model: KokoroModel, text: str, first_chunk_s: float | None = None, speed: float = 1.0
) -> list[np.ndarray]:
    request = SynthesisRequest(text, VOICE, speed=speed, first_chunk_s=first_chunk_s)
    return list(model.synthesize(request))


def magnitude_snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    """SNR of ``other``'s STFT magnitudes against ``reference``'s (phase ignored: the
    int8 graph's noise moves waveforms far more than spectra)."""

    def magnitudes(audio: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(audio, 512)[::128]
        return np.abs(np.fft.rfft(frames * np.hanning(512), axis=1))

    ref, out = magnitudes(reference), magnitudes(other)
    return float(10 * np.log10((ref**2).sum() / ((ref - out) ** 2).sum()))


def aligned(whole: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both, the cut shifted by the trim hops (at most two) that line it up best."""
    best: tuple[float, int] | None = None
    for lag in range(-2 * TRIM_HOP, 2 * TRIM_HOP + 1, TRIM_HOP):
        a, b = (whole[lag:], cut) if lag >= 0 else (whole, cut[-lag:])
        size = min(a.size, b.size)
        error = float(((a[:size] - b[:size]) ** 2).sum())
        if best is None or error < best[0]:
            best = (error, lag)
    assert best is not None
    lag = best[1]
    a, b = (whole[lag:], cut) if lag >= 0 else (whole, cut[-lag:])
    size = min(a.size, b.size)
    return a[:size], b[:size]


def test_whole_units_are_kokoro_onnx_bit_for_bit(kokoro: KokoroModel) -> None:
    import onnxruntime
    from kokoro_onnx import Kokoro

    weights = KokoroWeights.find()
    assert weights is not None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(
        str(weights.model_path(default_cache_dir())), sess_options=options
    )
    vocab = json.loads(weights.vocab_path.read_text(encoding="utf-8"))
    reference = Kokoro.from_session(session, str(weights.voices_path), vocab_config=vocab)
    style = np.load(weights.voices_path)[VOICE]
    for sentence, speed in ((SENTENCES[0], 1.0), (SENTENCES[1], 1.5)):
        (ours,) = speak(kokoro, sentence, speed=speed)
        theirs, _ = reference.create(sentence, voice=style, speed=speed)
        # The model's sentence pause (0.25 s) follows kokoro-onnx's trimmed audio.
        assert np.array_equal(ours[: theirs.size], theirs)
        assert ours.size - theirs.size == round(0.25 * SAMPLE_RATE_HZ)


def test_a_first_chunk_then_the_rest_of_the_sentence(kokoro: KokoroModel) -> None:
    text = " ".join(SENTENCES[:2])
    audio = kokoro.synthesize(SynthesisRequest(text, VOICE, first_chunk_s=FIRST_S))
    assert isinstance(audio, KnowsItsEnd)
    sizes, finished = [], []
    for chunk in audio:
        sizes.append(chunk.size)
        finished.append(audio.finished)
    # First chunk, the rest of sentence one, sentence two (whole); done after the last.
    assert finished == [False, False, True]
    assert sizes[0] == round(FIRST_S * SAMPLE_RATE_HZ)
    assert next(audio, None) is None
    whole = speak(kokoro, text)
    assert abs(sizes[0] + sizes[1] - whole[0].size) <= 2 * TRIM_HOP
    assert sizes[2] == whole[1].size


def test_a_sentence_too_short_to_cut_comes_whole(kokoro: KokoroModel) -> None:
    assert len(speak(kokoro, "Hi.", first_chunk_s=1.0)) == 1


@pytest.mark.parametrize("sentence", SENTENCES)
def test_the_cut_sentence_is_close_to_the_whole_decode(kokoro: KokoroModel, sentence: str) -> None:
    (whole,) = speak(kokoro, sentence)
    first, rest = speak(kokoro, sentence, first_chunk_s=FIRST_S)
    reference, cut = aligned(whole, np.concatenate([first, rest]))
    assert magnitude_snr_db(reference, cut) > 10.0
    edge = first.size
    assert magnitude_snr_db(reference[edge:], cut[edge:]) > 12.0
    level_db = 10 * np.log10((cut[:edge] ** 2).mean() / (reference[:edge] ** 2).mean())
    assert abs(level_db) < 5.0
    assert np.abs(cut).max() <= 1.0


@pytest.mark.parametrize(
    "segment", ["The birch canoe slid", "Glue the sheet to", "It's easy to tell"]
)
def test_a_first_segments_first_chunk_keeps_the_whole_decodes_level(
    kokoro: KokoroModel, segment: str
) -> None:
    """A stream's first segment is short, mostly silence to its decoder: the window's
    statistics are weighted to the segment's silence (measured within 1.5 dB of the
    whole decode's level; with plain statistics 3-5 dB quieter)."""
    (whole,) = speak(kokoro, segment)
    first, rest = speak(kokoro, segment, first_chunk_s=FIRST_S)
    reference, cut = aligned(whole, np.concatenate([first, rest]))
    edge = first.size
    level_db = 10 * np.log10((cut[:edge] ** 2).mean() / (reference[:edge] ** 2).mean())
    assert abs(level_db) < 2.0


def test_a_later_window_continues_the_harmonic_phase(kokoro: KokoroModel) -> None:
    """With the phase of the frames before it, a window's waveform follows the whole
    decode's; started from phase zero its harmonics are off (measured: waveform SNR
    10 dB against -4 dB)."""
    halves = kokoro._halves
    assert halves is not None
    unit = kokoro._units(SENTENCES[0], "en-us", VOICE, kokoro._styles[VOICE], 1.0)[0]
    dtypes = kokoro._input_dtypes
    tokens_input = "input_ids" if "input_ids" in dtypes else "tokens"
    features = kokoro_decode.encode(halves, unit, dtypes, tokens_input)
    style_dtype = dtypes[halves.style_input]
    size = features.size
    whole = kokoro_decode.decode(halves, unit, features, kokoro_decode.Window(0, size), style_dtype)
    # A window of all but the leading silence, so its statistics are near the
    # whole's and the phase is what differs; its first frames are context.
    start, skip = features.lead_frames, 6
    window = kokoro_decode.decode(
        halves, unit, features, kokoro_decode.Window(start, size), style_dtype
    )
    frame = kokoro_decode.FRAME_SAMPLES
    reference = whole[(start + skip) * frame :]
    carried = window[skip * frame :]
    with_phase = 10 * np.log10((reference**2).sum() / ((reference - carried) ** 2).sum())
    # No harmonics to carry: the window's source starts from phase zero.
    phaseless = replace(halves, harmonics=np.zeros_like(halves.harmonics))
    zero = kokoro_decode.decode(
        phaseless, unit, features, kokoro_decode.Window(start, size), style_dtype
    )[skip * frame :]
    without_phase = 10 * np.log10((reference**2).sum() / ((reference - zero) ** 2).sum())
    assert with_phase > without_phase + 5.0, (with_phase, without_phase)


def test_a_graph_without_kokoros_decoder_is_not_split(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="/encoder/Identity")],
        "not-kokoro",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), path)
    assert split_model(path, lambda model: model) is None


def test_the_segments_language_picks_the_front_end(kokoro: KokoroModel) -> None:
    """The gateway tags each segment with the language it found; English-tagged text
    goes to espeak-ng (which refuses Japanese script), Japanese-tagged to pyopenjtalk."""
    with pytest.raises(InvalidArgument, match="en-us phonemizer"):
        speak_as(kokoro, "今日は", "en-US")
    assert sum(chunk.size for chunk in speak_as(kokoro, "今日は。", "ja-JP")) > 0
    # Latin letters tagged Japanese (glued to kana) are read the Japanese way.
    assert sum(chunk.size for chunk in speak_as(kokoro, "OK", "ja-JP")) > 0
    # An explicit request option wins over the segment's tag.
    request = SynthesisRequest("今日は", VOICE, language="ja-JP", options={"language": "en-us"})
    with pytest.raises(InvalidArgument, match="en-us phonemizer"):
        list(kokoro.synthesize(request))


def speak_as(model: KokoroModel, text: str, language: str) -> list[np.ndarray]:
    return list(model.synthesize(SynthesisRequest(text, VOICE, language=language)))


def test_a_cut_units_words_come_with_the_piece_they_end_in(kokoro: KokoroModel) -> None:
    text = SENTENCES[0]
    request = SynthesisRequest(text, VOICE, first_chunk_s=FIRST_S, word_timings=True)
    chunks = list(kokoro.synthesize(request))
    assert len(chunks) == 2
    first, rest = chunks
    assert isinstance(first, TimedChunk)
    assert isinstance(rest, TimedChunk)
    assert first.words
    assert all(m.end_sample <= first.samples.size for m in first.words)
    marks = first.words + rest.words
    assert [text[m.text_start : m.text_end] for m in marks] == text.rstrip(".").split()
    # The rest's words end where its speech ends (before the sentence's pause), even
    # though the duration predictor draws the last phoneme out into the silence.
    speech_end = first.samples.size + rest.samples.size - round(0.25 * SAMPLE_RATE_HZ)
    assert marks[-1].end_sample <= speech_end
    assert [m.start_sample for m in marks] == sorted(m.start_sample for m in marks)
