"""Decode an uploaded audio file (any container and codec FFmpeg knows) for a recognizer.

PyAV demuxes and decodes and folds the channels to mono float32 at the file's own
rate; one stateful soxr resampler brings it to the rate the model wants. Decoding
stops as soon as the audio passes the duration limit, so an hour-long upload is
refused without decoding it all.
"""

from __future__ import annotations

import logging
from typing import BinaryIO

import av
import av.error
import numpy as np

from polyvox.audio.resample import StreamResampler
from polyvox.errors import InvalidArgument

logger = logging.getLogger(__name__)

#: Shorter audio is refused, as OpenAI's API does: nothing useful can be heard in it.
MIN_DURATION_S = 0.1


class AudioDecodeError(InvalidArgument):
    """The upload is not usable audio; ``reason`` is the API error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def decode_audio(source: BinaryIO, *, sample_rate_hz: int, max_duration_s: float) -> np.ndarray:
    """Mono float32 samples of the first audio stream in ``source``, at ``sample_rate_hz``.

    Raises :class:`AudioDecodeError`: ``invalid_audio`` (not audio, damaged, or
    truncated where the decoder notices), ``empty_audio`` (no samples),
    ``audio_too_short`` (under 0.1 s), ``audio_too_long``. A file merely cut short
    between frames decodes as far as it goes, as FFmpeg itself does.
    """
    try:
        container = av.open(source, mode="r")
    except (av.error.FFmpegError, EOFError, ValueError) as exc:
        raise AudioDecodeError(
            "invalid_audio", f"the file could not be read as audio ({_why(exc)})"
        ) from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError("invalid_audio", "the file has no audio stream")
        stream = container.streams.audio[0]
        # Channels are averaged by libswresample; the rate is left to soxr.
        mixer = av.AudioResampler(format="flt", layout="mono")
        resampler: StreamResampler | None = None
        parts: list[np.ndarray] = []
        decoded_s = 0.0
        try:
            for frame in container.decode(stream):
                for mono in mixer.resample(frame):
                    samples = mono.to_ndarray().reshape(-1)
                    if resampler is None:
                        resampler = StreamResampler(
                            in_rate_hz=mono.sample_rate, out_rate_hz=sample_rate_hz
                        )
                    decoded_s += samples.size / mono.sample_rate
                    if decoded_s > max_duration_s:
                        raise AudioDecodeError(
                            "audio_too_long",
                            f"the audio is longer than the limit of {max_duration_s:g} s",
                        )
                    parts.append(resampler.process(samples))
        except (av.error.FFmpegError, EOFError, ValueError) as exc:
            raise AudioDecodeError(
                "invalid_audio", f"the audio is damaged or truncated ({_why(exc)})"
            ) from None
    if resampler is not None:
        parts.append(resampler.flush())
    audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if audio.size == 0:
        raise AudioDecodeError("empty_audio", "the file contains no audio samples")
    if audio.size < MIN_DURATION_S * sample_rate_hz:
        raise AudioDecodeError(
            "audio_too_short",
            f"the audio lasts {audio.size / sample_rate_hz:.3f} s; the minimum is "
            f"{MIN_DURATION_S:g} s",
        )
    return audio


def _why(exc: BaseException) -> str:
    # PyAV's messages end with the (meaningless here) file name, e.g. "...: '<none>'".
    return str(getattr(exc, "strerror", None) or exc)
