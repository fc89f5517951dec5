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
        #: Why the supervisor is not (yet) serving; None once every worker started.
        self.status = "starting"

    def _interpreter(self, name: str, engine: EngineSettings) -> tuple[Path, Path | None]:
        """Build (or reuse) the engine's environment; return its python and venv dir."""
        if engine.env == "shared":
            return Path(sys.executable), None
        requirements = (*engine_class(name).requirements, *engine.requirements)
        spec = EnvironmentSpec(
            engine=name,
            requirements=requirements,
            **({"python_version": engine.python} if engine.python else {}),
        )
        python = self._builder.ensure(spec)
        return python, python.parent.parent

    async def start(self) -> None:
        """Provision environments one by one (uv is I/O-heavy), then start workers together."""
        sockets = self._settings.sockets_dir()
        sockets.mkdir(parents=True, exist_ok=True)
        for name, engine in self._settings.engines.items():
            self.status = f"building the {name} environment"
            python, venv = await asyncio.to_thread(self._interpreter, name, engine)
            spec = WorkerSpec(
                worker_id=f"{name}-0",
                engine=name,
                python=python,
                address=f"unix://{sockets / f'{name}-0-{self._settings.port}.sock'}",
                args=_worker_args(engine),
                environment=dict(engine.environment),
                venv=venv,
            )
            self.workers[spec.worker_id] = WorkerProcess(
                spec,
                start_timeout_s=self._settings.worker_start_timeout_s,
                stop_timeout_s=self._settings.worker_stop_timeout_s,
                backoff_initial_s=self._settings.restart_backoff_initial_s,
                backoff_max_s=self._settings.restart_backoff_max_s,
            )
        self.status = "starting workers"
        await asyncio.gather(*(worker.start() for worker in self.workers.values()))
        self.status = "running"

    async def stop(self) -> None:
        self.status = "stopping"
        await asyncio.gather(*(worker.stop() for worker in self.workers.values()))
