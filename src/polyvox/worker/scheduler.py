"""Earliest-deadline-first scheduling of inference steps across concurrent streams.

Each step (produce a stream's next chunk of audio) carries a deadline: for a new
stream, now; for a running stream, the moment the audio already sent to it will
have finished playing. The runner always takes the earliest deadline, so a new
stream starts at once while running streams are served before they run dry.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
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

    @property
    def queued(self) -> int:
        return len(self._heap)

    @property
    def running(self) -> int:
        return self._running

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

    async def run(self, work: Callable[[], T], *, deadline_s: float) -> T:
        """Queue ``work`` (blocking) and return its result once it has run."""
        if len(self._heap) >= self._max_queued:
            raise ResourceExhausted(f"inference queue is full ({self._max_queued} steps)")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, _Step(deadline_s, next(self._sequence), work, done))
        self._wakeup.set()
        return await done

    async def _run(self) -> None:
        while True:
            while not self._heap:
                self._wakeup.clear()
                await self._wakeup.wait()
            # One call per step: its locals go with the call, so an idle runner pins
            # neither the last step's work nor what that holds (a model's sessions:
            # they would outlive the model's unload).
            await self._run_step(heapq.heappop(self._heap))

    async def _run_step(self, step: _Step) -> None:
        if step.done.cancelled():
            return  # its stream went away while it waited
        self._running += 1
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
