"""Checks and conversions on raw sample arrays shared by the resampler and encoders."""

from __future__ import annotations

import numpy as np

INT16_MAX = 32767


def as_mono_float32(samples: np.ndarray) -> np.ndarray:
    """Return ``samples`` as contiguous float32 of shape (n,); reject multi-channel input."""
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n,), got shape {samples.shape}")
    return np.ascontiguousarray(samples, dtype=np.float32)


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Convert [-1, 1] floats to int16, clipping first.

    Without the clip, 1.5 * 32767 wraps to a large negative int16: a loud click
    instead of mild saturation. NaN becomes silence for the same reason.
    """
    clipped = np.nan_to_num(np.clip(samples, -1.0, 1.0), nan=0.0)
    return np.rint(clipped * INT16_MAX).astype(np.int16)


def int16_bytes_to_float(data: bytes) -> np.ndarray:
    """Signed 16-bit little-endian mono bytes as float32 in [-1, 1).

    Raises ValueError for an odd byte count (not whole samples).
    """
    if len(data) % 2:
        raise ValueError(f"16-bit pcm must have an even byte count; got {len(data)} bytes")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
