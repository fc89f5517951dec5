"""Map domain errors to gRPC status codes, in exactly one place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from polyvox.contract.status import GRPC_STATUS
from polyvox.errors import PolyvoxError

logger = logging.getLogger(__name__)

#: Longest wait for a failing stream's client to finish writing.
_DRAIN_TIMEOUT_S = 2.0


async def _abort(context: grpc.aio.ServicerContext, exc: Exception) -> None:
    if isinstance(exc, PolyvoxError):
        await context.abort(GRPC_STATUS[exc.code], exc.message)
    # The detail (a traceback, library internals) goes to the log, not to the client.
    logger.exception("unexpected error in worker RPC", exc_info=exc)
    await context.abort(
        grpc.StatusCode.INTERNAL,
        f"internal worker error ({type(exc).__name__}); the worker's log has the details",
    )


def _wrap_unary(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await behavior(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return wrapper


async def _drain(requests: AsyncIterator[Any]) -> None:
    """Read what the client is still sending before ending the call with an error.

    grpcio's asyncio client reports INTERNAL instead of the server's status when
    one of its writes races with the server ending the call (grpc/grpc#36066);
    letting the client finish writing first keeps our status codes intact.
    """
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_TIMEOUT_S):
            async for _ in requests:
                pass


def _wrap_stream(
    behavior: Callable[..., AsyncIterator[Any]], *, streaming_requests: bool
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            async for response in behavior(request, context):
                yield response
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            if streaming_requests:
                await _drain(request)
            await _abort(context, exc)

    return wrapper


def same_kind(
    handler: grpc.RpcMethodHandler, behavior: Callable[..., Any]
) -> grpc.RpcMethodHandler:
    """A handler of ``handler``'s kind (unary or streaming, each way) and serialization
    that runs ``behavior`` instead: how an interceptor wraps or replaces a method."""
    serde = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(behavior, **serde)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(behavior, **serde)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(behavior, **serde)
    return grpc.stream_unary_rpc_method_handler(behavior, **serde)


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Turn PolyvoxError into its status code; anything else into INTERNAL, logged."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.response_streaming:
            streaming = handler.stream_stream or handler.unary_stream
            return same_kind(
                handler, _wrap_stream(streaming, streaming_requests=handler.request_streaming)
            )
        return same_kind(handler, _wrap_unary(handler.unary_unary or handler.stream_unary))
