"""A worker's word timings as the words of the ORIGINAL input, in seconds of the
request's audio.

Each timing points into a segment's text; the plan maps that to a stretch of the input,
which is widened to the input's words it touches (:data:`~polyvox.text.pieces.TEXT_WORD`):
so "$" and "42.50," (espeak's two events) become the one word "$42.50", and the three
words Piper says for ``<say-as>1999</say-as>`` the one word written. Input words no
timing touched (espeak reports nothing for "the" in "of the") share the time of the
timing before them, split by length. A timing is held until the next one (or the
segment's end) shows which words it covers, so words leave at most a segment late;
they never overlap, never go back, and end inside their segment's audio.
"""

from __future__ import annotations

from dataclasses import dataclass

from polyvox.contract.types import WordTiming
from polyvox.gateway.speech_plan import SpeechPlan
from polyvox.text.pieces import TEXT_WORD


@dataclass(frozen=True, slots=True)
class SpokenWord:
    """A word of the input and when it is spoken, in seconds from the audio's start."""

    word: str
    start_s: float
    end_s: float
    #: Where the word is in the input (characters).
    source_start: int
    source_end: int

    def to_json(self) -> dict[str, object]:
        return {
            "word": self.word,
            "start": round(self.start_s, 3),
            "end": round(self.end_s, 3),
            "source_start": self.source_start,
            "source_end": self.source_end,
        }


@dataclass(slots=True)
class _Group:
    """Input words ``first..last`` (indexes into the segment's words) spoken in
    ``[start_s, end_s]``."""

    first: int
    last: int
    start_s: float
    end_s: float


class WordTimeline:
    def __init__(self, plan: SpeechPlan) -> None:
        self._plan = plan
        self._words = [self._segment_words(plan, index) for index in range(len(plan.segments))]
        self._segment = -1
        self._segment_start_s = 0.0
        self._pending: _Group | None = None
        self._last_end_s = 0.0

    @staticmethod
    def _segment_words(plan: SpeechPlan, index: int) -> list[tuple[int, int]]:
        """The input's words a segment speaks: those with a character it came from."""
        sources = plan.segments[index].sources
        covered = {position for start, end in sources for position in range(start, end)}
        if not covered:
            return []
        low, high = min(covered), max(covered) + 1
        found = []
        for match in TEXT_WORD.finditer(plan.original, low, high):
            if any(position in covered for position in range(*match.span())):
                found.append(match.span())
        return found

    def start_segment(self, index: int, start_s: float) -> None:
        """Segment ``index``'s audio starts ``start_s`` into the request's audio."""
        self._segment, self._segment_start_s = index, start_s
        self._pending = None

    def add(self, timing: WordTiming, rate_hz: int) -> list[SpokenWord]:
        """A timing of the current segment; the words now known for sure."""
        words = self._words[self._segment] if 0 <= self._segment < len(self._words) else []
        source = self._plan.segments[self._segment].source_range(timing.text_start, timing.text_end)
        touched = [i for i, (s, e) in enumerate(words) if s < source[1] and e > source[0]]
        if not touched:
            return []  # punctuation: no word of the input
        start_s = self._segment_start_s + timing.start_sample / rate_hz
        end_s = self._segment_start_s + timing.end_sample / rate_hz
        pending = self._pending
        if pending is not None and touched[0] <= pending.last:
            pending.last = max(pending.last, touched[-1])
            pending.end_s = max(pending.end_s, end_s)
            return []
        done: list[SpokenWord] = []
        if pending is not None:
            pending.last = touched[0] - 1  # the words between: spoken in its time
            if start_s > pending.start_s:  # no overlap with the word after
                pending.end_s = min(pending.end_s, start_s)
            done = self._emit(pending)
        # Words of the segment before its first timing are spoken with that timing.
        first = touched[0] if pending is not None else 0
        self._pending = _Group(first, touched[-1], start_s, end_s)
        return done

    def end_segment(self, end_s: float) -> list[SpokenWord]:
        """The current segment's audio ended ``end_s`` into the request's audio."""
        pending, self._pending = self._pending, None
        if pending is None:
            return []
        words = self._words[self._segment]
        pending.last = len(words) - 1
        pending.end_s = min(pending.end_s, end_s)
        return self._emit(pending)

    def _emit(self, group: _Group) -> list[SpokenWord]:
        words = self._words[self._segment][group.first : group.last + 1]
        start_s = max(group.start_s, self._last_end_s)
        end_s = max(group.end_s, start_s)
        total_chars = sum(end - start for start, end in words) or 1
        out = []
        at = start_s
        for start, end in words:
            share = (end_s - start_s) * (end - start) / total_chars
            out.append(SpokenWord(self._plan.original[start:end], at, at + share, start, end))
            at += share
        self._last_end_s = end_s
        return out
