"""Hold a speech or transcription request to ``request_timeout_s``, from arrival to last byte.

Before the first byte the client gets a JSON 504; once headers are sent, the
stream ends with an error (an unfinished body; an ``error`` event for SSE).
Each wait for the next chunk is bounded separately, never a timeout held across
a ``yield``: a cancellation would then land in whatever the consumer is awaiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from polyvox.gateway.errors import ApiError

T = TypeVar("T")


class Deadline:
    def __init__(self, timeout_s: float | None) -> None:
        self.timeout_s = timeout_s
        self._at = None if timeout_s is None else asyncio.get_running_loop().time() + timeout_s

    def error(self) -> ApiError:
        return ApiError(
            504, f"the request did not finish within {self.timeout_s:g} s", code="timeout"
        )

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``; past the deadline it is cancelled and a 504 ApiError raised."""
        if self._at is None:
            return await awaitable
        try:
            async with asyncio.timeout_at(self._at):
                return await awaitable
        except TimeoutError:
            raise self.error() from None

    async def iterate(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """Yield from ``items``, each wait bounded by the deadline."""
        while True:
            try:
                item = await self.run(anext(items))
            except StopAsyncIteration:
                return
            yield item
