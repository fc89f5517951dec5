"""espeak-ng's WORD events as word marks: where each word of the text is spoken.

libespeak-ng reports a WORD event where each word's audio starts, pointing into the
text. Its events are not one per word: a number read as several words gives an event
for each, over overlapping stretches of its digits ("1999" at "1999", "999 ", "999 "),
and a symbol may get one of its own ("$" before "42.50"). Events whose text overlaps
are merged into one mark, which lasts until the next begins. Silence at either edge
of that stretch (espeak's pause at a comma or a sentence end, its lead-in before the
first word) is left out, so a mark covers the word's sound.
"""

from __future__ import annotations

import numpy as np

from polyvox.engines.base import WordMark
from polyvox.engines.espeak_library import Synthesis

#: int16 level under which the end of a synthesis counts as silence (about -50 dBFS).
_SILENCE_LEVEL = 100


def word_marks(text: str, synthesis: Synthesis) -> tuple[WordMark, ...]:
    spans: list[list[int]] = []  # [text_start, text_end, start_sample]
    for event in synthesis.words:
        start, end = _trimmed(text, event.text_start, event.text_start + event.text_length)
        if end <= start:
            continue
        if spans and start < spans[-1][1]:  # overlaps the one before: the same word
            spans[-1][1] = max(spans[-1][1], end)
            continue
        spans.append([start, end, event.audio_start_sample])
    samples = synthesis.samples
    loud = np.abs(samples.astype(np.int32)) > _SILENCE_LEVEL
    marks = []
    for index, (start, end, start_sample) in enumerate(spans):
        following = spans[index + 1][2] if index + 1 < len(spans) else samples.size
        low, high = min(start_sample, samples.size), min(max(start_sample, following), samples.size)
        voiced = np.flatnonzero(loud[low:high])
        if voiced.size:
            low, high = low + int(voiced[0]), low + int(voiced[-1]) + 1
        marks.append(WordMark(start, end, low, high))
    return tuple(marks)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """The stretch without the whitespace espeak's lengths sometimes take in."""
    start, end = max(0, start), min(len(text), end)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
