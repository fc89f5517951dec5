from __future__ import annotations

import pytest

from polyvox.text.segment import Segmenter

SEGMENTER = Segmenter()


def words(segments: list[str]) -> list[str]:
    return " ".join(segments).split()


@pytest.mark.parametrize(
    "text",
    [
        "Dr. Smith arrived at 10:30 a.m. with 3.5 kg of apples, e.g. Fuji, and left.",
        "See https://example.com/a.b?x=1 or mail jo.doe@example.org for details today.",
        "Items:\n1. eggs\n2. milk\n3. bread",
        "It costs 3,000 dollars and the meeting is at 10:30 tomorrow in the big hall downstairs.",
        " ".join(f"w{i}" for i in range(500)),
    ],
)
def test_no_word_is_lost_or_cut(text: str) -> None:
    assert words(SEGMENTER.split(text)) == text.split()


def test_first_segment_is_the_first_clause_when_short() -> None:
    segments = SEGMENTER.split("Hello there, I hope you are well today. Bye.")
    assert segments == ["Hello there,", "I hope you are well today.", "Bye."]


def test_first_segment_is_a_few_words_when_the_clause_is_long() -> None:
    first, *_ = SEGMENTER.split("It costs 3,000 dollars and the meeting is at 10:30 tomorrow.")
    assert first == "It costs 3,000 dollars and the"


def test_abbreviations_decimals_times_urls_do_not_end_sentences() -> None:
    text = (
        "Short one. Dr. Smith paid 3.5 dollars at 10:30 for it. "
        "Mail jo.doe@example.org or open https://example.com/a.b today."
    )
    assert SEGMENTER.split(text) == [
        "Short one.",
        "Dr. Smith paid 3.5 dollars at 10:30 for it.",
        "Mail jo.doe@example.org or open https://example.com/a.b today.",
    ]


def test_newlines_and_lists_split() -> None:
    assert SEGMENTER.split("Items:\n1. eggs\n2. milk") == ["Items:", "1. eggs", "2. milk"]


def test_long_unpunctuated_text_respects_the_limit() -> None:
    segmenter = Segmenter(max_chars=80)
    segments = segmenter.split(" ".join(["lorem"] * 300))
    assert all(len(segment) <= 80 for segment in segments)
    assert len(segments[0].split()) == 6


def test_long_sentence_prefers_clause_boundaries() -> None:
    clause = "this clause has a handful of words in it"
    segments = Segmenter(max_chars=100).split("Start. " + ", ".join([clause] * 6) + ".")
    assert all(len(segment) <= 100 for segment in segments)
    assert all(segment.endswith((",", ".")) for segment in segments[1:])


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_nothing_to_say(text: str) -> None:
    assert SEGMENTER.split(text) == []
