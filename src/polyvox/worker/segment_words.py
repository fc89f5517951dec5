"""An engine's word marks, per piece of a segment, as the segment's word timings.

A worker may synthesize a segment in pieces (``busy_split_chars``): each piece's marks
count characters of the piece and samples of the piece's audio. Here they become
characters of the segment's text and samples of the segment's audio, and are kept in
order (a start never before the one before it, an end never before its start), so a
client can trust what the contract promises whatever an engine reports.
"""

from __future__ import annotations

from polyvox.contract.types import WordTiming
from polyvox.engines.base import WordMark


class SegmentWords:
    """Word timings of one segment, piece after piece."""

    def __init__(self, segment_index: int, text_length: int) -> None:
        self._index = segment_index
        self._text_length = text_length
        self._positions: list[int] = []
        self._sample_offset = 0
        self._last_start = 0

    def next_piece(self, positions: list[int], sample_offset: int) -> None:
        """The next piece: where each of its characters is in the segment's text
        (:func:`~polyvox.text.pieces.char_positions`), and how many samples of the
        segment came before its audio."""
        self._positions = positions
        self._sample_offset = sample_offset

    def timings(self, marks: tuple[WordMark, ...]) -> list[WordTiming]:
        timings = []
        for mark in marks:
            text_start, text_end = self._text_range(mark)
            if text_end <= text_start:
                continue  # nothing of the text: not a word a client can point at
            start = max(self._sample_offset + max(mark.start_sample, 0), self._last_start)
            end = max(self._sample_offset + mark.end_sample, start)
            self._last_start = start
            timings.append(WordTiming(self._index, text_start, text_end, start, end))
        return timings

    def _text_range(self, mark: WordMark) -> tuple[int, int]:
        positions = self._positions
        if not positions:
            return mark.text_start, mark.text_end
        last = len(positions) - 2  # the piece's last character
        if last < 0:
            return 0, 0
        start = positions[min(max(mark.text_start, 0), last)]
        end = positions[min(max(mark.text_end - 1, 0), last)] + 1
        return min(start, self._text_length), min(end, self._text_length)
