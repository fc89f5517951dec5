"""HTTP errors in OpenAI's shape, and the one mapping from domain error codes to HTTP."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from polyvox.errors import ErrorCode, PolyvoxError

logger = logging.getLogger(__name__)

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FAILED_PRECONDITION: 409,
    ErrorCode.RESOURCE_EXHAUSTED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


def http_status(exc: PolyvoxError) -> int:
    return HTTP_STATUS[exc.code]


def _error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(
    status: int, message: str, *, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {
        "error": {"message": message, "type": _error_type(status), "param": param, "code": code}
    }


class ApiError(Exception):
    """An error answered to the client as ``{"error": {...}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        #: Seconds a client should wait before retrying (429, 503); 1 when not estimated.
        self.retry_after_s = retry_after_s

    @classmethod
    def from_domain(cls, exc: PolyvoxError) -> ApiError:
        return cls(HTTP_STATUS[exc.code], exc.message, code=exc.reason or exc.code.value)

    @classmethod
    def from_exception(cls, exc: ApiError | PolyvoxError) -> ApiError:
        return exc if isinstance(exc, ApiError) else cls.from_domain(exc)

    def response(self) -> JSONResponse:
        headers = None
        if self.status in (429, 503):
            headers = {"Retry-After": str(max(1, math.ceil(self.retry_after_s or 1)))}
        return error_response(
            self.status, self.message, code=self.code, param=self.param, headers=headers
        )


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(status, message, code=code, param=param)
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, int]:
    """Return (message, param, status) for the first validation problem."""
    error: dict[str, Any] = exc.errors()[0]
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    param = ".".join(loc) or None
    if error.get("type") == "json_invalid":
        return "could not parse the request body as JSON", None, 400
    if error.get("type") == "model_attributes_type":
        return "the request body must be a JSON object", None, 400
    message = error.get("msg", "invalid request")
    return (f"invalid value for '{param}': {message}" if param else message), param, 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(PolyvoxError)
    async def _domain_error(request: Request, exc: PolyvoxError) -> JSONResponse:
        return ApiError.from_domain(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param, status = _validation_message(exc)
        return error_response(status, message, param=param, code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal server error", code="internal")


def json_error_bytes(status: int, message: str, *, code: str) -> bytes:
    """The error body for code below the FastAPI layer (ASGI middleware)."""
    return json.dumps(error_body(status, message, code=code)).encode()
