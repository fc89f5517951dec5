"""The model manager against the real Piper engine."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from polyvox.engines.base import SpeechModel
from polyvox.engines.piper import PiperEngine
from polyvox.errors import ModelBusy, NotFound
from polyvox.worker.models import ModelManager

MODEL = "en_US-joe-medium"


class CountingPiper(PiperEngine):
    loads = 0

    def load(self, model_id: str) -> SpeechModel:
        CountingPiper.loads += 1
        return super().load(model_id)


async def test_concurrent_requests_share_one_load() -> None:
    with ThreadPoolExecutor(2) as pool:
        manager = ModelManager(engine=CountingPiper(), executor=pool)
        leases = await asyncio.gather(*(manager.acquire(MODEL) for _ in range(4)))
        assert CountingPiper.loads == 1
        assert manager.resident[MODEL].in_flight == 4
        with pytest.raises(ModelBusy):
            await manager.unload(MODEL)
        for lease in leases:
            lease.release()
            lease.release()  # releasing twice is harmless
        assert manager.resident[MODEL].in_flight == 0
        assert await manager.unload(MODEL) is True
        assert MODEL not in manager.resident


async def test_unknown_model_names_the_available_ones() -> None:
    with ThreadPoolExecutor(1) as pool:
        manager = ModelManager(engine=PiperEngine(), executor=pool)
        with pytest.raises(NotFound, match=f"available models: {MODEL}"):
            await manager.acquire("en_GB-nobody-low")


class GatedPiper(PiperEngine):
    """Real Piper whose load waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()

    def load(self, model_id: str) -> SpeechModel:
        self.started.set()
        self.gate.wait(timeout=60)
        return super().load(model_id)


async def wait_for(event: threading.Event) -> None:
    for _ in range(10_000):  # bounded: a bug fails, it does not hang
        if event.is_set():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never happened")


async def test_a_waiter_that_leaves_does_not_fail_the_others_waiting_on_the_load() -> None:
    engine = GatedPiper()
    with ThreadPoolExecutor(2) as pool:
        manager = ModelManager(engine=engine, executor=pool)
        leaving = asyncio.create_task(manager.acquire(MODEL))
        staying = [asyncio.create_task(manager.acquire(MODEL)) for _ in range(2)]
        await wait_for(engine.started)
        leaving.cancel()  # its client hung up during the cold load
        engine.gate.set()
        leases = await asyncio.gather(*staying)
        assert leaving.cancelled()
        assert manager.loads_total == 1
        assert manager.resident[MODEL].in_flight == 2
        for lease in leases:
            lease.release()
        assert manager.loading == []


async def test_a_load_everyone_left_still_finishes_and_stays_resident() -> None:
    engine = GatedPiper()
    with ThreadPoolExecutor(2) as pool:
        manager = ModelManager(engine=engine, executor=pool)
        gone = asyncio.create_task(manager.acquire(MODEL))
        await wait_for(engine.started)
        gone.cancel()
        engine.gate.set()
        for _ in range(10_000):
            if MODEL in manager.resident:
                break
            await asyncio.sleep(0.001)
        assert manager.resident[MODEL].in_flight == 0
        assert manager.loads_total == 1
        assert manager.loading == []
        # The next request finds it resident: no second load.
        (await manager.acquire(MODEL)).release()
        assert manager.loads_total == 1
