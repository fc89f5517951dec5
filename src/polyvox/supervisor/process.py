"""One supervised worker process: spawn, wait for health, restart with backoff, stop.

Supervision is one loop from the first start to the stop: a start that fails (the
command cannot be spawned, the process exits or never answers its health check) is a
failure like a crash, and the next try waits longer, doubling up to the maximum. Only
a worker that stayed up ``stable_after_s`` resets that count. After
``CRASH_LOOP_AFTER`` failures in a row the worker is reported as crash-looping
(``/health``, metrics) and keeps being retried at the maximum backoff.
"""

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

from polyvox.contract.client import WorkerClient
from polyvox.contract.link import LinkCredentials
from polyvox.errors import PolyvoxError
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
#: Failures in a row after which a worker counts as crash-looping.
CRASH_LOOP_AFTER = 3
_HEALTH_POLL_S = 0.1


class WorkerState(StrEnum):
    STARTING = "starting"
    UP = "up"
    RESTARTING = "restarting"
    #: Failed CRASH_LOOP_AFTER times in a row; still retried, at the maximum backoff.
    CRASH_LOOPING = "crash_looping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """Everything needed to (re)start one worker process."""

    worker_id: str
    engine: str
    address: str
    command: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    #: The environment directory of an isolated engine (None when shared).
    venv: Path | None = None
    #: What the supervisor presents to the worker's (secured) link.
    credentials: LinkCredentials | None = None
    #: Whether the worker serves TLS (None: as the credentials say for its address).
    tls: bool | None = None

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


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float
    max_s: float

    def delay_s(self, failures: int) -> float:
        """The wait before the next try after ``failures`` failures in a row (>= 1)."""
        return min(self.initial_s * 2 ** max(failures - 1, 0), self.max_s)


class WorkerProcess:
    def __init__(
        self,
        spec: WorkerSpec,
        *,
        start_timeout_s: float,
        stop_timeout_s: float,
        backoff: Backoff,
        stable_after_s: float = 30.0,
    ) -> None:
        self.spec = spec
        self.state = WorkerState.STARTING
        self.restarts = 0
        #: Failures (crashes, failed starts) since the worker last stayed up long enough.
        self.failures = 0
        self.up_since_s: float | None = None
        self.last_error: str | None = None
        #: The worker's stdout/stderr lines, relayed into the gateway's log.
        self.log_relay = LogRelay(worker_id=spec.worker_id, engine=spec.engine)
        #: Set while the worker is up; cleared when it goes down.
        self.up = asyncio.Event()
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._backoff = backoff
        self._stable_after_s = stable_after_s
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._health = WorkerClient(spec.address, credentials=spec.credentials, tls=spec.tls)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start supervising: spawn, and respawn after every failure, until stop()."""
        if self._supervisor is None:
            name = f"supervise-{self.spec.worker_id}"
            self._supervisor = asyncio.create_task(self._supervise(), name=name)

    async def _supervise(self) -> None:
        while not self._stopping:
            try:
                await self._spawn_and_wait()
            except (WorkerStartError, OSError) as exc:
                await self._failed(f"could not start: {exc}")
                continue
            assert self._process is not None
            returncode = await self._process.wait()
            self.up.clear()
            if self._stopping:
                return
            ran_for_s = time.time() - (self.up_since_s or time.time())
            if ran_for_s >= self._stable_after_s:
                self.failures = 0
            await self._failed(f"exited with code {returncode}")

    async def _failed(self, error: str) -> None:
        """Record a failure and wait out its backoff (stop() ends the wait)."""
        self.failures += 1
        self.last_error = error
        looping = self.failures >= CRASH_LOOP_AFTER
        self.state = WorkerState.CRASH_LOOPING if looping else WorkerState.RESTARTING
        delay_s = self._backoff.delay_s(self.failures)
        logger.warning(
            "worker %s %s; retrying in %.1f s (failure %d in a row)",
            self.spec.worker_id, error, delay_s, self.failures,
        )  # fmt: skip
        await asyncio.sleep(delay_s)
        self.restarts += 1

    async def _spawn_and_wait(self) -> None:
        logger.info("starting worker %s: %s", self.spec.worker_id, " ".join(self.spec.command))
        self._process = await asyncio.create_subprocess_exec(
            *self.spec.command,
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
                code = self._process.returncode
                raise WorkerStartError(f"exited with code {code} while starting")
            with contextlib.suppress(PolyvoxError):
                if await self._health.health(timeout_s=1.0):
                    self.state = WorkerState.UP
                    self.up_since_s = time.time()
                    self.up.set()
                    logger.info("worker %s is up (pid %s)", self.spec.worker_id, self.pid)
                    return
            await asyncio.sleep(_HEALTH_POLL_S)
        self._kill()
        await self._process.wait()
        raise WorkerStartError(f"did not become healthy in {self._start_timeout_s:g} s")

    async def stop(self) -> None:
        """SIGTERM (the worker drains), then SIGKILL after the stop timeout."""
        self._stopping = True
        self.state = WorkerState.STOPPED
        self.up.clear()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
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
        await self.log_relay.close()
        await self._health.close()

    def _kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
