"""Getting a request's stream started: on the best replica that takes it, through the
engine's line when none does, and not at all for a client that has left meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

from polyvox.contract.types import Capability
from polyvox.errors import PolyvoxError, ResourceExhausted, Unavailable
from polyvox.gateway.routing import Route, Router
from polyvox.gateway.waiting_line import Admitted, WaitingLine

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected before its stream started."""


async def on_some_replica(
    routes: Router, name: str, capability: Capability, start: Callable[[Route], Awaitable[T]]
) -> tuple[T, Route]:
    """``start`` on replicas in the router's order until one takes it.

    A replica that is full (RESOURCE_EXHAUSTED) or gone (UNAVAILABLE) before any audio
    left is passed over. When every one was tried: ResourceExhausted if any was full
    (the caller's line waits for room), else the last error.
    """
    tried: set[str] = set()
    failures: list[PolyvoxError] = []
    while True:
        try:
            route = routes.resolve(name, capability=capability, exclude=tried)
        except Unavailable:
            if not failures:
                raise
            full = [exc for exc in failures if isinstance(exc, ResourceExhausted)]
            raise (full or failures)[-1] from None
        try:
            return await start(route), route
        except (ResourceExhausted, Unavailable) as exc:
            logger.info("%s did not take the stream: %s", route.worker.worker_id, exc.message)
            tried.add(route.worker.worker_id)
            failures.append(exc)


async def _disconnected(request: Request) -> None:
    """Return once the client has gone (its request body was read already)."""
    while (await request.receive())["type"] != "http.disconnect":
        continue


async def admit_while_connected(
    request: Request, line: WaitingLine, attempt: Callable[[], Awaitable[T]]
) -> tuple[T, Admitted]:
    """``line.admit(attempt)``, abandoned (ClientGone) if the client disconnects first:
    a request that left gives its place up at once."""
    admission = asyncio.create_task(line.admit(attempt), name="admission")
    watcher = asyncio.create_task(_disconnected(request), name="disconnect-watch")
    try:
        await asyncio.wait({admission, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # The response listens for disconnects itself once it starts: one reader only.
        # (Cancelled from outside, e.g. by the request's deadline: both go.)
        for task in (watcher, admission):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if admission.cancelled():
        raise ClientGone
    return admission.result()
