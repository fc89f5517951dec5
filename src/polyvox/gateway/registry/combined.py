"""``polyvox serve --registry``: this gateway's own workers, and every other one registered.

The local registry knows its workers best (process state, restarts, environments that
failed to build); the cluster registry adds the workers of other hosts. A local worker
also has a record in the cluster (it registers itself, for other gateways), so the
local handle wins over the record of the same id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from polyvox.gateway.registry.base import WorkerHandle
from polyvox.gateway.registry.local import LocalRegistry
from polyvox.gateway.registry.redis import RedisRegistry


class CombinedRegistry:
    def __init__(self, local: LocalRegistry, cluster: RedisRegistry) -> None:
        self._local = local
        self._cluster = cluster

    @property
    def status(self) -> str:
        if self._cluster.reachable:
            return self._local.status
        return f"{self._local.status}; {self._cluster.status}"

    @property
    def failed_engines(self) -> Mapping[str, str]:
        return self._local.failed_engines

    def workers(self) -> Sequence[WorkerHandle]:
        local: list[WorkerHandle] = list(self._local.workers())
        ours = {worker.worker_id for worker in local}
        return [*local, *(w for w in self._cluster.workers() if w.worker_id not in ours)]

    def discovery(self) -> dict[str, Any] | None:
        return self._cluster.discovery()

    async def start(self) -> None:
        # The cluster first: other hosts' workers serve while local environments build.
        await self._cluster.start()
        await self._local.start()

    async def stop(self) -> None:
        await asyncio.gather(self._local.stop(), self._cluster.stop())
