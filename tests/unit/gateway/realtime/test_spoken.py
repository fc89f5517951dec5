"""Cutting a reply's transcript at the time its audio was played to."""

from __future__ import annotations

import pytest

from polyvox.gateway.realtime.spoken import (
    SpokenSegment,
    cut_transcript,
    heard_segments,
    words_within,
)

SEGMENTS = [
    SpokenSegment("Hello there.", 0, 1000),
    SpokenSegment(" It is noon now.", 1000, 2000),
    SpokenSegment(" Bye.", 2000, 2400),
]


@pytest.mark.parametrize(
    ("audio_end_ms", "heard"),
    [
        (0, ""),
        (400, ""),  # 40% of "Hello there." is 4.8 characters: "Hello" ends at 5
        (420, "Hello"),
        (999, "Hello"),  # "there." is not over until its segment is
        (1000, "Hello there."),
        (1300, "Hello there. It"),
        (1500, "Hello there. It is"),
        (1999, "Hello there. It is noon"),
        (2000, "Hello there. It is noon now."),
        (2399, "Hello there. It is noon now."),
        (2400, "Hello there. It is noon now. Bye."),
        (10_000, "Hello there. It is noon now. Bye."),
    ],
)
def test_cut_at_the_last_word_heard(audio_end_ms: int, heard: str) -> None:
    assert cut_transcript(SEGMENTS, audio_end_ms) == heard


def test_heard_segments_end_at_the_cut() -> None:
    assert heard_segments(SEGMENTS, 1500) == [
        SpokenSegment("Hello there.", 0, 1000),
        SpokenSegment(" It is", 1000, 1500),
    ]
    # Nothing whole heard of the segment playing: it is gone.
    assert heard_segments(SEGMENTS, 1050) == [SpokenSegment("Hello there.", 0, 1000)]
    assert heard_segments([], 500) == []


def test_a_gap_between_segments_and_an_empty_segment() -> None:
    segments = [
        SpokenSegment("One.", 0, 500),
        SpokenSegment("", 500, 500),
        SpokenSegment(" Two.", 800, 1200),
    ]
    assert cut_transcript(segments, 700) == "One."
    assert cut_transcript(segments, 1200) == "One. Two."


@pytest.mark.parametrize(
    ("text", "fraction", "words"),
    [
        ("Hello there, friend.", 0.5, "Hello"),
        ("Hello there, friend.", 0.6, "Hello there,"),
        (" It is noon.", 0.99, " It is"),
        (" It is noon.", 1.0, " It is noon."),
        ("indivisible", 0.9, ""),
        ("a  b", 0.75, "a"),
        ("", 1.0, ""),
        ("Hello", -1.0, ""),
        ("Hello", 3.0, "Hello"),
        # Japanese has no spaces: it is cut between characters.
        ("東京は晴れです。", 0.5, "東京は晴"),
        ("Hi 東京", 0.8, "Hi 東"),
    ],
)
def test_words_within(text: str, fraction: float, words: str) -> None:
    assert words_within(text, fraction) == words


def test_a_segment_spans_forward_in_time() -> None:
    with pytest.raises(ValueError, match="start <= end"):
        SpokenSegment("x", 500, 400)
    with pytest.raises(ValueError, match="start <= end"):
        SpokenSegment("x", -1, 400)
