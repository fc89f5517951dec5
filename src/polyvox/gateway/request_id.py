"""ASGI middleware giving every request an id: the client's ``X-Request-ID`` or a new one.

The id is bound to the log context (every log line about the request carries it),
sent to the worker with the synthesis config, and returned in ``X-Request-ID`` on
every response, WebSocket handshakes included. A client's id is kept only when it
is 1-128 visible ASCII characters; anything else (control characters, spaces,
non-ASCII, oversize) is replaced, so it is safe in headers and log lines.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polyvox.logs import bind_context, reset_context

HEADER = b"x-request-id"
_VALID = re.compile(rb"[\x21-\x7e]{1,128}")
#: ASGI messages that start a response and so carry its headers.
_STARTS = ("http.response.start", "websocket.accept", "websocket.http.response.start")


def request_id_from(scope: Scope) -> str:
    """The client's id when it is acceptable, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER and _VALID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in _STARTS:
                # One header, ours: a route may not add its own (or a stale copy).
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = bind_context(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            reset_context(token)
