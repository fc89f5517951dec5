"""A cluster on this machine: Redis, two worker hosts, two gateways, all real processes.

Hosts are network namespaces (each with its own address) where they can be made, else
loopback ports (tests/support/hosts.py); the tests report which ran. The link is secured
both ways at once (mTLS and a token), so every request also crosses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from support.certs import Certificates, make_certificates
from support.hosts import Host, make_hosts
from support.redis_server import RedisServer
from support.servers import free_port, polyvox_test_home

TOKEN = "cluster-test-token"
MODEL = "piper/en_US-joe-medium"
#: Short beats so expiry takes seconds; the TTL must outlive two of them.
HEARTBEAT_S = 0.5
TTL_S = 2.0


@dataclass
class Process:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Cluster:
    hosts_kind: str
    redis: RedisServer
    hosts: list[Host]
    certs: Certificates
    workdir: Path
    #: Worker processes by worker id.
    workers: dict[str, Process] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    gateways: list[str] = field(default_factory=list)
    gateway_processes: list[Process] = field(default_factory=list)
    #: The worker of ``serve --registry`` (its own, registered for the other gateway).
    serve_worker_id: str = ""

    @property
    def worker_ids(self) -> set[str]:
        return {*self.workers, self.serve_worker_id}

    def registry_url(self, host: Host) -> str:
        return self.redis.url(host.gateway_side)


async def spawn(name: str, argv: list[str], *, workdir: Path, env: dict[str, str]) -> Process:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL, env=env
        )
    return Process(name, process, log_path)


async def terminate(process: asyncio.subprocess.Process, timeout_s: float = 20.0) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()


def worker_argv(cluster: Cluster, host: Host, port: int, *extra: str) -> list[str]:
    cert, key = cluster.certs.host_certs[host.name]
    return host.command(
        sys.executable, "-m", "polyvox", "worker", "--engine", "piper",
        "--listen", f"tcp://{host.address}:{port}",
        "--registry", cluster.registry_url(host),
        "--link-token", TOKEN, "--tls-ca", str(cluster.certs.ca),
        "--tls-cert", str(cert), "--tls-key", str(key),
        "--home", str(polyvox_test_home()), *extra,
    )  # fmt: skip


def cluster_env() -> dict[str, str]:
    return {
        **os.environ,
        "POLYVOX_WORKER_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S),
        "POLYVOX_WORKER_REGISTRY_TTL_S": str(TTL_S),
        "POLYVOX_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S),
        "POLYVOX_REGISTRY_TTL_S": str(TTL_S),
        "POLYVOX_REGISTRY_POLL_INTERVAL_S": "0.25",
        "POLYVOX_HOME": str(polyvox_test_home()),
    }


async def health(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        return dict((await client.get(f"{url}/health")).json())


async def wait_for(predicate: Any, *, timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    """Poll ``predicate`` (async, returning bool) until true, with a bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if await predicate():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not in {timeout_s} s: {what}")
        await asyncio.sleep(poll_s)


async def worker_ids(url: str, *, state: str | None = "up") -> set[str]:
    report = await health(url)
    return {w["id"] for w in report["workers"] if state is None or w["state"] == state}


async def _start_gateways(cluster: Cluster, env: dict[str, str]) -> None:
    certs = cluster.certs
    config = cluster.workdir / "gateway.yaml"
    # Both gateways read one config: serve's own engine is espeak (in its environment).
    config.write_text(
        yaml.safe_dump({"engines": {"espeak": {"env": "shared"}}, "default_model": MODEL})
    )
    link = [
        "--link-token", TOKEN, "--tls-ca", str(certs.ca),
        "--tls-cert", str(certs.gateway_cert), "--tls-key", str(certs.gateway_key),
    ]  # fmt: skip
    stateless_port, serve_port, serve_worker_port = free_port(), free_port(), free_port()
    cluster.serve_worker_id = f"espeak-0@127.0.0.1:{serve_worker_port}"
    stateless = await spawn(
        "gateway-stateless",
        [sys.executable, "-m", "polyvox", "gateway", "-c", str(config),
         "--registry", cluster.redis.url(), "--port", str(stateless_port), *link],
        workdir=cluster.workdir, env=env,
    )  # fmt: skip
    serving = await spawn(
        "gateway-serve",
        [sys.executable, "-m", "polyvox", "serve", "-c", str(config),
         "--registry", cluster.redis.url(), "--port", str(serve_port),
         "--worker-host", "127.0.0.1", "--worker-port", str(serve_worker_port),
         "--advertise-host", "127.0.0.1", *link],
        workdir=cluster.workdir, env=env,
    )  # fmt: skip
    cluster.gateway_processes += [stateless, serving]
    cluster.gateways += [f"http://127.0.0.1:{stateless_port}", f"http://127.0.0.1:{serve_port}"]


#: Which kind of hosts the cluster tests ran on, for the end-of-run summary.
HOSTS_RAN: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in HOSTS_RAN:
        terminalreporter.write_line(f"cluster tests ran on {line}")


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster")
    async with make_hosts(2) as (kind, hosts):
        HOSTS_RAN.append(f"{kind} hosts ({', '.join(h.address for h in hosts)})")
        bind = sorted({"127.0.0.1", *(host.gateway_side for host in hosts)})
        redis = RedisServer(port=free_port(), bind=bind, workdir=workdir / "redis")
        cluster = Cluster(kind, redis, hosts, make_certificates(workdir / "certs", hosts), workdir)
        env = cluster_env()
        await _build_environment(workdir, env)
        await redis.start()
        try:
            for index, host in enumerate(hosts):
                port = free_port()
                # Host A holds the model from the start; host B loads it only if asked.
                extra = ["--preload", "en_US-joe-medium"] if index == 0 else []
                worker_id = f"piper@{host.address}:{port}"
                cluster.addresses[worker_id] = f"tcp://{host.address}:{port}"
                cluster.workers[worker_id] = await spawn(
                    f"worker-{index}", worker_argv(cluster, host, port, *extra),
                    workdir=workdir, env=env,
                )  # fmt: skip
            await _start_gateways(cluster, env)
            await _wait_until_ready(cluster)
            yield cluster
        finally:
            processes = [*cluster.gateway_processes, *cluster.workers.values()]
            await asyncio.gather(*(terminate(p.process) for p in processes))
            await redis.stop()


async def _build_environment(workdir: Path, env: dict[str, str]) -> None:
    """Piper's environment, built here (hosts in namespaces have no route to a package
    index), as an image build does; the workers then find and reuse it."""
    build = await spawn(
        "environments", [sys.executable, "-m", "polyvox", "environments", "piper"],
        workdir=workdir, env=env,
    )  # fmt: skip
    if await build.process.wait() != 0:
        raise RuntimeError(f"building piper's environment failed:\n{build.log_tail()}")


async def _wait_until_ready(cluster: Cluster) -> None:
    expected = cluster.worker_ids

    async def ready() -> bool:
        for process in [*cluster.gateway_processes, *cluster.workers.values()]:
            if process.process.returncode is not None:
                raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        for url in cluster.gateways:
            async with httpx.AsyncClient(timeout=10) as client:
                if (await client.get(f"{url}/readyz")).status_code != 200:
                    return False
            report = await health(url)
            if not expected <= {w["id"] for w in report["workers"] if w["state"] == "up"}:
                return False
            # Host A's preload has finished (so the tests start from a known placement).
            resident = {w["id"]: w["resident_models"] for w in report["workers"]}
            if "en_US-joe-medium" not in resident[next(iter(cluster.workers))]:
                return False
        return True

    # The first run builds piper's environment (minutes); later runs reuse it.
    try:
        await wait_for(ready, timeout_s=900, what="cluster ready", poll_s=0.5)
    except TimeoutError:
        tails = [f"--- {p.name}\n{p.log_tail()}" for p in cluster.gateway_processes]
        tails += [f"--- {p.name}\n{p.log_tail()}" for p in cluster.workers.values()]
        raise TimeoutError("\n".join(tails)) from None
