"""A stream's recent audio, appended in chunks and cut from the front, in linear time.

A streaming transcription receives audio 20-100 ms at a time and decodes stretches of
it now and then; joining the whole buffer on every frame made each frame cost as much
as the utterance so far. Chunks are kept as they came and joined only for a decode.
"""

from __future__ import annotations

import collections

import numpy as np


class SampleBuffer:
    """Mono float32 samples indexed from the start of the stream."""

    def __init__(self) -> None:
        self._chunks: collections.deque[np.ndarray] = collections.deque()
        #: Stream index of the first sample still held.
        self.start = 0
        #: Stream index one past the last sample received.
        self.end = 0

    def append(self, samples: np.ndarray) -> None:
        if samples.size:
            self._chunks.append(samples)
            self.end += samples.size

    def drop_before(self, index: int) -> None:
        """Forget samples before stream index ``index`` (whole chunks, or part of one)."""
        while self._chunks and self.start < index:
            head = self._chunks[0]
            if self.start + head.size <= index:
                self._chunks.popleft()
                self.start += head.size
            else:
                self._chunks[0] = head[index - self.start :]
                self.start = index

    def slice(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of the stream, clipped to what is held."""
        start, stop = max(start, self.start), min(stop, self.end)
        if stop <= start:
            return np.zeros(0, np.float32)
        parts: list[np.ndarray] = []
        position = self.start
        for chunk in self._chunks:
            chunk_end = position + chunk.size
            if chunk_end > start and position < stop:
                parts.append(chunk[max(start - position, 0) : min(stop, chunk_end) - position])
            if chunk_end >= stop:
                break
            position = chunk_end
        return np.concatenate(parts) if len(parts) > 1 else parts[0]
