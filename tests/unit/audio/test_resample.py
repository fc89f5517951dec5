from __future__ import annotations

import numpy as np
import pytest

from polyvox.audio import StreamResampler

IN_RATE_HZ = 22050


def _sine(rate_hz: int, *, duration_s: float = 1.0, freq_hz: float = 440.0) -> np.ndarray:
    t_s = np.arange(round(rate_hz * duration_s)) / rate_hz
    return (0.5 * np.sin(2 * np.pi * freq_hz * t_s)).astype(np.float32)


def _uneven_chunks(samples: np.ndarray, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, samples.size), size=count - 1, replace=False))
    return np.split(samples, cuts)


def _resample_chunked(resampler: StreamResampler, chunks: list[np.ndarray]) -> np.ndarray:
    parts = [resampler.process(chunk) for chunk in chunks]
    parts.append(resampler.flush())
    return np.concatenate(parts)


def _dominant_hz(samples: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate_hz)[np.argmax(spectrum)])


@pytest.mark.parametrize("out_rate_hz", [48000, 8000])
def test_chunked_equals_one_call(out_rate_hz: int) -> None:
    sine = _sine(IN_RATE_HZ)
    chunks = _uneven_chunks(sine, 37)
    assert len({chunk.size for chunk in chunks}) > 10

    chunked = _resample_chunked(
        StreamResampler(in_rate_hz=IN_RATE_HZ, out_rate_hz=out_rate_hz), chunks
    )
    whole = _resample_chunked(
        StreamResampler(in_rate_hz=IN_RATE_HZ, out_rate_hz=out_rate_hz), [sine]
    )

    assert chunked.dtype == np.float32
    assert chunked.size == whole.size == out_rate_hz  # exactly 1 s at the new rate
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert _dominant_hz(chunked, out_rate_hz) == pytest.approx(440, abs=2)


def test_equal_rates_pass_through() -> None:
    resampler = StreamResampler(in_rate_hz=24000, out_rate_hz=24000)
    sine = _sine(24000)

    assert resampler.is_passthrough
    np.testing.assert_array_equal(resampler.process(sine), sine)
    assert resampler.flush().size == 0


def test_float64_input_comes_back_float32() -> None:
    resampler = StreamResampler(in_rate_hz=16000, out_rate_hz=48000)
    out = resampler.process(_sine(16000).astype(np.float64))
    assert out.dtype == np.float32


def test_rejects_multichannel_and_use_after_flush() -> None:
    resampler = StreamResampler(in_rate_hz=16000, out_rate_hz=48000)
    with pytest.raises(ValueError, match="mono"):
        resampler.process(np.zeros((2, 100), dtype=np.float32))
    resampler.flush()
    with pytest.raises(RuntimeError, match="flushed"):
        resampler.process(np.zeros(100, dtype=np.float32))
