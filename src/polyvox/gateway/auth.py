"""ASGI middleware requiring an API key on every route but the probes and metrics.

A key comes as ``Authorization: Bearer <key>`` (what the OpenAI SDK sends) or
``X-API-Key: <key>``. The presented key is compared with every configured key in
constant time (``hmac.compare_digest``, no early exit), so timing tells nothing
about which key, or how much of one, matched. Keys are never logged.

Browsers cannot set headers on a WebSocket: there the key may also come as the
subprotocol ``openai-insecure-api-key.<key>``, as OpenAI's Realtime API takes it
(:func:`accepted_subprotocol` picks the protocol to answer with).

Refusals use OpenAI's error shape with code ``invalid_api_key``. A WebSocket
handshake without a valid key is refused before it is accepted, with the same
401 JSON answer (ASGI's ``websocket.http.response`` extension): a client library
sees a failed handshake with a status it can act on, instead of a socket that
opens and then closes. A server without that extension closes with 1008 (which
it turns into a 403).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from polyvox.gateway.errors import json_error_bytes

#: Liveness, readiness and scraping stay open: orchestrators and Prometheus send no key.
#: So does the try-it page (``/``): it holds no data, and asks for the key itself.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/"})
_POLICY_VIOLATION = 1008
#: The WebSocket subprotocol that carries a key (OpenAI's name for it).
KEY_SUBPROTOCOL_PREFIX = "openai-insecure-api-key."


def _subprotocols(scope: Scope) -> list[str]:
    return [str(protocol) for protocol in scope.get("subprotocols") or ()]


def accepted_subprotocol(scope: Scope) -> str | None:
    """The subprotocol a WebSocket route answers with: the first the client offered
    that is not a key. A browser that offered any fails the handshake unless the
    server picks one; the key itself is never echoed back."""
    return next((p for p in _subprotocols(scope) if not p.startswith(KEY_SUBPROTOCOL_PREFIX)), None)


def presented_key(scope: Scope) -> bytes | None:
    """The key a request carries, from ``Authorization: Bearer`` or ``X-API-Key`` (or a
    WebSocket handshake's ``openai-insecure-api-key.<key>`` subprotocol)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            if scheme.lower() == b"bearer" and credentials.strip():
                return credentials.strip()
        elif name == b"x-api-key" and value.strip():
            return value.strip()
    if scope.get("type") == "websocket":
        for protocol in _subprotocols(scope):
            if protocol.startswith(KEY_SUBPROTOCOL_PREFIX):
                return protocol.removeprefix(KEY_SUBPROTOCOL_PREFIX).encode()
    return None


class ApiKeyAuth:
    def __init__(
        self, app: ASGIApp, *, keys: Iterable[str], open_paths: frozenset[str] = OPEN_PATHS
    ) -> None:
        self.app = app
        self._keys = tuple(key.encode() for key in keys)
        self._open_paths = open_paths

    def _accepts(self, key: bytes) -> bool:
        matched = False
        for candidate in self._keys:
            # Every key is compared, whatever matched before.
            matched |= hmac.compare_digest(key, candidate)
        return matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in self._open_paths:
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        if key is not None and self._accepts(key):
            await self.app(scope, receive, send)
            return
        message = (
            "incorrect API key provided"
            if key is not None
            else "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
        body = json_error_bytes(401, message, code="invalid_api_key")
        if scope["type"] == "http":
            await _send_401(send, "http.response", body)
        elif "websocket.http.response" in scope.get("extensions", {}):
            await _send_401(send, "websocket.http.response", body)
        else:
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION})


async def _send_401(send: Send, prefix: str, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Bearer realm="polyvox"'),
    ]
    await send({"type": f"{prefix}.start", "status": 401, "headers": headers})
    await send({"type": f"{prefix}.body", "body": body})
