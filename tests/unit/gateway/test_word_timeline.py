"""Worker word timings as the words of the original input: widened, joined, gaps shared,
in order and inside each segment's audio."""

from __future__ import annotations

from polyvox.contract.types import WordTiming
from polyvox.gateway.speech_plan import plan_text
from polyvox.gateway.word_timeline import WordTimeline
from polyvox.text.normalize import clean_text
from polyvox.text.segment import Segmenters

RATE_HZ = 1000  # a sample is a millisecond


def timeline(original: str) -> tuple[WordTimeline, list[str]]:
    plan = plan_text(original, clean_text(original), ["en-US"], Segmenters(), tag_language=False)
    return WordTimeline(plan), [planned.segment.text for planned in plan.segments]


def test_offsets_point_into_the_original_input_through_segmentation() -> None:
    original = "Hello,   world!\x00 It  costs   $42.50, they say."
    words, segments = timeline(original)
    # A sentence's own spacing stays (the engine reads it); offsets follow it either way.
    assert segments == ["Hello,   world!", "It  costs   $42.50, they say."]
    words.start_segment(0, 0.0)
    out = words.add(WordTiming(0, 0, 5, 0, 400), RATE_HZ)
    out += words.add(WordTiming(0, 9, 14, 500, 900), RATE_HZ)
    out += words.end_segment(1.0)
    # The second segment: espeak's "$" and "42.50," are one word of the input; "they"
    # got no timing of its own and shares the one before it.
    segment = segments[1]
    words.start_segment(1, 2.0)
    for text, start, end in [("It", 0, 200), ("costs", 200, 500), ("$", 500, 600),
                             ("42.50,", 600, 1200), ("say", 1500, 1800)]:  # fmt: skip
        at = segment.index(text)
        out += words.add(WordTiming(1, at, at + len(text), start, end), RATE_HZ)
    out += words.end_segment(3.7)
    assert [w.word for w in out] == ["Hello", "world", "It", "costs", "$42.50", "they", "say"]
    assert all(original[w.source_start : w.source_end] == w.word for w in out)
    assert [(w.start_s, w.end_s) for w in out[:2]] == [(0.0, 0.4), (0.5, 0.9)]
    dollars, they = out[4], out[5]
    assert (dollars.start_s, they.end_s) == (2.5, 3.2)
    assert dollars.end_s == they.start_s
    assert out[-1].end_s <= 3.7
    starts = [w.start_s for w in out]
    assert starts == sorted(starts)


def test_words_before_the_first_timing_share_it() -> None:
    words, _ = timeline("of the tea")
    words.start_segment(0, 0.0)
    out = words.add(WordTiming(0, 7, 10, 300, 600), RATE_HZ)
    out += words.end_segment(0.6)
    assert [w.word for w in out] == ["of", "the", "tea"]
    assert out[0].start_s == 0.3
    assert out[-1].end_s == 0.6


def test_a_segment_without_timings_gives_no_words() -> None:
    words, _ = timeline("Kokoro says nothing about its words yet.")
    words.start_segment(0, 0.0)
    assert words.end_segment(2.0) == []
