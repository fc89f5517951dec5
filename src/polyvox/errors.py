"""Typed domain errors shared by workers and the gateway.

Each error carries an :class:`ErrorCode`; the worker's gRPC interceptor maps the
code to a gRPC status and the gateway maps the status to an HTTP error, each in
exactly one place.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    FAILED_PRECONDITION = "failed_precondition"
    INTERNAL = "internal"


class PolyvoxError(Exception):
    """Base class: a failure with a code and a message meant for the client."""

    code: ErrorCode = ErrorCode.INTERNAL
    #: A finer name for the error than its code, shown to clients (the OpenAI error's
    #: ``code``, a WebSocket error event's), e.g. ``unsupported_language``.
    reason: str | None = None

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidArgument(PolyvoxError):
    """The request names something that exists but asks for it wrongly (bad voice, speed)."""

    code = ErrorCode.INVALID_ARGUMENT


class NotFound(PolyvoxError):
    """The request names a model or engine that does not exist."""

    code = ErrorCode.NOT_FOUND


class ResourceExhausted(PolyvoxError):
    """The worker is at capacity; the client may retry later."""

    code = ErrorCode.RESOURCE_EXHAUSTED


class Unavailable(PolyvoxError):
    """The service cannot answer now (worker down, model failed to load)."""

    code = ErrorCode.UNAVAILABLE


class ModelBusy(PolyvoxError):
    """The model is serving streams and cannot be unloaded now."""

    code = ErrorCode.FAILED_PRECONDITION


class InternalError(PolyvoxError):
    """Something failed that the client cannot fix (a bug, a broken engine)."""

    code = ErrorCode.INTERNAL


_BY_CODE: dict[ErrorCode, type[PolyvoxError]] = {
    ErrorCode.INVALID_ARGUMENT: InvalidArgument,
    ErrorCode.NOT_FOUND: NotFound,
    ErrorCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    ErrorCode.UNAVAILABLE: Unavailable,
    ErrorCode.FAILED_PRECONDITION: ModelBusy,
    ErrorCode.INTERNAL: InternalError,
}


def error_for(code: ErrorCode, message: str) -> PolyvoxError:
    """The domain error of ``code`` (e.g. one that crossed the gRPC boundary)."""
    return _BY_CODE[code](message)
