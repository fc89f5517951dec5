"""Word marks from the real engines (Piper's split graph, libespeak-ng's word events),
and the alignment of words to phonemes they rest on."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from polyvox.engines.base import SpeechModel, SynthesisRequest, TimedChunk, WordMark
from polyvox.engines.espeak import EspeakEngine
from polyvox.engines.kokoro import MODEL_ID as KOKORO_MODEL_ID
from polyvox.engines.kokoro import KokoroEngine, KokoroModel
from polyvox.engines.piper import PiperEngine, PiperModel
from polyvox.engines.word_alignment import align_words, word_marks
from polyvox.text.pieces import char_positions

TEXT = "I want a cup of the tea in the morning. The year 1999 cost $42.50, didn't it?"
WORDS = [
    "I", "want", "a", "cup", "of", "the", "tea", "in", "the", "morning", "The", "year",
    "1999", "cost", "$42.50", "didn't", "it",
]  # fmt: skip


def spoken(model: SpeechModel, request: SynthesisRequest) -> tuple[list[WordMark], int]:
    marks: list[WordMark] = []
    total = 0
    for chunk in model.synthesize(request):
        if isinstance(chunk, TimedChunk):
            marks += chunk.words
            chunk = chunk.samples
        total += np.asarray(chunk).size
    return marks, total


@pytest.fixture(scope="module", params=["piper", "espeak", "kokoro"])
def model(request: pytest.FixtureRequest) -> Iterator[SpeechModel]:
    if request.param == "piper":
        loaded: SpeechModel = PiperEngine().load("en_US-joe-medium")
    elif request.param == "kokoro":
        loaded = KokoroEngine(threads_per_inference=2).load(KOKORO_MODEL_ID)
    else:
        loaded = EspeakEngine().load("espeak-ng")
    yield loaded
    loaded.close()


def test_every_word_is_marked_in_order_inside_the_audio(model: SpeechModel) -> None:
    request = SynthesisRequest(TEXT, voice=model.info.default_voice.id, word_timings=True)
    marks, total = spoken(model, request)
    words = [TEXT[m.text_start : m.text_end] for m in marks]
    if isinstance(model, PiperModel | KokoroModel):
        assert words == WORDS
    else:
        # espeak reports no event for a word it joins to the one before ("of the"), and
        # marks "$" and "42.50," apart: the gateway maps marks onto the input's words.
        assert {"want", "cup", "morning", "1999", "cost"} <= set(words)
    starts = [m.start_sample for m in marks]
    assert starts == sorted(starts)
    assert all(0 <= m.start_sample <= m.end_sample <= total for m in marks)


def test_no_marks_unless_asked(model: SpeechModel) -> None:
    marks, total = spoken(model, SynthesisRequest("Hello there.", model.info.default_voice.id))
    assert marks == []
    assert total > 0


def test_piper_speaks_ssml_phonemes_as_one_word() -> None:
    piper = PiperEngine().load("en_US-joe-medium")
    request = SynthesisRequest(
        "tomato", "joe", phonemes="təmˈɑːtoʊ", phoneme_alphabet="ipa", word_timings=True
    )
    marks, total = spoken(piper, request)
    assert len(marks) == 1
    assert (marks[0].text_start, marks[0].text_end) == (0, 6)
    assert 0 < marks[0].start_sample < marks[0].end_sample <= total


def test_words_joined_and_split_by_the_phonemizer_find_their_phonemes() -> None:
    # "of the" comes out as one phoneme word, "42" as two.
    readings = {"of": "ʌv", "the": "ðə", "42": "fɔːɹɾi tuː", "cups": "kʌps"}
    spoken_phonemes = list("kʌps ʌvðə fɔːɹɾi tuː")
    aligned = align_words("cups of the 42", spoken_phonemes, lambda w: list(readings[w]))
    stretches = ["".join(spoken_phonemes[first:stop]) for _, _, first, stop in aligned]
    assert stretches == ["kʌps", "ʌv", "ðə", "fɔːɹɾi tuː"]


def test_a_word_with_no_matching_phonemes_gets_the_gap_between_its_neighbours() -> None:
    readings = {"a": "eɪ", "zzz": "qqq", "b": "biː"}
    aligned = align_words("a zzz b", list("eɪ ɛks biː"), lambda w: list(readings[w]))
    assert [(first, stop) for *_, first, stop in aligned] == [(0, 2), (2, 7), (7, 10)]
    marks = word_marks(aligned, [10] * 10, lead_in_samples=5)
    assert [(m.start_sample, m.end_sample) for m in marks] == [(5, 25), (25, 75), (75, 105)]


def test_char_positions_follow_a_piece_whose_whitespace_changed() -> None:
    text = "Hello   world,\n and  more"
    positions = char_positions("world, and", text, 5)
    assert text[positions[0] : positions[4] + 1] == "world"
    assert text[positions[7] : positions[9] + 1] == "and"
    assert positions[-1] == text.index("and") + 3
