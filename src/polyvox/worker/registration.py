"""A worker's entry in the registry: registered at start, kept alive by a heartbeat,
rewritten at once when its resident models change, removed on a clean stop.

The record (contract/record.py) lives under a key whose TTL every heartbeat refreshes,
so Redis itself forgets a worker that stopped beating; nothing else in Polyvox judges
a worker's liveness by clocks. While Redis cannot be reached the worker goes on
serving and keeps trying at every heartbeat; its record is written anew (even into an
emptied Redis) as soon as a write succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Hashable

import redis.asyncio as redis
from redis.exceptions import RedisError

import polyvox
from polyvox.contract.record import BadRecord, WorkerRecord, parse_record, worker_key
from polyvox.contract.types import WorkerDescription

logger = logging.getLogger(__name__)

#: How often the resident models are compared with what was last written: a change is
#: published this soon, without a Redis write per check.
_CHANGE_POLL_S = 0.1
#: Redis calls give up after this long (a heartbeat is then retried at the next beat).
_REDIS_TIMEOUT_S = 1.0


class DuplicateWorker(RuntimeError):
    """Another live worker holds this worker id at another address."""


class Registration:
    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        worker_id: str,
        engine: str,
        address: str,
        tls: bool,
        ttl_s: float,
        heartbeat_interval_s: float,
        describe: Callable[[], WorkerDescription],
        resident_signature: Callable[[], Hashable],
    ) -> None:
        self._redis = redis.Redis.from_url(
            url, socket_timeout=_REDIS_TIMEOUT_S, socket_connect_timeout=_REDIS_TIMEOUT_S
        )
        self.key = worker_key(prefix, worker_id)
        self._worker_id = worker_id
        self._engine = engine
        self._address = address
        self._tls = tls
        self._ttl_s = ttl_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._describe = describe
        self._signature = resident_signature
        self.instance = uuid.uuid4().hex
        #: Whether the last write reached Redis.
        self.registered = False

    async def claim(self) -> None:
        """Refuse to take a worker id that a live worker at another address holds: two
        workers under one key would overwrite each other's record at every heartbeat.
        A record at our own address is our predecessor's (a restart): ours replaces it.
        Redis being unreachable is not a reason to refuse: the heartbeat retries."""
        try:
            raw = await self._redis.get(self.key)
        except (RedisError, OSError) as exc:
            logger.warning("registry unreachable at start (%s); registering when it is back", exc)
            return
        if raw is None:
            return
        try:
            held = parse_record(raw)
        except BadRecord:
            return  # whatever is there cannot be routed to; ours replaces it
        if held.address != self._address:
            raise DuplicateWorker(
                f"worker id {self._worker_id!r} is registered by a live worker at "
                f"{held.address}; give this worker another id (--worker-id)"
            )

    def _record(self) -> WorkerRecord:
        return WorkerRecord(
            worker_id=self._worker_id,
            engine=self._engine,
            address=self._address,
            tls=self._tls,
            polyvox_version=polyvox.__version__,
            instance=self.instance,
            heartbeat_at_s=time.time(),
            ttl_s=self._ttl_s,
            description=self._describe(),
        )

    async def beat(self) -> bool:
        """Write the record with a fresh TTL; False when Redis could not be reached."""
        try:
            ttl_ms = int(self._ttl_s * 1000)
            await self._redis.set(self.key, self._record().to_json(), px=ttl_ms)
        except (RedisError, OSError) as exc:
            if self.registered:
                logger.warning("registry unreachable (%s); serving on, retrying", exc)
            self.registered = False
            return False
        if not self.registered:
            logger.info("registered as %s at %s", self._worker_id, self._address)
        self.registered = True
        return True

    async def run(self) -> None:
        """Beat every heartbeat interval, and at once when the resident models change."""
        loop = asyncio.get_running_loop()
        written: Hashable = None
        next_beat_s = 0.0
        while True:
            signature = self._signature()
            if signature != written or loop.time() >= next_beat_s:
                next_beat_s = loop.time() + self._heartbeat_interval_s
                if await self.beat():
                    written = signature
            await asyncio.sleep(_CHANGE_POLL_S)

    async def deregister(self) -> None:
        """Remove our record (only ours: a successor may have replaced it already)."""
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=True) as pipe:
                await pipe.watch(self.key)
                raw = await pipe.get(self.key)
                if raw is not None and _instance_of(raw) == self.instance:
                    pipe.multi()
                    pipe.delete(self.key)
                    await pipe.execute()
                    logger.info("deregistered %s", self._worker_id)

    async def close(self) -> None:
        await self._redis.aclose()


def _instance_of(raw: bytes | str) -> str | None:
    try:
        return parse_record(raw).instance
    except BadRecord:
        return None
