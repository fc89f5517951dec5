"""Which words of an assistant's reply the user heard: cut a transcript at a time in its audio.

The session knows, for each spoken segment of a reply (one synthesis segment:
a clause or a sentence), its text and where its audio starts and ends in the
item's audio. Inside a segment no engine tells word times, so the segment's
time is shared out over its characters evenly: the played share of the
segment's time is the share of its characters heard, and the transcript is cut
at the last word that ends inside it. A word half heard is not kept: the
transcript must not claim more than the user heard (OpenAI's rule for
``conversation.item.truncate``). Characters are a fair stand-in for speech
time at a clause's scale; a long pause inside a segment would skew it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SpokenSegment:
    """A piece of an item's audio whose text is known; ms from the item's audio start."""

    text: str
    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_ms <= self.end_ms:
            raise ValueError(
                f"a segment spans 0 <= start <= end ms, not {self.start_ms}..{self.end_ms}"
            )


def heard_segments(segments: Sequence[SpokenSegment], audio_end_ms: int) -> list[SpokenSegment]:
    """The segments as heard up to ``audio_end_ms``: whole ones, then the one cut short.

    The cut segment keeps the words inside the played part and ends at
    ``audio_end_ms``; a segment with no whole word heard is dropped.
    """
    heard: list[SpokenSegment] = []
    for segment in segments:
        if segment.end_ms <= audio_end_ms:
            heard.append(segment)
            continue
        if segment.start_ms < audio_end_ms:
            played = (audio_end_ms - segment.start_ms) / (segment.end_ms - segment.start_ms)
            words = words_within(segment.text, played)
            if words:
                heard.append(SpokenSegment(words, segment.start_ms, audio_end_ms))
        break
    return heard


def cut_transcript(segments: Sequence[SpokenSegment], audio_end_ms: int) -> str:
    """The transcript the user heard, the segments' texts joined as they were sent."""
    return "".join(segment.text for segment in heard_segments(segments, audio_end_ms)).rstrip()


def words_within(text: str, fraction: float) -> str:
    """The longest run of whole words of ``text`` within its first ``fraction`` of characters.

    A word ends at whitespace or at the end of the text, so punctuation stays with
    its word ("noon." is one word). Scripts written without spaces (Chinese,
    Japanese) are cut between any two of their wide characters instead. Leading
    whitespace is kept, trailing dropped.
    """
    limit = max(0.0, min(1.0, fraction)) * len(text)
    end = 0
    for index, char in enumerate(text):
        if index + 1 > limit:
            break
        following = text[index + 1] if index + 1 < len(text) else " "
        if not char.isspace() and (following.isspace() or _wide(char) or _wide(following)):
            end = index + 1
    return text[:end]


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")
