"""Who a worker lets in: open streams (sessions) and working streams (capacity).

Voice agents hold a stream open for a whole conversation and are silent most of the
time, so the two are bounded apart. A stream holds a *session* from open to close
(bounded by ``max_sessions``, thousands) and a *work slot* only while it works: while
it synthesizes a turn's segments, or decodes a transcript (bounded by ``capacity``,
what the cores can serve). A new stream whose first turn finds no slot is refused at
once, so the gateway can try another replica; a later turn of an open stream waits for
a slot, first come first served, because its conversation is bound to this worker.

Slots are also bounded by speed: every working stream's listener needs its audio in
real time, so with a measured real-time factor ``rtf`` (seconds of compute per second
of audio) the worker serves about ``1 / rtf`` streams at once. Past ``max_realtime_load``
of that, a new turn gets no slot even below ``capacity``: it waits (or, a new stream,
waits in the gateway's line) instead of making every stream fall behind.
Until the first steps have measured it, a worker lets two streams per inference thread
work (a slow start), so a burst on a fresh worker does not begin past what it can serve.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Iterator

from polyvox.errors import ResourceExhausted, Unavailable

#: Slots per inference thread before the worker's speed is measured.
_UNMEASURED_SLOTS = 2
#: How long a refusal says "newcomers are being turned away" (the gateway's line
#: retries at each stream end, more often than this in a burst).
_REFUSALS_REMEMBERED_S = 1.0


class WorkSlot:
    """One of ``capacity`` slots, held while a stream works; release it exactly once."""

    def __init__(self, admission: Admission) -> None:
        self._admission: Admission | None = admission

    def release(self) -> None:
        if self._admission is not None:
            admission, self._admission = self._admission, None
            admission._release_slot()


class SpeedMeter:
    """The worker's real-time factor, as a moving average over its synthesis steps."""

    def __init__(self, *, weight: float = 0.1) -> None:
        self._weight = weight
        self.real_time_factor: float | None = None

    def record(self, compute_s: float, audio_s: float) -> None:
        if audio_s <= 0:
            return
        rtf = compute_s / audio_s
        previous = self.real_time_factor
        self.real_time_factor = (
            rtf if previous is None else previous + self._weight * (rtf - previous)
        )


class Admission:
    def __init__(
        self,
        *,
        capacity: int,
        max_sessions: int,
        max_realtime_load: float | None = None,
        inference_threads: int = 1,
        speed: SpeedMeter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._refused_at_s: float | None = None
        self.max_capacity = capacity
        self._inference_threads = inference_threads
        self.max_sessions = max_sessions
        self.max_realtime_load = max_realtime_load
        self.speed = speed or SpeedMeter()
        self.sessions = 0
        self.working = 0
        self.draining = False
        #: Set while no stream is open (a draining worker waits for it).
        self.idle = asyncio.Event()
        self.idle.set()
        self._waiters: collections.deque[asyncio.Future[WorkSlot]] = collections.deque()

    @property
    def capacity(self) -> int:
        """Slots now: ``capacity``, or fewer when the measured speed cannot keep that many
        listeners in real time (never fewer than one)."""
        rtf = self.speed.real_time_factor
        if self.max_realtime_load is None:
            return self.max_capacity
        if not rtf:
            # Speed not measured yet (the first steps measure it): a burst on a fresh
            # worker would otherwise start ``capacity`` streams that all run dry.
            return min(self.max_capacity, _UNMEASURED_SLOTS * self._inference_threads)
        served = self.max_realtime_load * self._inference_threads / rtf
        return max(1, min(self.max_capacity, int(served)))

    @property
    def waiting(self) -> int:
        """Turns of open streams waiting for a slot now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Hold one session while a stream is open, or refuse: draining, or full."""
        if self.draining:
            raise Unavailable("worker is shutting down")
        if self.sessions >= self.max_sessions:
            raise ResourceExhausted(
                f"worker has {self.max_sessions} streams open, its limit; retry shortly"
            )
        self.sessions += 1
        self.idle.clear()
        try:
            yield
        finally:
            self.sessions -= 1
            if self.sessions == 0:
                self.idle.set()

    def note_refusal(self) -> None:
        """A new stream was just turned away or held back (here, or by a caller's rule)."""
        self._refused_at_s = self._clock()

    def refused_lately(self) -> bool:
        """Whether a new stream was turned away or held back within the last
        ``_REFUSALS_REMEMBERED_S``."""
        refused_at_s = self._refused_at_s
        return refused_at_s is not None and self._clock() - refused_at_s < _REFUSALS_REMEMBERED_S

    def try_work(self) -> WorkSlot:
        """A slot now, or RESOURCE_EXHAUSTED (a new stream's first turn)."""
        if self.working >= self.capacity or self.waiting:
            self.note_refusal()
            raise ResourceExhausted(
                f"worker is at capacity ({self.working} streams working); retry shortly"
            )
        self.working += 1
        return WorkSlot(self)

    def try_work_or_none(self) -> WorkSlot | None:
        """A slot if one is free now, without waiting (work that can be skipped)."""
        with contextlib.suppress(ResourceExhausted):
            return self.try_work()
        return None

    async def work(self) -> WorkSlot:
        """A slot, waiting in line for one (a later turn of an open stream)."""
        if self.working < self.capacity and not self.waiting:
            self.working += 1
            return WorkSlot(self)
        waiter: asyncio.Future[WorkSlot] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Granted in the same moment the stream went away: pass the slot on.
            if waiter.done() and not waiter.cancelled():
                waiter.result().release()
            raise

    def _release_slot(self) -> None:
        # With fewer slots than streams working (the speed bound fell), the slot goes.
        if self.working <= self.capacity:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(WorkSlot(self))  # the slot moves on
                    return
        self.working -= 1
