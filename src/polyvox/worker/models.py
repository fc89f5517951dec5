"""Model manager: load on first use, share concurrent loads, track residency.

Full lifecycle policy (TTL, LRU cap, parallel-load cap) builds on this; here a
model stays resident until it is unloaded explicitly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from polyvox.engines.base import Engine, LoadedModel, ModelInfo
from polyvox.errors import ModelBusy, NotFound

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ResidentModel:
    model: LoadedModel
    loaded_at_s: float
    last_used_at_s: float
    in_flight: int = 0


@dataclass(slots=True)
class ModelLease:
    """A model checked out for one stream; releasing it updates usage stats."""

    manager: ModelManager
    model_id: str
    model: LoadedModel
    released: bool = field(default=False)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.manager._release(self.model_id)


class ModelManager:
    def __init__(
        self,
        *,
        engine: Engine,
        executor: Executor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._executor = executor
        self._clock = clock
        self._catalog: dict[str, ModelInfo] = {m.id: m for m in engine.list_models()}
        self._resident: dict[str, ResidentModel] = {}
        self._loading: dict[str, asyncio.Future[ResidentModel]] = {}

    @property
    def catalog(self) -> dict[str, ModelInfo]:
        return self._catalog

    @property
    def resident(self) -> dict[str, ResidentModel]:
        return self._resident

    def info(self, model_id: str) -> ModelInfo:
        try:
            return self._catalog[model_id]
        except KeyError:
            raise NotFound(
                f"engine {self._engine.name!r} has no model {model_id!r}; "
                f"available models: {', '.join(self._catalog) or 'none'}"
            ) from None

    async def load(self, model_id: str) -> float:
        """Make ``model_id`` resident; return the seconds it took (0 if already resident)."""
        if model_id in self._resident:
            return 0.0
        started = time.perf_counter()
        await self._ensure_loaded(model_id)
        return time.perf_counter() - started

    async def acquire(self, model_id: str) -> ModelLease:
        """Check out a model for one stream, loading it first if needed."""
        resident = await self._ensure_loaded(model_id)
        resident.in_flight += 1
        resident.last_used_at_s = self._clock()
        return ModelLease(manager=self, model_id=model_id, model=resident.model)

    def _release(self, model_id: str) -> None:
        resident = self._resident.get(model_id)
        if resident is not None:
            resident.in_flight -= 1
            resident.last_used_at_s = self._clock()

    async def _ensure_loaded(self, model_id: str) -> ResidentModel:
        self.info(model_id)
        if (resident := self._resident.get(model_id)) is not None:
            return resident
        if (pending := self._loading.get(model_id)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ResidentModel] = asyncio.get_running_loop().create_future()
        self._loading[model_id] = future
        try:
            started = time.perf_counter()
            model = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._engine.load, model_id
            )
            now = self._clock()
            resident = ResidentModel(model=model, loaded_at_s=now, last_used_at_s=now)
            self._resident[model_id] = resident
            logger.info("loaded %s in %.2f s", model_id, time.perf_counter() - started)
            future.set_result(resident)
            return resident
        except BaseException as exc:
            future.set_exception(exc)
            # Mark the exception retrieved: waiters may all have gone away.
            future.exception()
            raise
        finally:
            del self._loading[model_id]

    async def unload(self, model_id: str) -> bool:
        self.info(model_id)
        resident = self._resident.get(model_id)
        if resident is None:
            return False
        if resident.in_flight:
            raise ModelBusy(f"model {model_id!r} is serving {resident.in_flight} stream(s)")
        del self._resident[model_id]
        await asyncio.get_running_loop().run_in_executor(self._executor, resident.model.close)
        logger.info("unloaded %s", model_id)
        return True

    async def close(self) -> None:
        """Unload everything, in-flight or not: the worker is going away."""
        for model_id, resident in list(self._resident.items()):
            del self._resident[model_id]
            await asyncio.get_running_loop().run_in_executor(self._executor, resident.model.close)
