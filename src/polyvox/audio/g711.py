"""G.711 telephony audio (µ-law and A-law, 8 kHz, one byte a sample) to and from float32.

The Realtime API's ``audio/pcmu`` and ``audio/pcma`` formats are G.711 µ-law and
A-law at 8 kHz mono. PyAV's ``pcm_mulaw`` / ``pcm_alaw`` codecs (FFmpeg's, the
ITU-T reference tables) do the companding; Python's own ``audioop`` is deprecated
(removed in 3.13) and warnings are errors in our tests. G.711 compands each
sample on its own, so unlike the resampler and the compressed encoders nothing
carries over between calls: the functions are stateless and a stream may be cut
into pieces anywhere. Resampling to and from 8 kHz is the caller's (one
:class:`~polyvox.audio.resample.StreamResampler` per stream).
"""

from __future__ import annotations

from typing import Literal, cast

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext

from polyvox.audio.samples import as_mono_float32, float_to_int16

G711Law = Literal["mulaw", "alaw"]

#: The only rate the Realtime API's G.711 formats use.
G711_SAMPLE_RATE_HZ = 8000

_CODECS: dict[G711Law, str] = {"mulaw": "pcm_mulaw", "alaw": "pcm_alaw"}
#: 16-bit PCM full scale: decoded samples are divided by this, so the most negative
#: code maps to exactly -1.0 (as FFmpeg's own s16 → float conversion does).
_INT16_SCALE = 32768.0


def _codec(law: G711Law, mode: Literal["r", "w"]) -> AudioCodecContext:
    if law not in _CODECS:
        raise ValueError(f"unknown G.711 law {law!r}; expected 'mulaw' or 'alaw'")
    # Opening a PCM codec context costs about 12 µs: cheaper than sharing one.
    context = cast(AudioCodecContext, av.CodecContext.create(_CODECS[law], mode))
    context.sample_rate = G711_SAMPLE_RATE_HZ
    context.layout = "mono"
    if mode == "w":
        context.format = "s16"
    return context


def g711_decode(data: bytes, *, law: G711Law) -> np.ndarray:
    """Mono float32 samples in [-1, 1) at 8 kHz, one per byte of ``data``."""
    if not data:
        return np.zeros(0, np.float32)
    decoder = _codec(law, "r")
    frames = decoder.decode(av.Packet(bytes(data)))
    samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])
    return (samples.astype(np.float32) / _INT16_SCALE).astype(np.float32)


def g711_encode(samples: np.ndarray, *, law: G711Law) -> bytes:
    """G.711 bytes, one per sample, of mono float32 ``samples`` already at 8 kHz.

    Samples outside [-1, 1] are clipped first (and NaN becomes silence), so a hot
    signal saturates instead of wrapping around.
    """
    mono = as_mono_float32(samples)
    if mono.size == 0:
        return b""
    encoder = _codec(law, "w")
    encoder.open()
    pcm = float_to_int16(mono).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate = G711_SAMPLE_RATE_HZ
    packets = [*encoder.encode(frame), *encoder.encode(None)]
    return b"".join(bytes(packet) for packet in packets)
