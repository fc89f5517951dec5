"""A worker handle with no process and no channel behind it, for routing, health and
metrics tests: what they read of a worker is its state, its Describe and its load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from polyvox.contract.types import WorkerDescription


@dataclass
class StaticWorker:
    worker_id: str
    engine: str
    description: WorkerDescription | None = None
    state: str = "up"
    load: int = 0
    address: str = "unix:///nowhere.sock"
    restarts: int = 0
    pid: int | None = None
    up_since_s: float | None = None
    last_error: str | None = None
    log_lines_dropped: int = 0

    @property
    def serving(self) -> bool:
        return self.state == "up"

    @property
    def client(self) -> Any:
        raise AssertionError("routing must not call a worker")

    async def refresh(self) -> WorkerDescription | None:
        return self.description


@dataclass
class StaticRegistry:
    handles: Sequence[StaticWorker]
    status: str = "running"
    failed_engines: Mapping[str, str] = field(default_factory=dict)

    def workers(self) -> Sequence[StaticWorker]:
        return self.handles

    def discovery(self) -> Mapping[str, Any] | None:
        return None

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
