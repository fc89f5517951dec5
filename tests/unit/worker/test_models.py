"""The model manager against the real Piper engine."""

from __future__ import annotations

import asyncio
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
