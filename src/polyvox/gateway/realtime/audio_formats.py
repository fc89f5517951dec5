"""The Realtime API's audio formats, in and out: 16-bit PCM at 24 kHz, G.711 at 8 kHz.

One :class:`InputDecoder` per input stream turns the client's bytes into mono
float32 at the transcription model's rate; one :class:`OutputEncoder` per reply
turns the speech model's audio into the client's format. Both resample with one
stateful soxr stream each, so joins between appends (or segments) do not click.
"""

from __future__ import annotations

import numpy as np

from polyvox.audio import StreamResampler, float_to_int16
from polyvox.audio.g711 import G711_SAMPLE_RATE_HZ, G711Law, g711_decode, g711_encode
from polyvox.audio.samples import int16_bytes_to_float
from polyvox.gateway.realtime.session_config import AudioFormat
from polyvox.gateway.realtime.session_params import PcmaFormat, PcmuFormat

#: The only PCM rate of the Realtime API.
PCM_RATE_HZ = 24_000


def _law(audio_format: AudioFormat) -> G711Law | None:
    if isinstance(audio_format, PcmuFormat):
        return "mulaw"
    if isinstance(audio_format, PcmaFormat):
        return "alaw"
    return None


def format_rate_hz(audio_format: AudioFormat) -> int:
    return PCM_RATE_HZ if _law(audio_format) is None else G711_SAMPLE_RATE_HZ


def bytes_per_second(audio_format: AudioFormat) -> int:
    """Bytes of one second of audio in ``audio_format`` (mono)."""
    return PCM_RATE_HZ * 2 if _law(audio_format) is None else G711_SAMPLE_RATE_HZ


class InputDecoder:
    """Client audio bytes → mono float32 at ``out_rate_hz``; not thread-safe."""

    def __init__(self, audio_format: AudioFormat, *, out_rate_hz: int) -> None:
        self.format = audio_format
        self._law = _law(audio_format)
        self._resampler = StreamResampler(
            in_rate_hz=format_rate_hz(audio_format), out_rate_hz=out_rate_hz
        )

    def duration_s(self, data: bytes) -> float:
        return len(data) / bytes_per_second(self.format)

    def decode(self, data: bytes) -> np.ndarray:
        """Raises ValueError for bytes that are not whole samples."""
        if self._law is None:
            samples = int16_bytes_to_float(data)
        else:
            samples = g711_decode(data, law=self._law)
        return self._resampler.process(samples)

    def flush(self) -> np.ndarray:
        return self._resampler.flush()


def decode_item_audio(data: bytes, audio_format: AudioFormat, *, out_rate_hz: int) -> np.ndarray:
    """A whole clip (a conversation item's audio) at ``out_rate_hz``."""
    decoder = InputDecoder(audio_format, out_rate_hz=out_rate_hz)
    samples = decoder.decode(data)
    return np.concatenate([samples, decoder.flush()])


class OutputEncoder:
    """Speech model audio (mono float32 at its rate) → bytes in the client's format."""

    def __init__(self, audio_format: AudioFormat, *, in_rate_hz: int) -> None:
        self._law = _law(audio_format)
        self.rate_hz = format_rate_hz(audio_format)
        self._resampler = StreamResampler(in_rate_hz=in_rate_hz, out_rate_hz=self.rate_hz)
        self._bytes_per_sample = 2 if self._law is None else 1

    def encode(self, samples: np.ndarray) -> bytes:
        return self._bytes(self._resampler.process(samples))

    def flush(self) -> bytes:
        return self._bytes(self._resampler.flush())

    def duration_ms(self, data: bytes) -> float:
        return len(data) / self._bytes_per_sample / self.rate_hz * 1000

    def _bytes(self, samples: np.ndarray) -> bytes:
        if not samples.size:
            return b""
        if self._law is None:
            return float_to_int16(samples).astype("<i2").tobytes()
        return g711_encode(samples, law=self._law)
