"""Reading Wyoming events from a client that may send anything, and writing them.

The ``wyoming`` package's reader returns None (as if the stream had ended) for a line
that is not JSON, and fails outright on ``"data": null``; here a bad event is a
:class:`BadEvent` (answered with an ``error`` event, then reading goes on) and only a
stream that cannot be followed any more (a length past the bounds, a cut-off payload)
ends the connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event, async_write_event

#: Longest JSON header line, extra data and payload one event may have.
MAX_LINE_BYTES = 64 * 1024
MAX_DATA_BYTES = 1024 * 1024
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024


class BadEvent(Exception):
    """An event that cannot be used; the stream can still be read after it."""


class LostSync(Exception):
    """The stream cannot be followed any more: the connection ends."""


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LostSync(f"{key} must be a non-negative integer")
    if value > limit:
        raise LostSync(f"{key} {value} is more than {limit} bytes")
    return value


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event; None at the end of the stream."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise LostSync("the stream ended inside an event") from None
    except asyncio.LimitOverrunError:
        raise LostSync(f"an event line is longer than {MAX_LINE_BYTES} bytes") from None
    if not line.strip():
        raise BadEvent("an empty line is not an event")
    try:
        header = json.loads(line)
    except ValueError:
        raise BadEvent("an event line must be a JSON object") from None
    if not isinstance(header, dict):
        raise BadEvent("an event line must be a JSON object")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    try:
        extra = await reader.readexactly(data_length) if data_length else b""
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        raise LostSync("the stream ended inside an event") from None
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadEvent("an event needs a 'type' string")
    data = header.get("data", {})
    if extra:
        try:
            more = json.loads(extra)
        except ValueError:
            raise BadEvent(f"{kind}: its data is not JSON") from None
        if not isinstance(more, dict) or not isinstance(data, dict | None):
            raise BadEvent(f"{kind}: its data must be a JSON object")
        data = {**(data or {}), **more}
    if data is None:
        raise BadEvent(f"{kind}: its data is null; send an object")
    if not isinstance(data, dict):
        raise BadEvent(f"{kind}: its data must be a JSON object")
    return Event(type=kind, data=data, payload=payload)


class Writer:
    """Writes whole events, one at a time (the audio task and errors share a socket)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._lock = asyncio.Lock()

    async def send(self, event: Event) -> None:
        async with self._lock:
            await async_write_event(event, self._writer)
