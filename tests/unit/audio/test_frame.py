from __future__ import annotations

import pytest

from polyvox.audio import Framer


@pytest.mark.parametrize(
    ("rate", "frame_ms", "frame_bytes"), [(48000, 20, 1920), (8000, 20, 320), (22050, 10, 440)]
)
def test_frames_have_a_fixed_size_and_keep_every_byte(
    rate: int, frame_ms: int, frame_bytes: int
) -> None:
    framer = Framer(sample_rate_hz=rate, frame_ms=frame_ms)
    data = bytes(range(256)) * 40
    frames = []
    for start in range(0, len(data), 333):  # uneven pushes
        frames += framer.push(data[start : start + 333])
    frames += framer.flush()
    assert {len(frame) for frame in frames} == {frame_bytes}
    joined = b"".join(frames)
    assert joined[: len(data)] == data
    assert set(joined[len(data) :]) <= {0}  # padding is silence
    assert framer.flush() == []


def test_a_frame_must_hold_a_sample() -> None:
    with pytest.raises(ValueError, match="holds no sample"):
        Framer(sample_rate_hz=8000, frame_ms=0)
