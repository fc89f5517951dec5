"""Earliest-deadline-first ordering, checked on state (the order steps ran), not on timing."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from polyvox.errors import ResourceExhausted
from polyvox.worker.scheduler import DeadlineScheduler, PlaybackClock


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition`` holds (bounded: a bug fails, not hangs)."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def occupy(scheduler: DeadlineScheduler, gate: threading.Event) -> asyncio.Task[object]:
    """Start a step that holds the only runner until ``gate`` is set."""
    return asyncio.create_task(scheduler.run(gate.wait, deadline_s=0))


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


async def test_steps_run_earliest_deadline_first() -> None:
    ran: list[str] = []
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        scheduler = DeadlineScheduler(executor=pool, concurrency=1, max_queued=10)
        scheduler.start()
        # Occupy the only runner so the rest queue up together.
        blocker = occupy(scheduler, gate)
        await until(lambda: scheduler.running == 1)
        deadlines = {
            "running-late": 105.0,
            "new-stream": 100.0,
            "running-soon": 101.5,
            "tie": 101.5,
        }
        tasks = [
            asyncio.create_task(scheduler.run(lambda n=name: ran.append(n), deadline_s=deadline))
            for name, deadline in deadlines.items()
        ]
        await until(lambda: scheduler.queued == len(deadlines))
        gate.set()
        await asyncio.gather(blocker, *tasks)
        await scheduler.stop()
    # Equal deadlines keep their arrival order.
    assert ran == ["new-stream", "running-soon", "tie", "running-late"]


async def test_full_queue_is_refused_and_errors_reach_the_caller() -> None:
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        scheduler = DeadlineScheduler(executor=pool, concurrency=1, max_queued=2)
        scheduler.start()
        blocker = occupy(scheduler, gate)
        await until(lambda: scheduler.running == 1)
        queued = [asyncio.create_task(scheduler.run(lambda: 1, deadline_s=1)) for _ in range(2)]
        await until(lambda: scheduler.queued == 2)
        with pytest.raises(ResourceExhausted, match="queue is full"):
            await scheduler.run(lambda: 1, deadline_s=0)
        gate.set()
        assert await asyncio.gather(*queued) == [1, 1]

        def fail() -> None:
            raise ValueError("engine failed")

        with pytest.raises(ValueError, match="engine failed"):
            await scheduler.run(fail, deadline_s=0)
        await blocker
        await scheduler.stop()


async def test_cancelled_waiter_is_skipped() -> None:
    ran: list[str] = []
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        scheduler = DeadlineScheduler(executor=pool, concurrency=1)
        scheduler.start()
        blocker = occupy(scheduler, gate)
        await until(lambda: scheduler.running == 1)
        gone = asyncio.create_task(scheduler.run(lambda: ran.append("gone"), deadline_s=1))
        kept = asyncio.create_task(scheduler.run(lambda: ran.append("kept"), deadline_s=2))
        await until(lambda: scheduler.queued == 2)
        gone.cancel()
        gate.set()
        await asyncio.gather(blocker, kept)
        await scheduler.stop()
    assert ran == ["kept"]


class Work:
    """A step whose lifetime a weak reference can watch (a model's synthesis, in the worker)."""

    def __call__(self) -> str:
        return "done"


async def test_an_idle_runner_keeps_no_reference_to_the_work_it_ran() -> None:
    with ThreadPoolExecutor(1) as pool:
        scheduler = DeadlineScheduler(executor=pool, concurrency=1)
        scheduler.start()
        work = Work()
        watch = weakref.ref(work)
        assert await scheduler.run(work, deadline_s=0) == "done"
        del work
        gc.collect()
        # Otherwise a model unloaded after its last stream stayed in memory (its
        # sessions held by the last step), until the runner took another step.
        assert watch() is None
        await scheduler.stop()


def test_playback_clock_deadlines() -> None:
    clock = FakeClock()
    playback = PlaybackClock(clock=clock)
    assert playback.next_deadline_s() == 100.0  # a new stream is due now
    playback.sent(1.5)  # first audio goes out at t=100
    clock.now_s = 100.4
    assert playback.next_deadline_s() == 101.5  # when 1.5 s of audio has played
    playback.sent(2.0)
    assert playback.next_deadline_s() == 103.5


async def test_steps_of_one_model_never_run_at_once_whatever_the_runners() -> None:
    """Two runners: steps for model "a" take turns; a step for "b" runs beside them."""
    inside: dict[str, int] = {"a": 0, "b": 0}
    overlaps: list[str] = []
    order: list[str] = []
    a_started, release_a = threading.Event(), threading.Event()
    lock = threading.Lock()

    def step(key: str, name: str, wait: threading.Event | None = None) -> None:
        with lock:
            inside[key] += 1
            if inside[key] > 1:
                overlaps.append(name)
            order.append(name)
        if wait is not None:
            a_started.set()
            wait.wait(timeout=10)
        with lock:
            inside[key] -= 1

    with ThreadPoolExecutor(2) as pool:
        scheduler = DeadlineScheduler(executor=pool, concurrency=2)
        scheduler.start()
        first = asyncio.create_task(
            scheduler.run(lambda: step("a", "a1", release_a), deadline_s=0, exclusive="a")
        )
        await until(a_started.is_set)
        # Earliest deadline, but its model is busy: the free runner takes "b" instead.
        second = asyncio.create_task(
            scheduler.run(lambda: step("a", "a2"), deadline_s=0, exclusive="a")
        )
        other = asyncio.create_task(
            scheduler.run(lambda: step("b", "b1"), deadline_s=1, exclusive="b")
        )
        await other
        assert order == ["a1", "b1"]
        release_a.set()
        await asyncio.gather(first, second)
        await scheduler.stop()
    assert order == ["a1", "b1", "a2"]
    assert overlaps == []


async def test_a_step_due_soon_is_seen_until_it_runs_or_its_stream_goes() -> None:
    clock = FakeClock()
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        scheduler = DeadlineScheduler(executor=pool, clock=clock)
        scheduler.start()
        running = occupy(scheduler, gate)
        await until(lambda: scheduler.running == 1)
        assert not scheduler.due_within(0.1)  # a running step is no longer waiting
        later = asyncio.create_task(scheduler.run(lambda: "later", deadline_s=100.5))
        await until(lambda: scheduler.queued == 1)
        assert not scheduler.due_within(0.1)
        assert scheduler.due_within(0.6)
        clock.now_s = 100.45
        assert scheduler.due_within(0.1)
        later.cancel()  # its stream went away: nobody is waiting for it
        await until(later.done)
        assert not scheduler.due_within(0.1)
        gate.set()
        await running
        await scheduler.stop()
