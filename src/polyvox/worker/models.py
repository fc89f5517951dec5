"""Model manager: load on first use, share concurrent loads, evict by TTL and LRU.

Policy (``LifecycleSettings``):

- a model loads on first use; concurrent requests for a loading model share the load;
  at most ``max_parallel_loads`` loads run at once; a model counts as resident only
  after its warmup. A load is a task the manager owns: a request that goes away while
  it waits only stops waiting, and the load finishes (and the model stays resident)
  for the others and for the next request;
- an idle model is evicted ``ttl_s`` after its last use, never before it has been
  resident ``min_residency_s``; a model in use is never evicted;
- loading beyond ``resident_cap`` evicts the least recently used evictable model, or
  fails with RESOURCE_EXHAUSTED when none is (all busy, pinned or too young);
- pinned models (the worker's preload list) are exempt from both evictions.

Time comes from an injected clock so the policy is tested without sleeping.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from polyvox.contract.types import ModelInfo
from polyvox.engines.base import Engine, LoadedModel
from polyvox.errors import ModelBusy, NotFound, ResourceExhausted
from polyvox.worker.settings import LifecycleSettings

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


def _release_heap_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise).

    Measured in bench/memory.py: without the trim, RSS after unloading stays near its
    loaded level even though the model's objects are gone.
    """
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _retrieve_exception(task: asyncio.Task[ResidentModel]) -> None:
    """Mark a failed load's exception retrieved: its waiters may all have gone away."""
    if not task.cancelled():
        task.exception()


class ModelManager:
    def __init__(
        self,
        *,
        engine: Engine,
        executor: Executor,
        lifecycle: LifecycleSettings | None = None,
        pinned: frozenset[str] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._executor = executor
        self.lifecycle = lifecycle or LifecycleSettings()
        self._pinned = pinned
        self._clock = clock
        self._catalog: dict[str, ModelInfo] = {m.id: m for m in engine.list_models()}
        self._resident: dict[str, ResidentModel] = {}
        self._loading: dict[str, asyncio.Task[ResidentModel]] = {}
        self._load_slots = asyncio.Semaphore(self.lifecycle.max_parallel_loads)
        #: Loads past _make_room and not yet resident: they hold a place under the cap.
        self._loads_running = 0
        # Counters for metrics; monotonic over the worker's life.
        self.loads_total = 0
        self.load_seconds_total = 0.0
        self.evictions_total = 0

    @property
    def catalog(self) -> dict[str, ModelInfo]:
        return self._catalog

    @property
    def resident(self) -> dict[str, ResidentModel]:
        return self._resident

    @property
    def loading(self) -> list[str]:
        return list(self._loading)

    def info(self, model_id: str) -> ModelInfo:
        try:
            return self._catalog[model_id]
        except KeyError:
            raise NotFound(
                f"engine {self._engine.name!r} has no model {model_id!r}; "
                f"available models: {', '.join(self._catalog) or 'none'}"
            ) from None

    def expires_at_s(self, model_id: str) -> float:
        """When the model becomes evictable for idleness; 0 when it never will as is."""
        resident = self._resident[model_id]
        if self.lifecycle.ttl_s is None or resident.in_flight or model_id in self._pinned:
            return 0.0
        return max(
            resident.last_used_at_s + self.lifecycle.ttl_s,
            resident.loaded_at_s + self.lifecycle.min_residency_s,
        )

    async def load(self, model_id: str) -> float:
        """Make ``model_id`` resident; return the seconds it took (0 if already resident)."""
        if model_id in self._resident:
            self._resident[model_id].last_used_at_s = self._clock()
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
        task = self._loading.get(model_id)
        if task is None:
            task = asyncio.create_task(self._load(model_id), name=f"load-{model_id}")
            self._loading[model_id] = task
            task.add_done_callback(_retrieve_exception)
        # Shielded: a waiter cancelled (its client left) stops waiting; the load goes on.
        return await asyncio.shield(task)

    async def _load(self, model_id: str) -> ResidentModel:
        try:
            async with self._load_slots:
                await self._make_room()
                self._loads_running += 1
                try:
                    started = time.perf_counter()
                    model = await asyncio.get_running_loop().run_in_executor(
                        self._executor, self._load_and_warm, model_id
                    )
                finally:
                    self._loads_running -= 1
            duration_s = time.perf_counter() - started
            now = self._clock()
            resident = ResidentModel(model=model, loaded_at_s=now, last_used_at_s=now)
            self._resident[model_id] = resident
            self.loads_total += 1
            self.load_seconds_total += duration_s
            logger.info("loaded %s in %.2f s", model_id, duration_s)
            return resident
        finally:
            del self._loading[model_id]

    def _load_and_warm(self, model_id: str) -> LoadedModel:
        model = self._engine.load(model_id)
        if self.lifecycle.warmup:
            started = time.perf_counter()
            try:
                model.warmup()
            except Exception:
                model.close()
                raise
            logger.info("warmed up %s in %.2f s", model_id, time.perf_counter() - started)
        return model

    def _evictable(self, model_id: str, now: float) -> bool:
        resident = self._resident[model_id]
        return (
            not resident.in_flight
            and model_id not in self._pinned
            and now - resident.loaded_at_s >= self.lifecycle.min_residency_s
        )

    async def _make_room(self) -> None:
        """Evict least recently used models until one more fits under the cap."""
        while len(self._resident) + self._loads_running >= self.lifecycle.resident_cap:
            now = self._clock()
            candidates = [m for m in self._resident if self._evictable(m, now)]
            if not candidates:
                raise ResourceExhausted(
                    f"{len(self._resident) + self._loads_running} models are resident or "
                    f"loading (the cap is "
                    f"{self.lifecycle.resident_cap}) and none can be evicted now; retry later"
                )
            victim = min(candidates, key=lambda m: self._resident[m].last_used_at_s)
            await self._evict(victim, reason="resident cap")

    async def evict_expired(self) -> list[str]:
        """Evict every idle model whose TTL has passed; return their ids."""
        now = self._clock()
        expired = [
            model_id
            for model_id in self._resident
            if self._evictable(model_id, now) and 0 < self.expires_at_s(model_id) <= now
        ]
        for model_id in expired:
            await self._evict(model_id, reason="idle")
        return expired

    async def run_eviction(self, interval_s: float) -> None:
        """Check TTLs every ``interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.evict_expired()
            except Exception:
                logger.exception("eviction check failed")

    async def _evict(self, model_id: str, *, reason: str) -> None:
        resident = self._resident.pop(model_id)
        await asyncio.get_running_loop().run_in_executor(self._executor, resident.model.close)
        del resident
        await asyncio.get_running_loop().run_in_executor(self._executor, _release_heap_memory)
        self.evictions_total += 1
        logger.info("evicted %s (%s)", model_id, reason)

    async def unload(self, model_id: str) -> bool:
        self.info(model_id)
        resident = self._resident.get(model_id)
        if resident is None:
            return False
        if resident.in_flight:
            raise ModelBusy(f"model {model_id!r} is serving {resident.in_flight} stream(s)")
        await self._evict(model_id, reason="unload requested")
        return True

    async def close(self) -> None:
        """Unload everything, in-flight or not: the worker is going away."""
        for task in list(self._loading.values()):
            task.cancel()
        for model_id, resident in list(self._resident.items()):
            del self._resident[model_id]
            await asyncio.get_running_loop().run_in_executor(self._executor, resident.model.close)
