"""Where the gateway's workers come from: a local supervisor (embedded) or, in a cluster,
a shared registry. Routing, health and metrics see only :class:`WorkerHandle` objects."""

from polyvox.gateway.registry.base import WorkerHandle, WorkerRegistry

__all__ = ["WorkerHandle", "WorkerRegistry"]
