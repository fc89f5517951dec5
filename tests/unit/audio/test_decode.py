"""Decoding uploads: every container the encoders make, and clear errors for bad files."""

from __future__ import annotations

import io

import numpy as np
import pytest

from polyvox.audio import create_encoder
from polyvox.audio.decode import AudioDecodeError, decode_audio

RATE = 16_000
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * 24_000) / 24_000)).astype(np.float32)


def encoded(fmt: str) -> bytes:
    encoder = create_encoder(fmt, sample_rate_hz=24_000)
    return encoder.encode(TONE) + encoder.flush()


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav"])
def test_containers_decode_to_the_requested_rate(fmt: str) -> None:
    samples = decode_audio(io.BytesIO(encoded(fmt)), sample_rate_hz=RATE, max_duration_s=60)
    assert samples.dtype == np.float32
    # Codec priming and padding add a few ms; the rate conversion is exact.
    assert samples.size / RATE == pytest.approx(2.0, abs=0.1)
    assert 0.15 < np.sqrt(np.mean(samples**2)) < 0.25


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is a text file, not audio\n" * 20, "invalid_audio"),
        (b"", "invalid_audio"),
        (encoded("mp3")[:100], "invalid_audio"),
        (encoded("mp3")[:300], "audio_too_short"),
        (encoded("flac")[:20_000], "invalid_audio"),
        (create_encoder("wav", sample_rate_hz=RATE, complete_file=True).flush(), "empty_audio"),
    ],
    ids=[
        "text",
        "empty",
        "mp3-cut-in-its-header",
        "mp3-cut-after-a-frame",
        "truncated-flac",
        "zero-samples-wav",
    ],
)
def test_bad_files_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(AudioDecodeError) as caught:
        decode_audio(io.BytesIO(data), sample_rate_hz=RATE, max_duration_s=60)
    assert caught.value.reason == reason


def test_too_long_is_refused_before_decoding_it_all() -> None:
    with pytest.raises(AudioDecodeError, match="longer than the limit of 1 s") as caught:
        decode_audio(io.BytesIO(encoded("wav")), sample_rate_hz=RATE, max_duration_s=1.0)
    assert caught.value.reason == "audio_too_long"
