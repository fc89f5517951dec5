"""Start every configured engine's workers, each in its environment, and keep them up."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from rich.console import Console

from polyvox.config import EngineSettings, Settings
from polyvox.engines.registry import engine_class
from polyvox.supervisor.environments import (
    EnvironmentBuilder,
    EnvironmentSpec,
    polyvox_install_target,
)
from polyvox.supervisor.lockfile import locked_pins
from polyvox.supervisor.process import Backoff, WorkerProcess, WorkerSpec
from polyvox.worker.settings import WorkerSettings, worker_environment

logger = logging.getLogger(__name__)


class Supervisor:
    """Owns the local worker processes: provisioning, startup, restarts, shutdown."""

    def __init__(self, settings: Settings, *, console: Console | None = None) -> None:
        self._settings = settings
        self._builder = EnvironmentBuilder(home=settings.home, console=console)
        self.workers: dict[str, WorkerProcess] = {}
        #: Engines whose environment could not be built, with why: their workers never
        #: start; every other engine's do.
        self.failed_engines: dict[str, str] = {}
        #: What the supervisor is doing: starting, building ..., running, stopping.
        self.status = "starting"

    def _interpreter(self, name: str, engine: EngineSettings) -> tuple[Path, Path | None]:
        """Build (or reuse) the engine's environment; return its python and venv dir."""
        if engine.env == "shared":
            return Path(sys.executable), None
        cls = engine_class(name)
        requirements = (*cls.requirements, *engine.requirements)
        # The lock's exact versions, unless the engine's config asks for packages of its
        # own: the lock never resolved those (numpy<2 conflicts with its onnx), so such
        # an environment is resolved from ranges.
        pins = () if engine.requirements else locked_pins(cls.extra, self._builder.uv_bin)
        spec = EnvironmentSpec(
            engine=name,
            requirements=requirements,
            excludes=cls.excluded_requirements,
            constraints=pins,
            **({"python_version": engine.python} if engine.python else {}),
        )
        python = self._builder.ensure(spec, install_target=polyvox_install_target(cls.extra))
        return python, python.parent.parent

    async def start(self) -> None:
        """Provision environments one by one (uv is I/O-heavy); each engine's workers
        start as soon as its environment exists, so the first engine serves while the
        next one is still being built. An engine whose environment cannot be built is
        reported and skipped; the others go on."""
        self._settings.sockets_dir().mkdir(parents=True, exist_ok=True)
        for name, engine in self._settings.engines.items():
            self.status = f"building the {name} environment"
            try:
                python, venv = await asyncio.to_thread(self._interpreter, name, engine)
            except Exception as exc:
                self.failed_engines[name] = str(exc)
                logger.error("engine %s cannot start: %s", name, exc)
                continue
            for replica in range(engine.replicas):
                worker = self._worker(name, engine, replica, python, venv)
                self.workers[worker.spec.worker_id] = worker
                worker.start()
        failed = ", ".join(self.failed_engines)
        self.status = f"running (failed to provision: {failed})" if failed else "running"

    def _worker(
        self, name: str, engine: EngineSettings, replica: int, python: Path, venv: Path | None
    ) -> WorkerProcess:
        worker_id = f"{name}-{replica}"
        socket = self._settings.sockets_dir() / f"{worker_id}-{self._settings.port}.sock"
        settings = WorkerSettings.for_engine(
            engine,
            engine=name,
            listen=f"unix://{socket}",
            worker_id=worker_id,
            exit_with_parent=True,
        )
        spec = WorkerSpec(
            worker_id=worker_id,
            engine=name,
            address=settings.listen,
            command=(str(python), "-m", "polyvox", "worker"),
            environment={
                **worker_environment(settings),
                # JSON lines, parsed by the relay and logged in the gateway's own format.
                "POLYVOX_LOG_FORMAT": "json",
                "POLYVOX_LOG_LEVEL": self._settings.log_level,
                **engine.environment,
            },
            venv=venv,
        )
        return WorkerProcess(
            spec,
            start_timeout_s=self._settings.worker_start_timeout_s,
            stop_timeout_s=self._settings.worker_stop_timeout_s,
            backoff=Backoff(
                self._settings.restart_backoff_initial_s, self._settings.restart_backoff_max_s
            ),
        )

    async def stop(self) -> None:
        self.status = "stopping"
        await asyncio.gather(*(worker.stop() for worker in self.workers.values()))
