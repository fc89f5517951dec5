"""Earliest-deadline-first scheduling of inference steps across concurrent streams.

Each step (produce a stream's next chunk of audio) carries a deadline: for a new
stream, now; for a running stream, the moment the audio already sent to it will
have finished playing. The runner always takes the earliest deadline, so a new
stream starts at once while running streams are served before they run dry.

A step may name an ``exclusive`` key (a model that takes one call at a time): no two
steps with the same key run at once, however many runners there are; a runner takes
the earliest step whose key is free instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from polyvox.errors import ResourceExhausted

T = TypeVar("T")


@dataclass(order=True)
class _Step:
    deadline_s: float
    sequence: int
    work: Callable[[], Any] = field(compare=False)
    done: asyncio.Future[Any] = field(compare=False)
    exclusive: Hashable | None = field(default=None, compare=False)


class DeadlineScheduler:
    """Runs blocking steps on ``executor``, ``concurrency`` at a time, earliest deadline first."""

    def __init__(
        self,
        *,
        executor: Executor,
        concurrency: int = 1,
        max_queued: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executor = executor
        self._concurrency = concurrency
        self._max_queued = max_queued
        self.clock = clock
        self._heap: list[_Step] = []
        self._sequence = itertools.count()
        self._wakeup = asyncio.Event()
        self._runners: list[asyncio.Task[None]] = []
        self._running = 0
        #: Exclusive keys of the steps running now.
        self._busy: set[Hashable] = set()
        #: Set (and replaced) each time a step ends: wakes none_due_within.
        self._step_ended = asyncio.Event()

    @property
    def queued(self) -> int:
        return len(self._heap)

    @property
    def running(self) -> int:
        return self._running

    def due_within(self, seconds: float) -> bool:
        """Whether a queued step is due within ``seconds`` (or overdue): a listener
        runs dry then unless that step runs first."""
        limit_s = self.clock() + seconds
        return any(s.deadline_s <= limit_s for s in self._heap if not s.done.cancelled())

    async def none_due_within(self, seconds: float, *, timeout_s: float) -> bool:
        """Wait until no queued step is due within ``seconds``; False if that takes
        longer than ``timeout_s``. Only a step ending makes a due step run (time
        passing makes more of them due), so the wait wakes at step ends."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + timeout_s
        while self.due_within(seconds):
            remaining_s = give_up_at - loop.time()
            if remaining_s <= 0:
                return False
            step_ended = self._step_ended
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(step_ended.wait(), remaining_s)
        return True

    def start(self) -> None:
        self._runners = [
            asyncio.create_task(self._run(), name=f"scheduler-{i}")
            for i in range(self._concurrency)
        ]

    async def stop(self) -> None:
        for runner in self._runners:
            runner.cancel()
        await asyncio.gather(*self._runners, return_exceptions=True)
        for step in self._heap:
            step.done.cancel()
        self._heap.clear()

    async def run(
        self, work: Callable[[], T], *, deadline_s: float, exclusive: Hashable | None = None
    ) -> T:
        """Queue ``work`` (blocking) and return its result once it has run.

        ``exclusive``: a key no other running step may hold at the same time.
        """
        if len(self._heap) >= self._max_queued:
            raise ResourceExhausted(f"inference queue is full ({self._max_queued} steps)")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        step = _Step(deadline_s, next(self._sequence), work, done, exclusive)
        heapq.heappush(self._heap, step)
        self._wakeup.set()
        return await done

    async def _run(self) -> None:
        while True:
            while (step := self._take()) is None:
                self._wakeup.clear()
                await self._wakeup.wait()
            # One call per step: its locals go with the call, so an idle runner pins
            # neither the last step's work nor what that holds (a model's sessions:
            # they would outlive the model's unload).
            await self._run_step(step)
            del step

    def _take(self) -> _Step | None:
        """The earliest step whose exclusive key is free; None when there is none."""
        held: list[_Step] = []
        found = None
        while self._heap:
            step = heapq.heappop(self._heap)
            if step.done.cancelled():
                continue  # its stream went away while it waited
            if step.exclusive is not None and step.exclusive in self._busy:
                held.append(step)
                continue
            found = step
            break
        for step in held:
            heapq.heappush(self._heap, step)
        return found

    async def _run_step(self, step: _Step) -> None:
        self._running += 1
        if step.exclusive is not None:
            self._busy.add(step.exclusive)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, step.work)
        except Exception as exc:
            if not step.done.cancelled():
                step.done.set_exception(exc)
        else:
            if not step.done.cancelled():
                step.done.set_result(result)
        finally:
            self._running -= 1
            self._step_ended.set()
            self._step_ended = asyncio.Event()
            if step.exclusive is not None:
                self._busy.discard(step.exclusive)
                # A step held back for this key may run now.
                self._wakeup.set()


@dataclass
class PlaybackClock:
    """When a stream's listener runs out of audio, assuming playback starts at first audio."""

    clock: Callable[[], float]
    first_audio_at_s: float | None = None
    audio_sent_s: float = 0.0

    def next_deadline_s(self) -> float:
        if self.first_audio_at_s is None:
            return self.clock()
        return self.first_audio_at_s + self.audio_sent_s

    def sent(self, duration_s: float) -> None:
        if self.first_audio_at_s is None:
            self.first_audio_at_s = self.clock()
        self.audio_sent_s += duration_s
