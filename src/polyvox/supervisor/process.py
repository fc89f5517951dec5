"""One supervised worker process: spawn, wait for health, restart with backoff, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import grpc

from polyvox.gateway.worker_client import WorkerClient, WorkerDescription
from polyvox.supervisor.relay import LINE_LIMIT_BYTES, LogRelay

logger = logging.getLogger(__name__)

#: Variables a worker inherits from the gateway; everything else is explicit.
_INHERITED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TZ",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
#: A worker that stayed up this long is considered healthy again: backoff resets.
_STABLE_AFTER_S = 30.0


class WorkerState(StrEnum):
    STARTING = "starting"
    UP = "up"
    RESTARTING = "restarting"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything needed to (re)start one worker process."""

    worker_id: str
    engine: str
    python: Path
    address: str
    args: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    #: The environment directory of an isolated engine (None when shared).
    venv: Path | None = None

    def command(self) -> list[str]:
        return [
            str(self.python), "-m", "polyvox", "worker",
            "--engine", self.engine, "--listen", self.address, "--worker-id", self.worker_id,
            "--exit-with-parent",
            # JSON lines, parsed by the relay and logged in the gateway's own format.
            "--log-format", "json",
            *self.args,
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
        env["PYTHONUNBUFFERED"] = "1"
        if self.venv is not None:
            env["VIRTUAL_ENV"] = str(self.venv)
            env["PATH"] = f"{self.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env.update(self.environment)
        return env


class WorkerStartError(RuntimeError):
    pass


class WorkerProcess:
    def __init__(
        self,
        spec: WorkerSpec,
        *,
        start_timeout_s: float,
        stop_timeout_s: float,
        backoff_initial_s: float,
        backoff_max_s: float,
    ) -> None:
        self.spec = spec
        self.client = WorkerClient(spec.address)
        self.state = WorkerState.STARTING
        self.description: WorkerDescription | None = None
        self.restarts = 0
        self.up_since_s: float | None = None
        self.last_error: str | None = None
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._process: asyncio.subprocess.Process | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._stopping = False
        #: The worker's stdout/stderr lines, relayed into the gateway's log.
        self.log_relay = LogRelay(worker_id=spec.worker_id, engine=spec.engine)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Spawn the worker and wait until it answers Health; then watch over it."""
        await self._spawn_and_wait()
        self._monitor = asyncio.create_task(self._watch(), name=f"watch-{self.spec.worker_id}")

    async def _spawn_and_wait(self) -> None:
        self.state = WorkerState.STARTING if self.restarts == 0 else WorkerState.RESTARTING
        logger.info("starting worker %s: %s", self.spec.worker_id, " ".join(self.spec.command()))
        self._process = await asyncio.create_subprocess_exec(
            *self.spec.command(),
            env=self.spec.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT_BYTES,
        )
        self.log_relay.attach(self._process)
        deadline = time.monotonic() + self._start_timeout_s
        while time.monotonic() < deadline:
            if self._process.returncode is not None:
                raise WorkerStartError(
                    f"worker {self.spec.worker_id} exited with code {self._process.returncode} "
                    "while starting"
                )
            with contextlib.suppress(grpc.aio.AioRpcError):
                if await self.client.health(timeout_s=1.0):
                    self.description = await self.client.describe()
                    self.state = WorkerState.UP
                    self.up_since_s = time.time()
                    self.last_error = None
                    logger.info("worker %s is up (pid %s)", self.spec.worker_id, self.pid)
                    return
            await asyncio.sleep(0.1)
        self._kill()
        raise WorkerStartError(
            f"worker {self.spec.worker_id} did not become healthy in {self._start_timeout_s:.0f} s"
        )

    async def _watch(self) -> None:
        failures = 0
        while not self._stopping:
            assert self._process is not None
            returncode = await self._process.wait()
            if self._stopping:
                break
            ran_for_s = time.time() - (self.up_since_s or time.time())
            failures = 0 if ran_for_s > _STABLE_AFTER_S else failures + 1
            self.state = WorkerState.RESTARTING
            self.last_error = f"exited with code {returncode}"
            delay_s = min(self._backoff_initial_s * 2 ** max(failures - 1, 0), self._backoff_max_s)
            logger.warning(
                "worker %s exited with code %s; restarting in %.1f s",
                self.spec.worker_id, returncode, delay_s,
            )  # fmt: skip
            await asyncio.sleep(delay_s)
            if self._stopping:
                break
            self.restarts += 1
            try:
                await self._spawn_and_wait()
            except WorkerStartError as exc:
                self.last_error = str(exc)
                logger.error("%s", exc)

    async def refresh(self) -> WorkerDescription | None:
        """Re-read Describe (resident models, in-flight); keep the last one on failure."""
        if self.state is WorkerState.UP:
            with contextlib.suppress(grpc.aio.AioRpcError):
                self.description = await self.client.describe(timeout_s=2.0)
        return self.description

    async def stop(self) -> None:
        """SIGTERM (the worker drains), then SIGKILL after the stop timeout."""
        self._stopping = True
        self.state = WorkerState.STOPPED
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self._stop_timeout_s)
            except TimeoutError:
                logger.warning("worker %s did not stop in time; killing it", self.spec.worker_id)
                self._kill()
                await process.wait()
            # The worker's last lines (its drain report) still reach the log.
            await self.log_relay.drain(timeout_s=2.0)
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        await self.log_relay.close()
        await self.client.close()

    def _kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
