"""What every WebSocket session shares: the receive loop, JSON parsing, error events and
close codes, and one lock for sends.

A client mistake raises :class:`SessionError`. Sessions differ in what follows it:
the TTS and STT sockets send an ``error`` event and close (1008 for a client mistake,
1011 for a server failure); the Realtime API sends its error event and goes on, and
closes only for a protocol violation (``fatal``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocket

from polyvox.errors import PolyvoxError
from polyvox.gateway.errors import http_status
from polyvox.logs import current_request_id

logger = logging.getLogger(__name__)

#: Close codes (RFC 6455): 1008 policy violation for client mistakes, 1011 server error.
CLOSE_CLIENT_ERROR = 1008
CLOSE_SERVER_ERROR = 1011

ModelT = TypeVar("ModelT", bound=BaseModel)


class SessionError(Exception):
    """What the client is told went wrong; ``fatal`` ends the session in any case."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        close_code: int = CLOSE_CLIENT_ERROR,
        fatal: bool = False,
        recoverable: bool = False,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code
        #: Ends the session whatever its policy (a protocol violation).
        self.fatal = fatal
        #: Only this message failed (text a voice cannot read): reported, and the session
        #: goes on whatever its policy.
        self.recoverable = recoverable
        self.param = param

    @classmethod
    def from_domain(cls, exc: PolyvoxError) -> SessionError:
        """A worker's or router's refusal: a server failure (5xx) closes with 1011."""
        close = CLOSE_SERVER_ERROR if http_status(exc) >= 500 else CLOSE_CLIENT_ERROR
        return cls(exc.reason or exc.code.value, exc.message, close_code=close)


def validate(model: type[ModelT], event: dict[str, Any], *, what: str) -> ModelT:
    """``event`` as ``model``, or a SessionError naming the first bad field."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise SessionError(
            "invalid_session", f"{what} {field}: {error['msg']}", param=field
        ) from None


class WebSocketSession(ABC):
    """One accepted WebSocket: subclasses handle JSON events and binary frames."""

    #: After a client mistake: close (True), or send the error event and go on.
    close_on_error: ClassVar[bool] = True

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._send_lock = asyncio.Lock()
        self._closed = False
        self.request_id = current_request_id() or uuid.uuid4().hex

    async def run(self) -> None:
        """Receive until the client leaves, the session finishes, or a mistake ends it."""
        try:
            while not self._closed:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                try:
                    if message.get("bytes") is not None:
                        finished = await self.on_bytes(message["bytes"])
                    else:
                        finished = await self.on_event(parse_event(message.get("text") or ""))
                except SessionError as exc:
                    if exc.fatal or (self.close_on_error and not exc.recoverable):
                        await self.fail(exc)
                        return
                    await self.report(exc)
                    continue
                if finished:
                    return
        finally:
            await self.on_end()

    @abstractmethod
    async def on_event(self, event: dict[str, Any]) -> bool:
        """Act on one JSON message; True once the session is finished."""

    async def on_bytes(self, data: bytes) -> bool:
        raise SessionError("invalid_message", "binary frames are not accepted; send JSON")

    async def on_end(self) -> None:  # noqa: B027 - optional hook
        """Stop what the session started (runs however it ended)."""

    def error_event(self, error: SessionError) -> dict[str, Any]:
        return {"type": "error", "code": error.code, "message": error.message}

    async def send_json(self, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(payload)

    async def send_bytes(self, data: bytes) -> None:
        async with self._send_lock:
            await self.websocket.send_bytes(data)

    async def report(self, error: SessionError) -> None:
        """Tell the client about an error and go on."""
        logger.info("session %s: %s", self.request_id, error.message)
        with contextlib.suppress(Exception):
            await self.send_json(self.error_event(error))

    async def fail(self, error: SessionError) -> None:
        """Tell the client about an error and close (once; the client may be gone)."""
        if self._closed:
            return
        self._closed = True
        logger.info("session %s ended: %s", self.request_id, error.message)
        with contextlib.suppress(Exception):
            await self.send_json(self.error_event(error))
            await self.websocket.close(code=error.close_code, reason=error.code)

    async def close(self) -> None:
        """End the session normally."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                await self.websocket.close()


def parse_event(text: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except json.JSONDecodeError:
        raise SessionError("invalid_json", "messages must be JSON objects") from None
    if not isinstance(event, dict):
        raise SessionError("invalid_json", "messages must be JSON objects")
    return event
