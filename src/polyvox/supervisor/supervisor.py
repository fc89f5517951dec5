"""Start every configured engine's workers, each in its environment, and keep them up."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path
from typing import Any

from rich.console import Console

from polyvox.config import EngineSettings, Settings
from polyvox.supervisor.engine_environment import engine_interpreter
from polyvox.supervisor.environments import EnvironmentBuilder
from polyvox.supervisor.process import Backoff, WorkerProcess, WorkerSpec
from polyvox.worker.settings import (
    LinkSettings,
    RegistrySettings,
    WorkerSettings,
    worker_environment,
)

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
        #: With a registry, workers listen on TCP, one port each from ``worker_port``.
        self._ports = itertools.count(settings.worker_port)
        #: What this gateway presents to its own workers (and they to nobody else).
        self.credentials = settings.credentials()

    def _interpreter(self, name: str, engine: EngineSettings) -> tuple[Path, Path | None]:
        """Build (or reuse) the engine's environment; return its python and venv dir."""
        return engine_interpreter(self._builder, name, engine)

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
        settings = WorkerSettings.for_engine(
            engine,
            engine=name,
            exit_with_parent=True,
            in_environment=True,
            **self._where(name, replica),
        )
        spec = WorkerSpec(
            worker_id=settings.worker_id,
            engine=name,
            address=settings.advertised(),
            credentials=self.credentials,
            tls=settings.tls_cert_file is not None if settings.registry else None,
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

    def _where(self, name: str, replica: int) -> dict[str, Any]:
        """Where a worker listens and what it is called: a Unix socket, or with a registry
        a TCP port under this host's advertised name, registered for other gateways."""
        settings = self._settings
        if settings.registry is None:
            socket = settings.sockets_dir() / f"{name}-{replica}-{settings.port}.sock"
            return {"listen": f"unix://{socket}", "worker_id": f"{name}-{replica}"}
        port = next(self._ports)
        return {
            "listen": f"tcp://{settings.worker_host}:{port}",
            "advertise": f"tcp://{settings.advertise_host}:{port}",
            "worker_id": f"{name}-{replica}@{settings.advertise_host}:{port}",
            **{field: getattr(settings, field) for field in RegistrySettings.model_fields},
            **{field: getattr(settings, field) for field in LinkSettings.model_fields},
        }

    async def stop(self) -> None:
        self.status = "stopping"
        await asyncio.gather(*(worker.stop() for worker in self.workers.values()))
