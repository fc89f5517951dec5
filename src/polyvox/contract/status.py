"""Domain error codes and gRPC status codes, both directions, in one place.

The worker's interceptor sends a :class:`~polyvox.errors.PolyvoxError` as its status;
the client turns a status back into the same error class.
"""

from __future__ import annotations

import grpc

from polyvox.errors import ErrorCode, PolyvoxError, error_for

GRPC_STATUS: dict[ErrorCode, grpc.StatusCode] = {
    ErrorCode.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorCode.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.INTERNAL: grpc.StatusCode.INTERNAL,
}
_CODE_FROM_GRPC: dict[grpc.StatusCode, ErrorCode] = {
    **{status: code for code, status in GRPC_STATUS.items()},
    # The worker went away mid-call, or the call took too long: try again later.
    grpc.StatusCode.CANCELLED: ErrorCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ErrorCode.UNAVAILABLE,
    # A worker that refuses this gateway's token or certificate: a deployment mistake
    # the client cannot fix, and another worker may accept the call.
    grpc.StatusCode.UNAUTHENTICATED: ErrorCode.UNAVAILABLE,
    grpc.StatusCode.PERMISSION_DENIED: ErrorCode.UNAVAILABLE,
}
#: Statuses that mean "the worker could not be reached", not "the worker said no".
_UNREACHABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}
)


def error_from_status(status: grpc.StatusCode, details: str | None) -> PolyvoxError:
    """The domain error a worker's status stands for, with a message for the client."""
    code = _CODE_FROM_GRPC.get(status, ErrorCode.INTERNAL)
    message = details or status.name.lower()
    if status in _UNREACHABLE:
        message = f"speech worker unavailable: {message}"
    elif status in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        message = f"speech worker refused this gateway's credentials: {message}"
    return error_for(code, message)


def error_from_rpc(exc: grpc.aio.AioRpcError) -> PolyvoxError:
    return error_from_status(exc.code(), exc.details())
