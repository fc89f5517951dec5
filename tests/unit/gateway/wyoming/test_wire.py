"""Reading Wyoming events without trusting them, and converting their audio."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from polyvox.errors import InvalidArgument
from polyvox.gateway.wyoming.asr import pcm_to_float
from polyvox.gateway.wyoming.wire import BadEvent, LostSync, read_event


def reader(data: bytes) -> asyncio.StreamReader:
    stream = asyncio.StreamReader()
    stream.feed_data(data)
    stream.feed_eof()
    return stream


async def test_an_event_with_data_and_payload() -> None:
    line = b'{"type": "audio-chunk", "data": {"rate": 16000}, "data_length": 27, '
    line += b'"payload_length": 2}\n{"width": 2, "channels": 1}\x01\x02'
    stream = reader(line)
    event = await read_event(stream)
    assert event is not None
    assert (event.type, event.data, event.payload) == (
        "audio-chunk",
        {"rate": 16000, "width": 2, "channels": 1},
        b"\x01\x02",
    )
    assert await read_event(stream) is None


@pytest.mark.parametrize(
    "line",
    [
        b'{"type": "synthesize", "data": null}\n',
        b"not json\n",
        b"[1, 2]\n",
        b'{"data": {}}\n',
        b'{"type": "x", "data": "text"}\n',
        b"\n",
    ],
)
async def test_a_bad_event_is_an_error_and_reading_goes_on(line: bytes) -> None:
    stream = reader(line + b'{"type": "describe"}\n')
    with pytest.raises(BadEvent):
        await read_event(stream)
    event = await read_event(stream)
    assert event is not None
    assert event.type == "describe"


@pytest.mark.parametrize(
    "data",
    [
        b'{"type": "x", "payload_length": 99999999999}\n',
        b'{"type": "x", "payload_length": -1}\n',
        b'{"type": "x", "payload_length": 10}\nshort',
        b'{"type": "x"',
    ],
)
async def test_a_stream_that_cannot_be_followed_ends(data: bytes) -> None:
    with pytest.raises(LostSync):
        await read_event(reader(data))


def test_pcm_of_any_width_and_channels_becomes_mono_float() -> None:
    stereo16 = np.array([[16384, -16384], [32767, 32767]], "<i2").tobytes()
    np.testing.assert_allclose(pcm_to_float(stereo16, width=2, channels=2), [0, 32767 / 32768])
    unsigned8 = bytes([128, 255, 0])
    np.testing.assert_allclose(pcm_to_float(unsigned8, width=1, channels=1), [0, 127 / 128, -1])
    s24 = (2**22).to_bytes(3, "little", signed=True) + (-(2**23)).to_bytes(3, "little", signed=True)
    np.testing.assert_allclose(pcm_to_float(s24, width=3, channels=1), [0.5, -1.0])
    s32 = np.array([2**30], "<i4").tobytes()
    np.testing.assert_allclose(pcm_to_float(s32, width=4, channels=1), [0.5])
    with pytest.raises(InvalidArgument, match="whole number"):
        pcm_to_float(b"\x00\x00\x00", width=2, channels=1)
    with pytest.raises(InvalidArgument, match="not pcm"):
        pcm_to_float(b"", width=5, channels=1)
