"""Streaming encoders from float32 mono samples to the bytes of an output format.

One encoder per request: codecs and muxers keep state (frame remainder, encoder
delay, page/frame counters), so a request's chunks must all pass through the same
instance. Encoders hold no global state and may run in worker threads, one thread
at a time per instance.
"""

from __future__ import annotations

import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar, cast

import av
import av.error
import numpy as np
from av.audio.stream import AudioStream

from polyvox.audio.formats import OutputFormat, check_sample_rate, parse_output_format
from polyvox.audio.samples import as_mono_float32, float_to_int16

logger = logging.getLogger(__name__)


class AudioEncoder(ABC):
    """Turns float32 mono samples into an encoded stream, chunk by chunk.

    The bytes returned by all :meth:`encode` calls followed by :meth:`flush`,
    concatenated, form one complete stream or file. ``complete_file`` asks for a
    file with its headers filled in, at the cost of streaming; formats without
    headers (PCM) ignore it.
    """

    output_format: ClassVar[OutputFormat]
    channels: ClassVar[int] = 1

    def __init__(self, *, sample_rate_hz: int, complete_file: bool = False) -> None:
        check_sample_rate(self.output_format, sample_rate_hz)
        self.sample_rate_hz = sample_rate_hz
        self.content_type = self.output_format.content_type
        self.complete_file = complete_file

    @abstractmethod
    def encode(self, samples: np.ndarray) -> bytes:
        """Encode float32 mono samples at ``sample_rate_hz``; return the bytes ready so far."""

    @abstractmethod
    def flush(self) -> bytes:
        """End the stream and return its remaining bytes; later calls return b""."""

    def close(self) -> None:  # noqa: B027 -- optional hook; stateless encoders need nothing
        """Release resources without finishing the stream (e.g. the client went away)."""


class PcmEncoder(AudioEncoder):
    """Raw signed 16-bit little-endian mono, no header."""

    output_format = OutputFormat.PCM

    def encode(self, samples: np.ndarray) -> bytes:
        return float_to_int16(as_mono_float32(samples)).astype("<i2", copy=False).tobytes()

    def flush(self) -> bytes:
        return b""


@dataclass(frozen=True, slots=True)
class _PyAvSpec:
    muxer: str
    codec: str
    # A sample format the codec accepts, so PyAV has no format conversion to do.
    sample_format: str
    muxer_options: Mapping[str, str] = field(default_factory=dict)


class _StreamSink:
    """Write-only file object with no seek/tell, so PyAV gives muxers a non-seekable
    output and they write everything in order instead of patching headers later."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes | memoryview) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


class _FileSink(io.BytesIO):
    """Seekable in-memory file, so muxers can go back and fill in sizes and tags."""

    def close(self) -> None:
        # PyAV closes its file when the container closes; keep the bytes readable.
        pass

    def take(self) -> bytes:
        return self.getvalue()


class PyAvEncoder(AudioEncoder):
    """Encode with an FFmpeg codec and muxer through PyAV.

    By default output goes to a non-seekable sink and is returned as soon as the
    muxer writes it, so it can be streamed. Muxers then cannot patch their headers
    at the end: a WAV's size fields stay 0xFFFFFFFF (FFmpeg and libsndfile read to
    the end of data anyway), an MP3 gets no Xing/LAME tag (decoders then keep the
    ~1105-sample encoder delay and final-frame padding) and a FLAC's STREAMINFO
    has no sample count or MD5 (libsndfile cannot read it to the end).
    ``complete_file=True`` trades streaming for a correct file: it encodes into a
    seekable buffer and returns everything from :meth:`flush`.
    """

    _spec: ClassVar[_PyAvSpec]

    def __init__(self, *, sample_rate_hz: int, complete_file: bool = False) -> None:
        super().__init__(sample_rate_hz=sample_rate_hz, complete_file=complete_file)
        spec = self._spec
        self._sink: _StreamSink | _FileSink = _FileSink() if complete_file else _StreamSink()
        # flush_packets=1: hand each packet to the sink as soon as it is muxed rather
        # than rely on FFmpeg's default heuristic or PyAV's 32 KiB I/O buffer.
        options = {"flush_packets": "1", **spec.muxer_options}
        self._container = av.open(self._sink, mode="w", format=spec.muxer, options=options)
        self._stream = cast(
            AudioStream,
            self._container.add_stream(
                spec.codec, rate=sample_rate_hz, layout="mono", format=spec.sample_format
            ),
        )
        # Opens the codec (so frame_size is known) and writes the header now, so the
        # first encode() already has bytes to return.
        self._container.start_encoding()
        # 0 means the codec takes frames of any size (PCM); others need exact frames
        # (mp3 1152 or 576, aac 1024, opus 20 ms). Every codec here accepts a short
        # last frame (AV_CODEC_CAP_SMALL_LAST_FRAME), so flush() need not pad.
        # PyAV would also regroup inside encode() through a filter graph; doing it
        # here keeps pts exact and does not depend on that implementation detail.
        self._frame_size = self._stream.codec_context.frame_size
        self._fifo = av.AudioFifo()
        self._time_base = Fraction(1, sample_rate_hz)
        self._next_pts = 0
        self._finished = False

    def encode(self, samples: np.ndarray) -> bytes:
        if self._finished:
            raise RuntimeError("encoder already flushed or closed")
        mono = as_mono_float32(samples)
        if mono.size == 0:
            return self._ready_bytes()
        frame = self._to_frame(mono)
        if self._frame_size == 0:
            self._encode_frame(frame)
        else:
            self._fifo.write(frame)
            while self._fifo.samples >= self._frame_size:
                chunk = self._fifo.read(self._frame_size)
                assert chunk is not None  # the fifo holds at least frame_size samples
                self._encode_frame(chunk)
        return self._ready_bytes()

    def flush(self) -> bytes:
        if self._finished:
            return b""
        rest = self._fifo.read()
        if rest is not None:
            self._encode_frame(rest)
        # Drain the codec: mp3/aac/opus hold back look-ahead samples until told to end.
        self._mux(self._stream.encode(None))
        # Writes the trailer (last Ogg page, FLAC/WAV header fix-ups when seekable).
        self._container.close()
        self._finished = True
        return self._sink.take()

    def close(self) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            self._container.close()
        except av.error.FFmpegError:
            # The stream is being abandoned; its trailer is of no use to anyone.
            logger.debug("error closing abandoned %s encoder", self.output_format, exc_info=True)
        self._sink.take()

    def _to_frame(self, mono: np.ndarray) -> av.AudioFrame:
        if self._spec.sample_format == "s16":
            data = float_to_int16(mono)
        else:
            data = np.clip(mono, -1.0, 1.0)
        frame = av.AudioFrame.from_ndarray(
            data.reshape(1, -1), format=self._spec.sample_format, layout="mono"
        )
        frame.sample_rate = self.sample_rate_hz
        return frame

    def _encode_frame(self, frame: av.AudioFrame) -> None:
        frame.pts = self._next_pts
        frame.time_base = self._time_base
        self._next_pts += frame.samples
        self._mux(self._stream.encode(frame))

    def _mux(self, packets: Iterable[av.Packet]) -> None:
        for packet in packets:
            self._container.mux(packet)

    def _ready_bytes(self) -> bytes:
        # A complete file may still be rewritten by the muxer: release it only at flush.
        return b"" if self.complete_file else self._sink.take()


class Mp3Encoder(PyAvEncoder):
    output_format = OutputFormat.MP3
    _spec = _PyAvSpec(muxer="mp3", codec="libmp3lame", sample_format="fltp")


class OpusEncoder(PyAvEncoder):
    output_format = OutputFormat.OPUS
    # The Ogg muxer holds packets until a page spans page_duration (default 1 s).
    # 20 ms pages let each Opus frame out at once, at ~28 bytes of page header per
    # frame: worth it for time to first audio.
    _spec = _PyAvSpec(
        muxer="ogg",
        codec="libopus",
        sample_format="flt",
        muxer_options={"page_duration": "20000"},  # microseconds
    )


class AacEncoder(PyAvEncoder):
    output_format = OutputFormat.AAC
    _spec = _PyAvSpec(muxer="adts", codec="aac", sample_format="fltp")


class FlacEncoder(PyAvEncoder):
    output_format = OutputFormat.FLAC
    _spec = _PyAvSpec(muxer="flac", codec="flac", sample_format="s16")


class WavEncoder(PyAvEncoder):
    output_format = OutputFormat.WAV
    # bitexact drops the LIST/INFO "Lavf" chunk, leaving the canonical 44-byte
    # header that naive clients (and people stripping headers by hand) expect.
    _spec = _PyAvSpec(
        muxer="wav",
        codec="pcm_s16le",
        sample_format="s16",
        muxer_options={"fflags": "+bitexact"},
    )


_ENCODERS: dict[OutputFormat, type[AudioEncoder]] = {
    cls.output_format: cls
    for cls in (PcmEncoder, Mp3Encoder, OpusEncoder, AacEncoder, FlacEncoder, WavEncoder)
}


def create_encoder(
    fmt: OutputFormat | str, *, sample_rate_hz: int, complete_file: bool = False
) -> AudioEncoder:
    """Build a fresh encoder for one request.

    Raises :class:`~polyvox.errors.InvalidArgument` for an unknown format or a rate
    the format cannot carry. ``complete_file=True`` asks for a file whose headers
    are filled in (exact sizes, MP3 gapless tag, FLAC sample count), returned whole
    by ``flush()``; leave it off to stream.
    """
    output_format = parse_output_format(fmt)
    check_sample_rate(output_format, sample_rate_hz)
    return _ENCODERS[output_format](sample_rate_hz=sample_rate_hz, complete_file=complete_file)
