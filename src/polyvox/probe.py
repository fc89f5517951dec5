"""``polyvox probe``: whether the server in this container answers, for image health
checks (Kubernetes probes gateways over HTTP and workers with its own ``grpc:`` probe)."""

from __future__ import annotations

from polyvox.contract.client import WorkerClient
from polyvox.errors import PolyvoxError
from polyvox.worker.settings import WorkerSettings


def gateway_healthy(base_url: str) -> bool:
    """The gateway at ``base_url`` answers /healthz."""
    import httpx

    try:
        return httpx.get(f"{base_url.rstrip('/')}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


async def worker_healthy(address: str | None = None) -> bool:
    """The worker answers grpc.health.v1 with SERVING: at ``address``, else where this
    container's worker settings (POLYVOX_WORKER_*) say it listens (its plaintext health
    address first: under mTLS, a probe may hold no client certificate)."""
    settings = WorkerSettings(in_environment=True)
    tls: bool | None = None  # by the credentials: TLS to tcp:// when a CA is configured
    if address is None and settings.health_listen is not None:
        address, tls = settings.health_listen, False
    elif address is None:
        address = settings.listen
    # A worker on every interface answers on loopback too.
    address = address.replace("//0.0.0.0:", "//127.0.0.1:")
    client = WorkerClient(address, credentials=settings.credentials(), tls=tls)
    try:
        return await client.health(timeout_s=3.0)
    except PolyvoxError:
        return False
    finally:
        await client.close()
