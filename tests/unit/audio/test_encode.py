from __future__ import annotations

import io

import av
import numpy as np
import pytest
import soundfile as sf

from polyvox.audio import (
    SUPPORTED_SAMPLE_RATES_HZ,
    AudioEncoder,
    OutputFormat,
    create_encoder,
    float_to_int16,
    sample_rates_hz,
)
from polyvox.errors import InvalidArgument

TONE_HZ = 440.0

# ADTS and a streamed MP3 (no seekable output, so no LAME tag) cannot tell the
# decoder to drop the encoder's priming samples (aac 1024, lame ~1105) and the
# last frame's padding, so they decode longer by up to about two frames: 15 % of
# a 1 s clip at 8 kHz, hence this allowance on top of the 5 % tolerance.
_UNSIGNALLED_PADDING_SAMPLES = {OutputFormat.MP3: 1105 + 1152, OutputFormat.AAC: 1024 + 1024}

STREAM_CASES = [
    pytest.param(fmt, rate_hz, id=f"{fmt}-{rate_hz}")
    for fmt in OutputFormat
    for rate_hz in sample_rates_hz(fmt)
]
CONTAINER_FORMATS = [fmt for fmt in OutputFormat if fmt is not OutputFormat.PCM]


def _sine(rate_hz: int, *, duration_s: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t_s = np.arange(round(rate_hz * duration_s)) / rate_hz
    return (amplitude * np.sin(2 * np.pi * TONE_HZ * t_s)).astype(np.float32)


def _uneven_chunks(samples: np.ndarray, count: int = 37) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, samples.size), size=count - 1, replace=False))
    chunks = np.split(samples, cuts)
    chunks.insert(count // 2, samples[:0])  # an empty chunk must be harmless
    return chunks


def _encode(encoder: AudioEncoder, samples: np.ndarray) -> bytes:
    parts = [encoder.encode(chunk) for chunk in _uneven_chunks(samples)]
    parts.append(encoder.flush())
    return b"".join(parts)


def _decode_pyav(data: bytes) -> tuple[int, np.ndarray, bytes]:
    """Decode to mono float samples; also return the codec extradata (Opus header)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        parts = []
        for frame in container.decode(stream):
            array = frame.to_ndarray().reshape(-1)
            if np.issubdtype(array.dtype, np.integer):
                array = array / np.iinfo(array.dtype).max
            parts.append(array.astype(np.float32))
        extradata = bytes(stream.codec_context.extradata or b"")
        return stream.codec_context.sample_rate, np.concatenate(parts), extradata


def _decode(fmt: OutputFormat, data: bytes, rate_hz: int) -> tuple[int, np.ndarray]:
    if fmt is OutputFormat.PCM:
        return rate_hz, np.frombuffer(data, dtype="<i2") / 32767
    decoded_rate_hz, samples, extradata = _decode_pyav(data)
    if fmt is OutputFormat.OPUS:
        # Opus always decodes at 48 kHz; the rate it was fed is kept in the
        # OpusHead header (RFC 7845 section 5.1: bytes 12-15, little-endian).
        assert decoded_rate_hz == 48000
        assert extradata[:8] == b"OpusHead"
        assert int.from_bytes(extradata[12:16], "little") == rate_hz
    else:
        assert decoded_rate_hz == rate_hz
    return decoded_rate_hz, samples


def _tone_energy_share(samples: np.ndarray, rate_hz: int) -> tuple[float, float]:
    """Frequency of the strongest bin, and the share of energy within 20 Hz of the tone."""
    power = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs_hz = np.fft.rfftfreq(samples.size, 1 / rate_hz)
    near_tone = np.abs(freqs_hz - TONE_HZ) <= 20
    return float(freqs_hz[np.argmax(power)]), float(power[near_tone].sum() / power.sum())


def _assert_tone(samples: np.ndarray, rate_hz: int) -> None:
    peak_hz, share = _tone_energy_share(samples, rate_hz)
    assert peak_hz == pytest.approx(TONE_HZ, abs=3)
    assert share > 0.9


@pytest.mark.parametrize(("fmt", "rate_hz"), STREAM_CASES)
def test_streamed_round_trip(fmt: OutputFormat, rate_hz: int) -> None:
    encoder = create_encoder(fmt, sample_rate_hz=rate_hz)
    assert encoder.sample_rate_hz == rate_hz
    assert encoder.content_type == fmt.content_type

    data = _encode(encoder, _sine(rate_hz))
    decoded_rate_hz, samples = _decode(fmt, data, rate_hz)

    expected = decoded_rate_hz  # 1 s of audio
    allowance = _UNSIGNALLED_PADDING_SAMPLES.get(fmt, 0) * decoded_rate_hz // rate_hz
    assert 0.95 * expected <= samples.size <= 1.05 * expected + allowance
    _assert_tone(samples, decoded_rate_hz)


@pytest.mark.parametrize("fmt", CONTAINER_FORMATS)
@pytest.mark.parametrize("rate_hz", [8000, 48000])
def test_complete_file_round_trip(fmt: OutputFormat, rate_hz: int) -> None:
    encoder = create_encoder(fmt, sample_rate_hz=rate_hz, complete_file=True)
    sine = _sine(rate_hz)

    assert encoder.encode(sine) == b""  # held back: the muxer may still rewrite headers
    data = encoder.flush()
    decoded_rate_hz, samples = _decode(fmt, data, rate_hz)

    if fmt is OutputFormat.AAC:  # ADTS has nowhere to record its priming samples
        assert decoded_rate_hz <= samples.size <= decoded_rate_hz + 2048
    else:  # the gapless MP3 tag, Ogg granules and exact sizes give back exactly 1 s
        assert samples.size == decoded_rate_hz
    _assert_tone(samples, decoded_rate_hz)


@pytest.mark.parametrize("complete_file", [False, True], ids=["streamed", "complete"])
@pytest.mark.parametrize("rate_hz", [8000, 22050, 48000])
def test_wav_reads_with_soundfile(rate_hz: int, complete_file: bool) -> None:
    encoder = create_encoder(OutputFormat.WAV, sample_rate_hz=rate_hz, complete_file=complete_file)
    data = _encode(encoder, _sine(rate_hz))

    samples, read_rate_hz = sf.read(io.BytesIO(data), dtype="float32")
    assert read_rate_hz == rate_hz
    assert samples.size == rate_hz
    _assert_tone(samples, rate_hz)


def test_streamed_wav_header_sizes_are_unknown_marker() -> None:
    """A non-seekable WAV cannot be patched at the end, so FFmpeg writes 0xFFFFFFFF sizes."""
    data = _encode(create_encoder(OutputFormat.WAV, sample_rate_hz=16000), _sine(16000))

    assert data[:4] == b"RIFF"
    assert data[4:8] == b"\xff\xff\xff\xff"
    assert data[36:44] == b"data\xff\xff\xff\xff"  # canonical 44-byte header, no LIST chunk
    assert len(data) == 44 + 2 * 16000


@pytest.mark.parametrize("rate_hz", [8000, 44100])
def test_complete_flac_reads_with_soundfile(rate_hz: int) -> None:
    encoder = create_encoder(OutputFormat.FLAC, sample_rate_hz=rate_hz, complete_file=True)
    data = _encode(encoder, _sine(rate_hz))

    samples, read_rate_hz = sf.read(io.BytesIO(data), dtype="float32")
    assert read_rate_hz == rate_hz
    assert samples.size == rate_hz
    _assert_tone(samples, rate_hz)


@pytest.mark.parametrize("fmt", CONTAINER_FORMATS)
def test_first_bytes_arrive_before_flush(fmt: OutputFormat) -> None:
    rate_hz = 24000
    encoder = create_encoder(fmt, sample_rate_hz=rate_hz)
    half_second = _sine(rate_hz, duration_s=0.5)

    early = b"".join(encoder.encode(chunk) for chunk in _uneven_chunks(half_second, 25))

    # Not just a header: the bytes out so far already decode to real audio.
    decoded_rate_hz, samples, _ = _decode_pyav(early)
    assert samples.size >= 0.25 * decoded_rate_hz
    encoder.close()


@pytest.mark.parametrize("fmt", [OutputFormat.PCM, OutputFormat.WAV])
def test_clipping_saturates_without_wrapping(fmt: OutputFormat) -> None:
    rate_hz = 16000
    loud = _sine(rate_hz, amplitude=1.5)
    data = _encode(create_encoder(fmt, sample_rate_hz=rate_hz), loud)
    header_bytes = 44 if fmt is OutputFormat.WAV else 0
    pcm = np.frombuffer(data[header_bytes:], dtype="<i2")

    assert pcm.size == loud.size
    assert pcm[loud > 1].min() == 32767
    assert pcm[loud < -1].max() <= -32767
    nonzero = np.abs(loud) > 1e-3
    assert np.array_equal(np.sign(pcm[nonzero]), np.sign(loud[nonzero]))


def test_float_to_int16_handles_nan_and_inf() -> None:
    samples = np.array([np.nan, np.inf, -np.inf, 0.5, -2.0], dtype=np.float32)
    assert float_to_int16(samples).tolist() == [0, 32767, -32767, 16384, -32767]


def test_opus_refuses_rates_libopus_cannot_take() -> None:
    for rate_hz in (22050, 44100):
        with pytest.raises(InvalidArgument, match=r"8000, 16000, 24000, 48000 Hz") as info:
            create_encoder(OutputFormat.OPUS, sample_rate_hz=rate_hz)
        assert f"cannot encode at {rate_hz} Hz" in info.value.message


def test_unsupported_rate_names_the_valid_rates() -> None:
    with pytest.raises(InvalidArgument, match="11025") as info:
        create_encoder("mp3", sample_rate_hz=11025)
    assert ", ".join(map(str, SUPPORTED_SAMPLE_RATES_HZ)) in info.value.message


def test_unknown_format_names_the_valid_formats() -> None:
    with pytest.raises(InvalidArgument, match=r"mp3, opus, aac, flac, wav, pcm"):
        create_encoder("ogg", sample_rate_hz=24000)


def test_content_types() -> None:
    assert {fmt.value: fmt.content_type for fmt in OutputFormat} == {
        "mp3": "audio/mpeg",
        "opus": "audio/ogg",
        "aac": "audio/aac",
        "flac": "audio/flac",
        "wav": "audio/wav",
        "pcm": "application/octet-stream",
    }


def test_flush_ends_the_stream() -> None:
    encoder = create_encoder(OutputFormat.MP3, sample_rate_hz=24000)
    encoder.encode(_sine(24000, duration_s=0.1))
    assert encoder.flush()
    assert encoder.flush() == b""
    with pytest.raises(RuntimeError, match="flushed"):
        encoder.encode(_sine(24000, duration_s=0.1))


def test_rejects_multichannel_input() -> None:
    encoder = create_encoder(OutputFormat.FLAC, sample_rate_hz=24000)
    with pytest.raises(ValueError, match="mono"):
        encoder.encode(np.zeros((2, 480), dtype=np.float32))
    encoder.close()
