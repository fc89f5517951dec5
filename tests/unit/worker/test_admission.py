"""Sessions and work slots: idle streams cost no capacity; later turns wait in line."""

from __future__ import annotations

import asyncio

import pytest

from polyvox.errors import ResourceExhausted, Unavailable
from polyvox.worker.admission import Admission


async def test_open_sessions_are_bounded_apart_from_working_ones() -> None:
    admission = Admission(capacity=2, max_sessions=3)
    with admission.session(), admission.session(), admission.session():
        assert admission.sessions == 3
        with pytest.raises(ResourceExhausted, match="3 streams open"), admission.session():
            pass
        # Three open, none working: a first turn gets a slot.
        slot = admission.try_work()
        assert admission.working == 1
        slot.release()
        slot.release()  # harmless
        assert admission.working == 0
    assert admission.sessions == 0
    assert admission.idle.is_set()


async def test_a_first_turn_past_capacity_is_refused_a_later_turn_waits() -> None:
    admission = Admission(capacity=1, max_sessions=10)
    held = admission.try_work()
    with pytest.raises(ResourceExhausted, match="1 streams working"):
        admission.try_work()
    assert admission.try_work_or_none() is None
    later = asyncio.create_task(admission.work())
    await asyncio.sleep(0)
    assert admission.waiting == 1
    # While a later turn waits, a new stream does not jump the line.
    with pytest.raises(ResourceExhausted):
        admission.try_work()
    held.release()
    granted = await later
    assert admission.working == 1
    granted.release()
    assert admission.working == 0


async def test_a_waiter_that_leaves_passes_nothing_on_and_keeps_nothing() -> None:
    admission = Admission(capacity=1, max_sessions=10)
    held = admission.try_work()
    gone = asyncio.create_task(admission.work())
    stays = asyncio.create_task(admission.work())
    await asyncio.sleep(0)
    gone.cancel()
    held.release()
    slot = await stays
    assert gone.cancelled()
    assert admission.working == 1
    slot.release()
    assert admission.working == 0


async def test_a_draining_worker_refuses_new_streams() -> None:
    admission = Admission(capacity=1, max_sessions=1)
    admission.draining = True
    with pytest.raises(Unavailable, match="shutting down"), admission.session():
        pass


async def test_fewer_streams_work_than_capacity_when_they_could_not_keep_real_time() -> None:
    admission = Admission(capacity=16, max_sessions=100, max_realtime_load=0.8)
    assert admission.capacity == 2  # nothing measured yet: a slow start
    for _ in range(50):
        admission.speed.record(compute_s=0.2, audio_s=1.0)  # five times faster than real time
    assert admission.capacity == 4  # 0.8 / 0.2
    slots = [admission.try_work() for _ in range(4)]
    with pytest.raises(ResourceExhausted):
        admission.try_work()
    later = asyncio.create_task(admission.work())
    await asyncio.sleep(0)
    for _ in range(50):  # the engine got slower: only two keep up now
        admission.speed.record(compute_s=0.4, audio_s=1.0)
    assert admission.capacity == 2
    slots[0].release()  # a slot over the new bound goes, it is not handed on
    slots[1].release()
    assert not later.done()
    slots[2].release()  # now below it: the waiting turn gets this one
    await later
    assert admission.working == 2
