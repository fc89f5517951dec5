"""request_timeout_s: a 504 before the first byte, an ended stream after it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from polyvox.gateway.deadline import Deadline
from polyvox.gateway.errors import ApiError
from polyvox.gateway.sse import sse_events


async def test_no_timeout_waits_as_long_as_it_takes() -> None:
    assert await Deadline(None).run(asyncio.sleep(0.01, result="done")) == "done"


async def test_past_the_deadline_the_wait_is_cancelled_with_a_504() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(ApiError) as timed_out:
        await Deadline(0.01).run(slow())
    assert started.is_set()
    assert cancelled.is_set()
    assert (timed_out.value.status, timed_out.value.code) == (504, "timeout")
    assert "0.01 s" in timed_out.value.message


async def test_a_stream_past_the_deadline_ends_with_the_error_and_is_closed() -> None:
    closed = asyncio.Event()
    never = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            yield b"second"
            await never.wait()  # a worker that stalls
            yield b"never"
        finally:
            closed.set()

    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in Deadline(0.05).iterate(chunks()):
            received.append(chunk)

    with pytest.raises(ApiError):
        await consume()
    assert received == [b"first", b"second"]
    assert closed.is_set()


async def test_a_finished_stream_is_not_cut() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"a", b"b"):
            yield part

    assert [c async for c in Deadline(60).iterate(chunks())] == [b"a", b"b"]


async def test_sse_stream_ends_with_an_error_event() -> None:
    async def audio() -> AsyncIterator[bytes]:
        yield b"\x00\x01"
        raise ApiError(504, "too slow", code="timeout")

    events = [json.loads(e.removeprefix(b"data: ")) async for e in sse_events(audio())]
    assert [e["type"] for e in events] == ["speech.audio.delta", "error"]
    assert events[-1]["error"]["code"] == "timeout"
    assert events[-1]["error"]["type"] == "server_error"
