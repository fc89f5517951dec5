"""Which registry a gateway uses, from its settings: the local supervisor's workers
(``serve``), the cluster's (``gateway --registry``), or both (``serve --registry``).
Cluster registries are found by the registry URL's scheme."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from polyvox.config import Settings
from polyvox.contract.link import LinkCredentials
from polyvox.gateway.registry.base import WorkerRegistry
from polyvox.gateway.registry.combined import CombinedRegistry
from polyvox.gateway.registry.local import LocalRegistry
from polyvox.gateway.registry.redis import RedisRegistry
from polyvox.supervisor.supervisor import Supervisor


def _redis(
    settings: Settings, credentials: LinkCredentials, on_stream_end: Callable[[str], None]
) -> RedisRegistry:
    assert settings.registry is not None
    return RedisRegistry(
        url=settings.registry,
        prefix=settings.registry_prefix,
        poll_interval_s=settings.registry_poll_interval_s,
        credentials=credentials,
        on_stream_end=on_stream_end,
    )


#: Cluster registries by URL scheme (redis-py's: TCP, TLS, Unix socket).
CLUSTER_REGISTRIES: dict[
    str, Callable[[Settings, LinkCredentials, Callable[[str], None]], RedisRegistry]
] = {"redis": _redis, "rediss": _redis, "unix": _redis}


def build_registry(
    settings: Settings,
    *,
    supervisor: Supervisor | None,
    on_stream_end: Callable[[str], None],
) -> WorkerRegistry:
    """The registry for these settings; ``supervisor`` runs local workers (``serve``)."""
    local = (
        LocalRegistry(
            supervisor,
            describe_interval_s=settings.describe_interval_s,
            on_stream_end=on_stream_end,
        )
        if supervisor is not None
        else None
    )
    if settings.registry is None:
        if local is None:
            raise ValueError("a gateway without local workers needs a registry")
        return local
    scheme = urlsplit(settings.registry).scheme
    if scheme not in CLUSTER_REGISTRIES:
        known = ", ".join(f"{name}://" for name in CLUSTER_REGISTRIES)
        raise ValueError(f"unsupported registry {settings.registry!r}; use {known}")
    credentials = supervisor.credentials if supervisor else settings.credentials()
    cluster = CLUSTER_REGISTRIES[scheme](settings, credentials, on_stream_end)
    return cluster if local is None else CombinedRegistry(local, cluster)
