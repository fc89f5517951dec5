"""A stream's audio kept in chunks: appends cost the chunk, not the buffer."""

from __future__ import annotations

import numpy as np

from polyvox.worker.sample_buffer import SampleBuffer


def test_slices_across_chunks_and_after_dropping_the_front() -> None:
    buffer = SampleBuffer()
    stream = np.arange(100, dtype=np.float32)
    for start in range(0, 100, 7):
        buffer.append(stream[start : start + 7])
    assert (buffer.start, buffer.end) == (0, 100)
    np.testing.assert_array_equal(buffer.slice(5, 30), stream[5:30])
    buffer.drop_before(40)  # mid-chunk
    assert buffer.start == 40
    np.testing.assert_array_equal(buffer.slice(0, 55), stream[40:55])  # clipped to what is held
    np.testing.assert_array_equal(buffer.slice(40, 100), stream[40:100])
    assert buffer.slice(100, 120).size == 0


def test_appending_keeps_the_chunks_it_was_given() -> None:
    # Joining on every append made a frame cost as much as the utterance so far: the
    # buffer must hold the caller's arrays as they are, copying only to slice.
    buffer = SampleBuffer()
    chunks = [np.full(160, i, np.float32) for i in range(500)]
    for chunk in chunks:
        buffer.append(chunk)
    assert all(held is given for held, given in zip(buffer._chunks, chunks, strict=True))
