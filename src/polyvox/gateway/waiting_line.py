"""A line in front of each engine: past capacity, requests wait their turn instead of bouncing.

Only a worker knows whether it has room (it grants a work slot per stream turn), so the
line does not count slots: the request at its head tries to start its stream, and a
worker's RESOURCE_EXHAUSTED sends it back to wait, still at the head, for the next
stream of that engine to end (or a second, for capacity freed by other gateways). A
request that starts wakes the next one, which tries at once: capacity often frees for
several. A request waits only while nobody is ahead of it or the workers are full; it
holds nothing meanwhile (no worker stream, no encoder, no model).

Order: arrival order. Conversations (a WebSocket session's turns) do not wait here: a
session is bound to its worker, and a turn that finds that worker full waits in the
worker's own line, which a slot serves before any new stream, so a conversation never
waits behind a batch job. Each engine has its own line; one never blocks another.

Bounds: a request finding ``max_waiting`` ahead of it, or whose wait, estimated from
how fast the line has been draining, would pass ``max_wait_s``, is refused at once with
429 and a Retry-After from that same estimate; one still waiting at ``max_wait_s`` is
refused then.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from polyvox.config import LineSettings
from polyvox.errors import ResourceExhausted
from polyvox.gateway.errors import ApiError

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The head of a line tries again at least this often without a stream ending here:
#: capacity freed by another gateway's streams is seen this way.
_RETRY_S = 1.0
#: Stream ends remembered to measure how fast a line drains.
_DRAIN_WINDOW = 64


class LineFull(ApiError):
    """Refused: the line is full, or the wait would pass its bound."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(429, message, code="queue_full", retry_after_s=retry_after_s)


@dataclass(eq=False)
class _Waiter:
    sequence: int
    arrived_s: float
    turn: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class Admitted:
    """How a request got in: after how long in line (0 when it did not wait)."""

    waited_s: float


class WaitingLine:
    def __init__(
        self,
        engine: str,
        settings: LineSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_wait: Callable[[str, float], None] | None = None,
        on_refusal: Callable[[str, str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._clock = clock
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._sequence = itertools.count()
        self._ends: collections.deque[float] = collections.deque(maxlen=_DRAIN_WINDOW)
        #: Stream ends so far: an attempt that overlapped one tries again at once (the
        #: end may have freed the slot it was refused, with nobody in line to wake).
        self._ended = 0
        self._on_wait = on_wait or (lambda engine, waited_s: None)
        self._on_refusal = on_refusal or (lambda engine, reason: None)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def drain_per_s(self) -> float | None:
        """Streams of this engine that ended per second lately; None before two ends."""
        if len(self._ends) < 2:
            return None
        span_s = max(self._clock() - self._ends[0], 1e-3)
        return (len(self._ends) - 1) / span_s

    def estimated_wait_s(self, position: int) -> float | None:
        """How long the request at ``position`` (0: the head) may wait, from the drain."""
        rate = self.drain_per_s()
        return None if rate is None else (position + 1) / rate

    def stream_ended(self) -> None:
        """A stream of this engine ended: its slot may be free for the head of the line."""
        self._ends.append(self._clock())
        self._ended += 1
        self._wake_head()

    def _wake_head(self) -> None:
        if self._waiters:
            self._waiters[0].turn.set()

    def _refuse(self, reason: str, message: str, position: int) -> LineFull:
        self._on_refusal(self.engine, reason)
        estimate = self.estimated_wait_s(position)
        retry_after_s = self.settings.max_wait_s if estimate is None else estimate
        return LineFull(message, retry_after_s=min(retry_after_s, self.settings.max_wait_s))

    async def admit(self, attempt: Callable[[], Awaitable[T]]) -> tuple[T, Admitted]:
        """Run ``attempt`` (start a stream) when it is this request's turn.

        ``attempt`` raises ResourceExhausted when every worker is full; any other error
        is the request's own and propagates. Raises LineFull when refused.
        """
        ended_before = self._ended
        if not self._waiters:
            try:
                return await attempt(), Admitted(0.0)
            except ResourceExhausted:
                if not self.settings.max_waiting:
                    raise
        position = len(self._waiters)
        if position >= self.settings.max_waiting:
            raise self._refuse(
                "full",
                f"the {self.engine} line is full ({self.settings.max_waiting} requests waiting)",
                position,
            )
        estimate = self.estimated_wait_s(position)
        if estimate is not None and estimate > self.settings.max_wait_s:
            raise self._refuse(
                "too_long",
                f"the {self.engine} line would take about {estimate:.0f} s, more than its "
                f"bound of {self.settings.max_wait_s:g} s",
                position,
            )
        waiter = _Waiter(next(self._sequence), self._clock())
        self._waiters.append(waiter)
        try:
            result = await self._wait_and_try(waiter, attempt, ended_before)
        finally:
            self._waiters.remove(waiter)
            # Whoever is next tries now: it may find room too (or it waits as before).
            self._wake_head()
        waited_s = self._clock() - waiter.arrived_s
        self._on_wait(self.engine, waited_s)
        return result, Admitted(waited_s)

    async def _wait_and_try(
        self, waiter: _Waiter, attempt: Callable[[], Awaitable[T]], ended_before: int
    ) -> T:
        deadline_s = waiter.arrived_s + self.settings.max_wait_s
        while True:
            remaining_s = deadline_s - self._clock()
            if remaining_s <= 0:
                position = self._waiters.index(waiter)
                raise self._refuse(
                    "timeout",
                    f"waited {self.settings.max_wait_s:g} s in the {self.engine} line; "
                    "the workers are still full",
                    position,
                )
            at_head = self._waiters[0] is waiter
            if at_head and self._ended != ended_before:
                waiter.turn.set()  # a stream ended during the last attempt: try again now
            if not at_head or not waiter.turn.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.turn.wait(), min(remaining_s, _RETRY_S))
                if self._waiters[0] is not waiter:
                    waiter.turn.clear()  # woken as a former head: not its turn yet
                    continue
            waiter.turn.clear()
            ended_before = self._ended
            try:
                return await attempt()
            except ResourceExhausted:
                continue  # still full: stay at the head for the next stream's end


class Lines:
    """One line per engine, made on first use. ``on_wait`` (engine, seconds) hears each
    admitted request's wait, ``on_refusal`` (engine, reason) each refusal."""

    def __init__(self, default: LineSettings, per_engine: Mapping[str, LineSettings]) -> None:
        self._default = default
        self._per_engine = dict(per_engine)
        self._lines: dict[str, WaitingLine] = {}
        self.on_wait: Callable[[str, float], None] = lambda engine, waited_s: None
        self.on_refusal: Callable[[str, str], None] = lambda engine, reason: None

    def __getitem__(self, engine: str) -> WaitingLine:
        if engine not in self._lines:
            self._lines[engine] = WaitingLine(
                engine,
                self._per_engine.get(engine, self._default),
                on_wait=lambda engine, waited_s: self.on_wait(engine, waited_s),
                on_refusal=lambda engine, reason: self.on_refusal(engine, reason),
            )
        return self._lines[engine]

    def all(self) -> dict[str, WaitingLine]:
        return dict(self._lines)

    def stream_ended(self, engine: str) -> None:
        self[engine].stream_ended()
