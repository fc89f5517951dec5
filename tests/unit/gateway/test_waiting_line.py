"""The line in front of an engine: who gets in, in what order, and who is refused.

The workers are stood in for by a count of free slots (the line's own tests; the real
thing, with Piper, is in tests/integration/test_bursts.py). Assertions are on order
and state, not on time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from polyvox.config import LineSettings
from polyvox.errors import ResourceExhausted
from polyvox.gateway.waiting_line import LineFull, WaitingLine


class Slots:
    """Free capacity across an engine's workers; full means RESOURCE_EXHAUSTED."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.admitted: list[str] = []

    def attempt(self, name: str) -> Callable[[], asyncio.Future[str]]:
        async def start() -> str:
            if self.free <= 0:
                raise ResourceExhausted("worker is at capacity")
            self.free -= 1
            self.admitted.append(name)
            return name

        return start  # type: ignore[return-value]

    def end_one(self, line: WaitingLine) -> None:
        self.free += 1
        line.stream_ended()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_with_room_a_request_goes_straight_in() -> None:
    line, slots = WaitingLine("piper", LineSettings()), Slots(1)
    name, admitted = await line.admit(slots.attempt("a"))
    assert (name, admitted.waited_s, line.waiting) == ("a", 0.0, 0)


async def test_past_capacity_requests_wait_and_get_in_in_arrival_order() -> None:
    line, slots = WaitingLine("piper", LineSettings()), Slots(0)
    waiting = []
    for count, name in enumerate("abcd", start=1):
        waiting.append(asyncio.create_task(line.admit(slots.attempt(name))))
        await until(lambda count=count: line.waiting == count)
    for _ in "abcd":
        slots.end_one(line)
        await until(lambda: slots.free == 0)
    results = await asyncio.gather(*waiting)
    assert slots.admitted == ["a", "b", "c", "d"]
    assert [name for name, _ in results] == ["a", "b", "c", "d"]
    assert all(admitted.waited_s > 0 for _, admitted in results)
    assert line.waiting == 0


async def test_a_newcomer_does_not_overtake_those_waiting() -> None:
    line, slots = WaitingLine("piper", LineSettings()), Slots(0)
    first = asyncio.create_task(line.admit(slots.attempt("first")))
    await until(lambda: line.waiting == 1)
    slots.free = 1  # room appears (another gateway's stream ended) without a signal here
    late = asyncio.create_task(line.admit(slots.attempt("late")))
    await until(lambda: line.waiting == 2)  # it queued behind, it did not take the room
    await first
    slots.end_one(line)
    await late
    assert slots.admitted == ["first", "late"]


async def test_a_request_that_leaves_gives_its_place_up() -> None:
    line, slots = WaitingLine("piper", LineSettings()), Slots(0)
    gone = asyncio.create_task(line.admit(slots.attempt("gone")))
    stays = asyncio.create_task(line.admit(slots.attempt("stays")))
    await until(lambda: line.waiting == 2)
    gone.cancel()
    await until(lambda: line.waiting == 1)
    slots.end_one(line)
    assert (await stays)[0] == "stays"
    assert slots.admitted == ["stays"]


async def test_a_full_line_refuses_with_a_retry_after_from_how_fast_it_drains() -> None:
    now = [100.0]
    line = WaitingLine("piper", LineSettings(max_waiting=2), clock=lambda: now[0])
    slots = Slots(0)
    for _ in range(5):  # five streams ended, one every half second: 2 per second
        now[0] += 0.5
        line.stream_ended()
    # (those signals found nobody waiting)
    waiting = [asyncio.create_task(line.admit(slots.attempt(n))) for n in "ab"]
    await until(lambda: line.waiting == 2)
    with pytest.raises(LineFull) as refused:
        await line.admit(slots.attempt("c"))
    assert refused.value.status == 429
    assert refused.value.code == "queue_full"
    # Third in line, two streams ending a second: about a second and a half.
    assert refused.value.retry_after_s == pytest.approx(1.5, rel=0.2)
    assert refused.value.response().headers["retry-after"] == "2"
    for task in waiting:
        task.cancel()


async def test_a_wait_estimated_past_the_bound_is_refused_at_once() -> None:
    now = [0.0]
    line = WaitingLine("piper", LineSettings(max_wait_s=5), clock=lambda: now[0])
    for _ in range(3):  # a stream ends every 10 s: slow
        now[0] += 10
        line.stream_ended()
    with pytest.raises(LineFull, match="about 10 s, more than its bound of 5 s"):
        await line.admit(Slots(0).attempt("x"))


async def test_without_a_line_a_full_engine_refuses_at_once() -> None:
    line = WaitingLine("piper", LineSettings(max_waiting=0))
    with pytest.raises(ResourceExhausted):
        await line.admit(Slots(0).attempt("x"))


async def test_a_stream_that_ends_while_a_request_is_refused_lets_it_in_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The worker refused because a stream still held its slot, and that stream ended
    # before the request joined the line: nobody was in line to wake, so without
    # counting ends it would wait for the next end (or the periodic retry, disabled here).
    monkeypatch.setattr("polyvox.gateway.waiting_line._RETRY_S", 3600.0)
    line, slots = WaitingLine("piper", LineSettings()), Slots(0)

    async def refused_while_a_stream_ends() -> str:
        slots.end_one(line)  # the slot frees just after this worker said no
        raise ResourceExhausted("worker is at capacity")

    attempts = iter([refused_while_a_stream_ends, slots.attempt("a")])
    task = asyncio.create_task(line.admit(lambda: next(attempts)()))
    await until(task.done)
    name, _ = task.result()
    assert (name, line.waiting) == ("a", 0)
