"""Output formats a client can ask for, and the sample rates each can carry.

Kept free of PyAV so the API layer can validate a request (format, rate) before
any encoder exists.
"""

from __future__ import annotations

from enum import StrEnum

from polyvox.errors import InvalidArgument

SUPPORTED_SAMPLE_RATES_HZ: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
"""Rates the gateway will resample to; every format takes these unless its codec refuses."""


class OutputFormat(StrEnum):
    """Encoded audio formats; values match OpenAI's ``response_format``."""

    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    FLAC = "flac"
    WAV = "wav"
    PCM = "pcm"

    @property
    def content_type(self) -> str:
        """The HTTP ``Content-Type`` of a response in this format."""
        return _CONTENT_TYPES[self]


_CONTENT_TYPES: dict[OutputFormat, str] = {
    OutputFormat.MP3: "audio/mpeg",
    # Opus travels in an Ogg container (RFC 7845); audio/ogg names the container.
    OutputFormat.OPUS: "audio/ogg",
    # Raw AAC in ADTS framing, which is what audio/aac means to browsers.
    OutputFormat.AAC: "audio/aac",
    OutputFormat.FLAC: "audio/flac",
    OutputFormat.WAV: "audio/wav",
    # Not audio/L16: RFC 2586 defines L16 as big-endian, and this stream is s16le.
    OutputFormat.PCM: "application/octet-stream",
}

# Rates a codec accepts, where that is narrower than "any rate".
# libopus only runs at these rates: https://opus-codec.org/docs/opus_api-1.3.1/group__opus__encoder.html
_CODEC_SAMPLE_RATES_HZ: dict[OutputFormat, frozenset[int]] = {
    OutputFormat.OPUS: frozenset({8000, 12000, 16000, 24000, 48000}),
}


def parse_output_format(value: OutputFormat | str) -> OutputFormat:
    """Turn a client's format name into an :class:`OutputFormat`, or explain the choices."""
    try:
        return OutputFormat(value)
    except ValueError:
        choices = ", ".join(fmt.value for fmt in OutputFormat)
        raise InvalidArgument(
            f"unsupported audio format {value!r}; choose one of: {choices}"
        ) from None


def sample_rates_hz(fmt: OutputFormat) -> tuple[int, ...]:
    """The supported rates ``fmt`` can be encoded at, ascending."""
    codec_rates_hz = _CODEC_SAMPLE_RATES_HZ.get(fmt)
    if codec_rates_hz is None:
        return SUPPORTED_SAMPLE_RATES_HZ
    return tuple(rate for rate in SUPPORTED_SAMPLE_RATES_HZ if rate in codec_rates_hz)


def check_sample_rate(fmt: OutputFormat, sample_rate_hz: int) -> None:
    """Raise :class:`InvalidArgument` naming the valid rates if ``fmt`` cannot use this rate."""
    valid_hz = sample_rates_hz(fmt)
    if sample_rate_hz in valid_hz:
        return
    choices = ", ".join(str(rate) for rate in valid_hz)
    if sample_rate_hz in SUPPORTED_SAMPLE_RATES_HZ:
        reason = f"the {fmt.value} codec cannot encode at {sample_rate_hz} Hz"
    else:
        reason = f"unsupported sample rate {sample_rate_hz} Hz"
    raise InvalidArgument(f"{reason}; for {fmt.value} choose one of: {choices} Hz")
