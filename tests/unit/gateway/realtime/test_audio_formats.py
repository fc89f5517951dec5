"""The Realtime API's audio formats in and out: rates, byte counts, whole samples."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox.gateway.realtime.audio_formats import (
    InputDecoder,
    OutputEncoder,
    bytes_per_second,
    decode_item_audio,
)
from polyvox.gateway.realtime.session_params import PcmaFormat, PcmFormat, PcmuFormat

FORMATS = [PcmFormat(), PcmuFormat(type="audio/pcmu"), PcmaFormat(type="audio/pcma")]


def tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("audio_format", FORMATS, ids=lambda f: f.type)
def test_a_second_out_is_a_second_in(audio_format: PcmFormat) -> None:
    encoder = OutputEncoder(audio_format, in_rate_hz=22050)
    data = encoder.encode(tone(1.0, 22050)) + encoder.flush()
    assert len(data) == pytest.approx(bytes_per_second(audio_format), rel=0.01)
    assert encoder.duration_ms(data) == pytest.approx(1000, rel=0.01)
    decoder = InputDecoder(audio_format, out_rate_hz=16000)
    assert decoder.duration_s(data) == pytest.approx(1.0, rel=0.01)
    samples = decode_item_audio(data, audio_format, out_rate_hz=16000)
    assert samples.size == pytest.approx(16000, rel=0.01)
    # The tone survives (G.711 is lossy, but not that lossy).
    assert np.abs(samples).max() == pytest.approx(0.5, abs=0.05)


def test_pcm_must_be_whole_samples() -> None:
    with pytest.raises(ValueError, match="even byte count"):
        InputDecoder(PcmFormat(), out_rate_hz=16000).decode(b"\x00\x01\x02")
