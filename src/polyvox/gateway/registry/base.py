"""What the gateway needs of a worker, wherever it runs, and of the registry listing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from polyvox.contract.client import WorkerClient
from polyvox.contract.types import WorkerDescription


class WorkerHandle(Protocol):
    """One worker as routing, health and metrics see it."""

    @property
    def worker_id(self) -> str: ...

    @property
    def engine(self) -> str: ...

    @property
    def address(self) -> str: ...

    @property
    def state(self) -> str:
        """``up``, or why not (``starting``, ``restarting``, ``crash_looping``, ...)."""

    @property
    def serving(self) -> bool:
        """Whether requests may be sent to it now."""

    @property
    def description(self) -> WorkerDescription | None:
        """Its latest Describe answer; None before the first one."""

    @property
    def client(self) -> WorkerClient: ...

    @property
    def load(self) -> int:
        """Work this gateway has sent it that is not done yet (segments in flight)."""

    @property
    def restarts(self) -> int: ...

    @property
    def pid(self) -> int | None: ...

    @property
    def up_since_s(self) -> float | None: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def log_lines_dropped(self) -> int: ...

    async def refresh(self) -> WorkerDescription | None:
        """Re-read Describe (resident models, load); keep the last answer on failure."""


class WorkerRegistry(Protocol):
    """The workers a gateway can route to."""

    @property
    def status(self) -> str:
        """What the registry is doing (starting, running, ...), for /readyz and /health."""

    @property
    def failed_engines(self) -> Mapping[str, str]:
        """Engines that cannot run here, with why (an environment that failed to build)."""

    def workers(self) -> Sequence[WorkerHandle]: ...

    def discovery(self) -> Mapping[str, Any] | None:
        """The cluster registry's state for /health and metrics (reachable, seconds since
        contact, last error, records skipped); None without a cluster registry."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
