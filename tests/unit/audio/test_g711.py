"""G.711 µ-law / A-law through PyAV, checked code by code against the ITU formulas."""

from __future__ import annotations

import numpy as np
import pytest

from polyvox.audio.g711 import G711_SAMPLE_RATE_HZ, G711Law, g711_decode, g711_encode

ALL_CODES = bytes(range(256))


def mulaw_reference(code: int) -> int:
    """G.711 µ-law expansion as in the ITU/Sun reference (g711.c ``ulaw2linear``)."""
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def alaw_reference(code: int) -> int:
    """G.711 A-law expansion as in the ITU/Sun reference (g711.c ``alaw2linear``)."""
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    segment = (a & 0x70) >> 4
    if segment == 0:
        t += 8
    else:
        t = (t + 0x108) << (segment - 1)
    return t if a & 0x80 else -t


REFERENCE = {"mulaw": mulaw_reference, "alaw": alaw_reference}


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_every_code_decodes_to_the_reference_value(law: G711Law) -> None:
    decoded = g711_decode(ALL_CODES, law=law)
    assert decoded.dtype == np.float32
    expected = np.array([REFERENCE[law](code) for code in ALL_CODES]) / 32768.0
    np.testing.assert_array_equal(decoded, expected.astype(np.float32))


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_decoded_codes_encode_back_to_themselves(law: G711Law) -> None:
    again = g711_encode(g711_decode(ALL_CODES, law=law), law=law)
    mismatched = [(code, again[code]) for code in range(256) if again[code] != code]
    # µ-law has two zeros (+0 = 0xFF, -0 = 0x7F); both decode to 0, which encodes as +0.
    assert mismatched == ([(0x7F, 0xFF)] if law == "mulaw" else [])


@pytest.mark.parametrize(
    ("law", "silence", "plus_full", "minus_full"),
    [("mulaw", 0xFF, 0x80, 0x00), ("alaw", 0xD5, 0xAA, 0x2A)],
)
def test_silence_full_scale_and_clipping(
    law: G711Law, silence: int, plus_full: int, minus_full: int
) -> None:
    samples = np.array([0.0, 1.0, -1.0, 1.5, -7.0, np.nan], np.float32)
    encoded = g711_encode(samples, law=law)
    # Beyond full scale saturates at the largest code instead of wrapping around.
    assert list(encoded) == [silence, plus_full, minus_full, plus_full, minus_full, silence]


@pytest.mark.parametrize("law", ["mulaw", "alaw"])
def test_a_tone_survives_the_round_trip(law: G711Law) -> None:
    t = np.arange(G711_SAMPLE_RATE_HZ) / G711_SAMPLE_RATE_HZ
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    encoded = g711_encode(tone, law=law)
    assert len(encoded) == tone.size
    back = g711_decode(encoded, law=law)
    # Logarithmic companding keeps about 38 dB of signal-to-noise on a loud tone.
    snr_db = 10 * np.log10(np.sum(tone**2) / np.sum((back - tone) ** 2))
    assert snr_db > 30


def test_pieces_encode_like_the_whole() -> None:
    noise = np.random.default_rng(7).uniform(-1, 1, 1001).astype(np.float32)
    whole = g711_encode(noise, law="mulaw")
    assert g711_encode(noise[:333], law="mulaw") + g711_encode(noise[333:], law="mulaw") == whole


def test_empty_and_bad_input() -> None:
    assert g711_encode(np.zeros(0, np.float32), law="alaw") == b""
    assert g711_decode(b"", law="alaw").size == 0
    with pytest.raises(ValueError, match="mono"):
        g711_encode(np.zeros((2, 10), np.float32), law="mulaw")
    with pytest.raises(ValueError, match=r"unknown G\.711 law"):
        g711_decode(b"\x00", law="ulaw")  # type: ignore[arg-type]
