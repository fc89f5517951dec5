"""The worker's side of a secured link: TLS server credentials (client certificates
required when a CA is set) and a token checked on every call but health checks.
The gateway's side is contract/link.py."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from polyvox.contract.link import TOKEN_METADATA_KEY
from polyvox.worker.interceptor import same_kind
from polyvox.worker.settings import LinkSettings

#: Orchestrators' probes (Kubernetes' ``grpc:`` probe, compose health checks) send no
#: token; a health answer says only SERVING or NOT_SERVING.
_OPEN_SERVICE_PREFIX = "/grpc.health.v1.Health/"


def server_credentials(link: LinkSettings) -> grpc.ServerCredentials | None:
    """TLS credentials when the worker has a certificate; None: plaintext."""
    if link.tls_cert_file is None or link.tls_key_file is None:
        return None
    client_ca = link.tls_ca_file.read_bytes() if link.tls_ca_file else None
    return grpc.ssl_server_credentials(
        [(link.tls_key_file.read_bytes(), link.tls_cert_file.read_bytes())],
        root_certificates=client_ca,
        # A CA means mutual TLS: a caller without a certificate it signed is refused in
        # the handshake, before any RPC.
        require_client_auth=client_ca is not None,
    )


async def _refuse_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong link token")


async def _refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong link token")
    yield  # pragma: no cover - makes this an async generator, as streaming handlers are


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuse every call whose ``authorization`` metadata is not ``Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def _allowed(self, details: grpc.HandlerCallDetails) -> bool:
        if details.method.startswith(_OPEN_SERVICE_PREFIX):
            return True
        for key, value in details.invocation_metadata or ():
            if key == TOKEN_METADATA_KEY:
                sent = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(sent, self._expected)
        return False

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or self._allowed(handler_call_details):
            return handler
        return same_kind(handler, _refuse_stream if handler.response_streaming else _refuse_unary)
