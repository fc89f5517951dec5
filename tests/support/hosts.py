"""Hosts for the cluster tests: network namespaces made by the test, each with its own
address on a veth pair to this (root) namespace, where Redis and the gateways run; or,
where namespaces cannot be made (not root, no ``ip``), loopback with one port per host.

``POLYVOX_TEST_HOSTS=loopback`` forces the fallback, so both paths can be run here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

NAMESPACES = "namespaces"
LOOPBACK = "loopback"


@dataclass(frozen=True)
class Host:
    name: str
    #: Where gateways reach this host's workers.
    address: str
    #: Where this host reaches Redis (and the root namespace).
    gateway_side: str
    #: What a command is prefixed with to run on this host.
    prefix: tuple[str, ...] = ()

    def command(self, *argv: str) -> list[str]:
        return [*self.prefix, *argv]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _subnet() -> tuple[int, int]:
    """A /24 of 10/8 unlikely to be used by another run on this machine (by pid)."""
    pid = os.getpid()
    return 64 + (pid >> 8) % 128, pid & 0xFF


def _make_namespace_hosts(count: int) -> list[Host]:
    a, b = _subnet()
    tag = os.getpid() % 100_000
    hosts: list[Host] = []
    try:
        for index in range(1, count + 1):
            name = f"pvx{tag}h{index}"
            outside, inside = f"pv{tag}r{index}", f"pv{tag}h{index}"
            root_ip, host_ip = f"10.{a}.{b}.{4 * index + 1}", f"10.{a}.{b}.{4 * index + 2}"
            _ip("netns", "add", name)
            hosts.append(Host(name, host_ip, root_ip, ("ip", "netns", "exec", name)))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", name)
            _ip("addr", "add", f"{root_ip}/30", "dev", outside)
            _ip("link", "set", outside, "up")
            _ip("-n", name, "addr", "add", f"{host_ip}/30", "dev", inside)
            _ip("-n", name, "link", "set", inside, "up")
            _ip("-n", name, "link", "set", "lo", "up")
    except (OSError, subprocess.CalledProcessError):
        _remove_namespace_hosts(hosts)
        raise
    return hosts


def _remove_namespace_hosts(hosts: Sequence[Host]) -> None:
    for host in hosts:
        # Deleting the namespace deletes its end of the veth pair, and so the pair.
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            _ip("netns", "del", host.name)


def _loopback_hosts(count: int) -> list[Host]:
    return [Host(f"loopback{index}", "127.0.0.1", "127.0.0.1") for index in range(1, count + 1)]


@contextlib.asynccontextmanager
async def make_hosts(count: int) -> AsyncIterator[tuple[str, list[Host]]]:
    """``count`` hosts and which kind ran (``namespaces`` or ``loopback``)."""
    wanted = os.environ.get("POLYVOX_TEST_HOSTS", NAMESPACES)
    if wanted == NAMESPACES and shutil.which("ip") is not None:
        try:
            hosts = await asyncio.to_thread(_make_namespace_hosts, count)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            logger.warning("network namespaces cannot be made (%s): loopback hosts", detail)
        else:
            try:
                yield NAMESPACES, hosts
            finally:
                await asyncio.to_thread(_remove_namespace_hosts, hosts)
            return
    yield LOOPBACK, _loopback_hosts(count)
