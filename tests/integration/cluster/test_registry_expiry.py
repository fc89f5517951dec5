"""How a gateway judges workers from the registry, on a real Redis with a test clock:
a record gone while Redis answers drops its worker; while Redis is away nothing
expires; after an outage a known worker gets one TTL to beat again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from polyvox.contract.link import LinkCredentials
from polyvox.contract.record import WorkerRecord, worker_key
from polyvox.contract.types import ModelInfo, VoiceInfo, WorkerDescription
from polyvox.gateway.registry.redis import RedisRegistry, redacted
from support.redis_server import RedisServer
from support.servers import free_port

TTL_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(worker_id: str, address: str, *, started_at_s: float = 1.0) -> WorkerRecord:
    model = ModelInfo("m", (VoiceInfo("v", ("en",)),), 22050, ("en",))
    return WorkerRecord(
        worker_id=worker_id, engine="piper", address=address, tls=False,
        polyvox_version="0", instance=worker_id, heartbeat_at_s=0.0, ttl_s=TTL_S,
        description=WorkerDescription("piper", "1", (model,), started_at_s=started_at_s),
    )  # fmt: skip


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(port=free_port(), bind=["127.0.0.1"], workdir=tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def registry(redis_server: RedisServer) -> AsyncIterator[tuple[RedisRegistry, Clock]]:
    clock = Clock()
    registry = RedisRegistry(
        url=redis_server.url(), prefix="t", poll_interval_s=60,
        credentials=LinkCredentials(), clock=clock,
    )  # fmt: skip
    try:
        yield registry, clock
    finally:
        await registry.stop()


async def put(server: RedisServer, *records: WorkerRecord) -> None:
    client = server.client()
    try:
        for item in records:
            await client.set(worker_key("t", item.worker_id), item.to_json())
    finally:
        await client.aclose()


def ids(registry: RedisRegistry) -> list[str]:
    return [worker.worker_id for worker in registry.workers()]


async def test_a_worker_whose_record_is_gone_is_dropped_while_redis_answers(
    redis_server: RedisServer, registry: tuple[RedisRegistry, Clock]
) -> None:
    gateway, clock = registry
    await put(redis_server, record("a", "tcp://10.0.0.1:1"), record("b", "tcp://10.0.0.2:1"))
    await gateway.poll()
    assert ids(gateway) == ["a", "b"]
    client = redis_server.client()
    await client.delete(worker_key("t", "a"))
    await client.aclose()
    clock.now += TTL_S  # reachable for a whole TTL already: no grace left
    await gateway.poll()
    assert ids(gateway) == ["b"]


async def test_nothing_expires_while_redis_is_away_and_known_workers_get_a_ttl_after(
    redis_server: RedisServer, registry: tuple[RedisRegistry, Clock]
) -> None:
    gateway, clock = registry
    await put(redis_server, record("a", "tcp://10.0.0.1:1"), record("b", "tcp://10.0.0.2:1"))
    await gateway.poll()
    await redis_server.stop()
    await gateway.poll()
    assert not gateway.reachable
    assert "unreachable" in gateway.status
    clock.now += 100 * TTL_S
    await gateway.poll()
    assert ids(gateway) == ["a", "b"]  # the last-known workers, for as long as it takes
    assert [worker.state for worker in gateway.workers()] == ["up", "up"]
    await redis_server.start()  # back, and empty: no worker could beat meanwhile
    await put(redis_server, record("b", "tcp://10.0.0.2:1"))
    await gateway.poll()
    assert gateway.reachable
    assert ids(gateway) == ["a", "b"]
    assert [worker.state for worker in gateway.workers()] == ["unconfirmed", "up"]
    clock.now += TTL_S - 0.1
    await gateway.poll()
    assert ids(gateway) == ["a", "b"]
    clock.now += 0.2  # a has had a TTL of reachable Redis to beat, and did not
    await gateway.poll()
    assert ids(gateway) == ["b"]


async def test_one_worker_per_address_and_bad_records_skipped(
    redis_server: RedisServer, registry: tuple[RedisRegistry, Clock]
) -> None:
    gateway, _ = registry
    address = "tcp://10.0.0.1:1"
    await put(
        redis_server,
        record("old", address, started_at_s=1.0),
        record("new", address, started_at_s=2.0),
    )
    client = redis_server.client()
    await client.set("t:worker:junk", b"{}")
    await client.aclose()
    await gateway.poll()
    assert ids(gateway) == ["new"]
    assert gateway.duplicates == {"old": f"superseded by new at {address}"}
    assert list(gateway.bad_records) == ["t:worker:junk"]


def test_the_registry_url_is_shown_without_its_password() -> None:
    assert redacted("redis://:pw@r:6379/0") == "redis://:***@r:6379/0"
    assert redacted("redis://user:pw@r:6379/0") == "redis://user:***@r:6379/0"
    assert redacted("redis://r:6379/0") == "redis://r:6379/0"
