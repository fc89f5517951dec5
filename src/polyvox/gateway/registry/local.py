"""The embedded registry: the workers this gateway's own supervisor runs.

The supervisor owns processes; this module owns what the gateway knows about each
one through the contract (a client, the latest Describe). The Describe refresher runs
from the registry's start, whatever happens to any worker's start, so routing always
sees the resident models of the workers that are up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from polyvox.contract.client import WorkerClient
from polyvox.contract.types import WorkerDescription
from polyvox.errors import PolyvoxError
from polyvox.supervisor.process import WorkerProcess, WorkerState
from polyvox.supervisor.supervisor import Supervisor

logger = logging.getLogger(__name__)

#: Longest wait for one worker's Describe during a refresh.
DESCRIBE_TIMEOUT_S = 2.0
#: How soon a worker that has just come up is described (its models become routable).
_NEW_WORKER_POLL_S = 0.1


class LocalWorker:
    """A supervised worker process, seen through the contract."""

    def __init__(
        self, process: WorkerProcess, *, on_stream_end: Callable[[str], None] | None = None
    ) -> None:
        self._process = process
        engine = process.spec.engine
        self.client = WorkerClient(
            process.spec.address,
            credentials=process.spec.credentials,
            tls=process.spec.tls,
            on_stream_end=(lambda: on_stream_end(engine)) if on_stream_end else None,
        )
        self.description: WorkerDescription | None = None
        #: The process start the description was read from.
        self._described_start: float | None = None

    @property
    def worker_id(self) -> str:
        return self._process.spec.worker_id

    @property
    def engine(self) -> str:
        return self._process.spec.engine

    @property
    def address(self) -> str:
        return self._process.spec.address

    @property
    def state(self) -> str:
        return self._process.state.value

    @property
    def serving(self) -> bool:
        return self._process.state is WorkerState.UP

    @property
    def load(self) -> int:
        return self.client.segments_in_flight

    @property
    def restarts(self) -> int:
        return self._process.restarts

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def up_since_s(self) -> float | None:
        return self._process.up_since_s

    @property
    def last_error(self) -> str | None:
        return self._process.last_error

    @property
    def log_lines_dropped(self) -> int:
        return self._process.log_relay.dropped

    @property
    def undescribed(self) -> bool:
        """Up, but not yet described since it (re)started."""
        return self.serving and self._described_start != self._process.up_since_s

    async def refresh(self) -> WorkerDescription | None:
        if self.serving:
            started = self._process.up_since_s
            with contextlib.suppress(PolyvoxError):
                self.description = await self.client.describe(timeout_s=DESCRIBE_TIMEOUT_S)
                self._described_start = started
        return self.description

    async def close(self) -> None:
        await self.client.close()


class LocalRegistry:
    """Workers of the local supervisor, with their Describe refreshed in the background."""

    def __init__(
        self,
        supervisor: Supervisor,
        *,
        describe_interval_s: float,
        on_stream_end: Callable[[str], None] | None = None,
    ) -> None:
        self._supervisor = supervisor
        self._describe_interval_s = describe_interval_s
        #: Called with a worker's engine when one of its streams ends.
        self._on_stream_end = on_stream_end
        self._workers: dict[str, LocalWorker] = {}
        self._refresher: asyncio.Task[None] | None = None

    @property
    def status(self) -> str:
        return self._supervisor.status

    @property
    def failed_engines(self) -> dict[str, str]:
        return self._supervisor.failed_engines

    def discovery(self) -> None:
        return None

    def workers(self) -> Sequence[LocalWorker]:
        for worker_id, process in self._supervisor.workers.items():
            if worker_id not in self._workers:
                self._workers[worker_id] = LocalWorker(process, on_stream_end=self._on_stream_end)
        return list(self._workers.values())

    async def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh_loop(), name="describe-refresh")
        await self._supervisor.start()

    async def _refresh_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_full_s = loop.time()
        while True:
            full = loop.time() >= next_full_s
            due = [w for w in self.workers() if full or w.undescribed]
            if full:
                next_full_s = loop.time() + self._describe_interval_s
            try:
                await asyncio.gather(*(worker.refresh() for worker in due))
            except Exception:
                logger.exception("refreshing worker descriptions failed")
            await asyncio.sleep(min(_NEW_WORKER_POLL_S, self._describe_interval_s))

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await self._supervisor.stop()
        await asyncio.gather(*(worker.close() for worker in self._workers.values()))
