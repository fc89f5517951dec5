"""The Wyoming listener the gateway runs beside its HTTP server, and its zeroconf
advertisement (``_wyoming._tcp``, how Home Assistant discovers services)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlparse

from polyvox.config import WyomingSettings
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.handler import Connection
from polyvox.gateway.wyoming.wire import MAX_LINE_BYTES

logger = logging.getLogger(__name__)


class WyomingServer:
    def __init__(self, settings: WyomingSettings, gateway: Gateway) -> None:
        if settings.uri is None:
            raise ValueError("the Wyoming server needs wyoming.uri")
        self._settings = settings
        self._uri = settings.uri
        self._gateway = gateway
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._zeroconf: object | None = None

    async def start(self) -> None:
        parsed = urlparse(self._uri)
        if parsed.scheme == "tcp":
            if parsed.hostname is None or parsed.port is None:
                raise ValueError(f"wyoming.uri {self._uri!r} needs a host and a port")
            self._server = await asyncio.start_server(
                self._accept, parsed.hostname, parsed.port, limit=MAX_LINE_BYTES
            )
        elif parsed.scheme == "unix":
            _remove_stale_socket(parsed.path)
            self._server = await asyncio.start_unix_server(
                self._accept, parsed.path, limit=MAX_LINE_BYTES
            )
        else:
            raise ValueError(f"wyoming.uri must be tcp://host:port or unix:///path: {self._uri!r}")
        logger.info("Wyoming listening on %s", self._uri)
        if parsed.scheme == "tcp" and self._settings.zeroconf:
            await self._advertise(parsed.port or 0)

    async def _advertise(self, port: int) -> None:
        """Register ``_wyoming._tcp``; a host without multicast logs why and goes on."""
        try:
            from wyoming.zeroconf import HomeAssistantZeroconf

            advert = HomeAssistantZeroconf(port=port, name=self._settings.zeroconf_name)
            await advert.register_server()
        except (OSError, RuntimeError, ImportError) as exc:
            logger.warning("Wyoming: no zeroconf advertisement (%s)", exc)
            return
        self._zeroconf = advert
        logger.info("Wyoming advertised as %s._wyoming._tcp", advert.name)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await Connection(self._gateway, reader, writer).run()
        finally:
            self._connections.discard(task)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        advert = self._zeroconf
        if advert is not None:
            with contextlib.suppress(Exception):
                await advert._aiozc.async_close()  # type: ignore[attr-defined]


def _remove_stale_socket(path: str) -> None:
    """A socket file left by a server that did not stop cleanly blocks the bind."""
    Path(path).unlink(missing_ok=True)
