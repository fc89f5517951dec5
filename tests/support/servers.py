"""Start real gateway and worker processes for integration tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import yaml

from polyvox.addresses import grpc_target
from polyvox.contract.client import WorkerClient
from polyvox.errors import PolyvoxError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def polyvox_test_home() -> Path:
    """Engine environments are reused across test runs; the first run builds them."""
    return Path(os.environ.get("POLYVOX_TEST_HOME", Path.home() / ".cache" / "polyvox-test"))


@dataclass
class Gateway:
    url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def _wait_ready(gateway: Gateway, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if gateway.process.returncode is not None:
                raise RuntimeError(f"gateway exited early:\n{gateway.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{gateway.url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"gateway not ready in {timeout_s} s:\n{gateway.log_tail()}")


async def _terminate(process: asyncio.subprocess.Process, timeout_s: float = 30.0) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def run_gateway(
    config: dict[str, Any], *, workdir: Path, home: Path | None = None, ready_timeout_s: float = 900
) -> AsyncIterator[Gateway]:
    """Run ``polyvox serve`` with ``config`` as its YAML file; yield once /readyz is 200."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "polyvox.yaml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = workdir / "gateway.log"
    env = {**os.environ, "POLYVOX_HOME": str(home or polyvox_test_home())}
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "polyvox", "serve", "--config", str(config_path),
            "--port", str(port), "--log-level", "info",
            env=env, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    gateway = Gateway(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        await _wait_ready(gateway, ready_timeout_s)
        yield gateway
    finally:
        await _terminate(process)


@dataclass
class Worker:
    address: str
    process: asyncio.subprocess.Process
    client: WorkerClient
    #: A raw gRPC channel, for tests of the wire contract itself.
    channel: grpc.aio.Channel


@contextlib.asynccontextmanager
async def run_worker(
    engine: str,
    *,
    workdir: Path,
    args: tuple[str, ...] = (),
    timeout_s: float = 120,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Worker]:
    """Run ``polyvox worker`` in this environment on a Unix socket; yield once healthy.

    ``env``: the worker's whole environment (default: this process's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"unix://{workdir / f'{engine}.sock'}"
    log = (workdir / "worker.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyvox", "worker", "--engine", engine, "--listen", address, *args,
        stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
        env=None if env is None else dict(env),
    )  # fmt: skip
    client = WorkerClient(address)
    channel = grpc.aio.insecure_channel(grpc_target(address))
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(PolyvoxError):
                if await client.health(timeout_s=1.0):
                    break
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "worker.log").read_text(errors="replace")[-3000:])
            await asyncio.sleep(0.1)
        yield Worker(address=address, process=process, client=client, channel=channel)
    finally:
        await channel.close()
        await client.close()
        await _terminate(process)
        log.close()
