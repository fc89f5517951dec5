"""A process that answers grpc.health.v1 on an address and nothing else: the supervisor's
view of a worker, for its unit tests (a real process, real gRPC, no engine).

    python health_only_worker.py ADDRESS LIFETIME_S [--ignore-sigterm]

It serves for LIFETIME_S seconds, then exits with code 3 (a crash); with
``--ignore-sigterm`` it does not stop when asked to.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from polyvox.addresses import grpc_target


async def main(address: str, lifetime_s: float, ignore_sigterm: bool) -> None:
    if ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server = grpc.aio.server()
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(grpc_target(address))
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await asyncio.sleep(lifetime_s)
    await server.stop(None)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), "--ignore-sigterm" in sys.argv))
    sys.exit(3)
