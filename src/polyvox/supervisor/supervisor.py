"""Start every configured engine's workers, each in its environment, and keep them up."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rich.console import Console

from polyvox.config import EngineSettings, Settings
from polyvox.engines.registry import engine_class
from polyvox.supervisor.environments import EnvironmentBuilder, EnvironmentSpec
from polyvox.supervisor.process import WorkerProcess, WorkerSpec

logger = logging.getLogger(__name__)


def _worker_args(engine: EngineSettings) -> tuple[str, ...]:
    args = [
        "--device", engine.device,
        "--capacity", str(engine.capacity),
        "--inference-threads", str(engine.inference_threads),
        "--busy-split-chars", str(engine.busy_split_chars),
        "--first-chunk-ms", str(engine.first_chunk_ms),
    ]  # fmt: skip
    for model_id in engine.preload:
        args += ["--preload", model_id]
    for key, value in engine.options.items():
        args += ["--option", f"{key}={value}"]
    return tuple(args)


class Supervisor:
    """Owns the local worker processes: provisioning, startup, restarts, shutdown."""

    def __init__(self, settings: Settings, *, console: Console | None = None) -> None:
        self._settings = settings
        self._builder = EnvironmentBuilder(home=settings.home, console=console)
        self.workers: dict[str, WorkerProcess] = {}
        #: What the supervisor is doing: starting, building ..., running, stopping.
        self.status = "starting"
        self._refresher: asyncio.Task[None] | None = None

    def _interpreter(self, name: str, engine: EngineSettings) -> tuple[Path, Path | None]:
        """Build (or reuse) the engine's environment; return its python and venv dir."""
        if engine.env == "shared":
            return Path(sys.executable), None
        cls = engine_class(name)
        requirements = (*cls.requirements, *engine.requirements)
        spec = EnvironmentSpec(
            engine=name,
            requirements=requirements,
            excludes=cls.excluded_requirements,
            **({"python_version": engine.python} if engine.python else {}),
        )
        python = self._builder.ensure(spec)
        return python, python.parent.parent

    async def start(self) -> None:
        """Provision environments one by one (uv is I/O-heavy); each engine's workers
        start as soon as its environment exists, so the first engine serves while the
        next one is still being built."""
        sockets = self._settings.sockets_dir()
        sockets.mkdir(parents=True, exist_ok=True)
        starting: list[asyncio.Task[None]] = []
        for name, engine in self._settings.engines.items():
            self.status = f"building the {name} environment"
            python, venv = await asyncio.to_thread(self._interpreter, name, engine)
            for replica in range(engine.replicas):
                worker = self._worker(name, engine, replica, python, venv)
                self.workers[worker.spec.worker_id] = worker
                starting.append(asyncio.create_task(worker.start(), name=worker.spec.worker_id))
        self.status = "starting workers"
        await asyncio.gather(*starting)
        self.status = "running"
        self._refresher = asyncio.create_task(self._refresh_loop(), name="describe-refresh")

    def _worker(
        self, name: str, engine: EngineSettings, replica: int, python: Path, venv: Path | None
    ) -> WorkerProcess:
        worker_id = f"{name}-{replica}"
        socket = self._settings.sockets_dir() / f"{worker_id}-{self._settings.port}.sock"
        spec = WorkerSpec(
            worker_id=worker_id,
            engine=name,
            python=python,
            address=f"unix://{socket}",
            args=_worker_args(engine),
            environment={
                "POLYVOX_WORKER_LIFECYCLE": engine.lifecycle.model_dump_json(),
                **engine.environment,
            },
            venv=venv,
        )
        return WorkerProcess(
            spec,
            start_timeout_s=self._settings.worker_start_timeout_s,
            stop_timeout_s=self._settings.worker_stop_timeout_s,
            backoff_initial_s=self._settings.restart_backoff_initial_s,
            backoff_max_s=self._settings.restart_backoff_max_s,
        )

    async def _refresh_loop(self) -> None:
        """Keep each worker's Describe (resident models, load) fresh for routing."""
        while True:
            await asyncio.sleep(self._settings.describe_interval_s)
            await asyncio.gather(*(worker.refresh() for worker in self.workers.values()))

    async def stop(self) -> None:
        self.status = "stopping"
        if self._refresher is not None:
            self._refresher.cancel()
        await asyncio.gather(*(worker.stop() for worker in self.workers.values()))
