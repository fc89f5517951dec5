"""Gateway audio path: resample engine output to the client's rate, then encode it.

Both steps are stateful per request (one :class:`StreamResampler` and one
:class:`AudioEncoder` per stream) so chunk joins stay seamless.
"""

from __future__ import annotations

from polyvox.audio.encode import (
    AacEncoder,
    AudioEncoder,
    FlacEncoder,
    Mp3Encoder,
    OpusEncoder,
    PcmEncoder,
    PyAvEncoder,
    WavEncoder,
    create_encoder,
)
from polyvox.audio.formats import (
    SUPPORTED_SAMPLE_RATES_HZ,
    OutputFormat,
    check_sample_rate,
    parse_output_format,
    sample_rates_hz,
)
from polyvox.audio.frame import Framer
from polyvox.audio.resample import StreamResampler
from polyvox.audio.samples import float_to_int16

__all__ = [
    "SUPPORTED_SAMPLE_RATES_HZ",
    "AacEncoder",
    "AudioEncoder",
    "FlacEncoder",
    "Framer",
    "Mp3Encoder",
    "OpusEncoder",
    "OutputFormat",
    "PcmEncoder",
    "PyAvEncoder",
    "StreamResampler",
    "WavEncoder",
    "check_sample_rate",
    "create_encoder",
    "float_to_int16",
    "parse_output_format",
    "sample_rates_hz",
]
