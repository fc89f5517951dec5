"""An OpenAPI schema that tells the truth about errors.

Every error is OpenAI's ``{"error": {...}}`` (``ErrorResponse``), never FastAPI's
default 422 ``HTTPValidationError``: invalid requests get a 400. Routes name the
statuses particular to them with ``error_responses(...)``; the statuses every
route can answer (400 when it takes input, 404 when its path names something,
401 when keys are set, 500) are added
to every operation here, so routes added later are documented without doing
anything.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from polyvox.gateway.auth import OPEN_PATHS

_DESCRIPTIONS = {
    400: "Invalid request: malformed JSON, a wrong type, an unknown voice or format.",
    401: "Missing or incorrect API key.",
    404: "Unknown model.",
    409: "The model is busy and cannot be changed now.",
    413: "Request body or input text over the limit.",
    422: "The input produced no audio.",
    429: "The worker is at capacity; retry after Retry-After seconds.",
    500: "Internal error.",
    503: "The worker serving the model is down or starting; retry after Retry-After seconds.",
    504: "The request did not finish within request_timeout_s.",
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error shape."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status answered with an ErrorResponse."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error.")}
        for status in statuses
    }


def _error_content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}


def install_openapi(app: FastAPI, *, auth: bool) -> None:
    """Replace ``app.openapi`` by one documenting our error answers on every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorDetail", ErrorDetail.model_json_schema())
        components["ErrorResponse"] = {
            "title": "ErrorResponse",
            "description": ErrorResponse.__doc__,
            "type": "object",
            "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
            "required": ["error"],
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _document_errors(operation, auth=auth and path not in OPEN_PATHS)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_errors(operation: dict[str, Any], *, auth: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    takes_input = "requestBody" in operation or bool(operation.get("parameters"))
    statuses = {*(int(s) for s in responses if s.isdigit() and int(s) >= 400), 500}
    if takes_input:
        statuses.add(400)
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", ())):
        statuses.add(404)  # what the path names may not exist
    if auth:
        statuses.add(401)
    # FastAPI's default 422 is replaced by our 400, unless the route declared its own.
    if "422" in responses and _is_default_validation(responses["422"]):
        del responses["422"]
        statuses.discard(422)
    for status in sorted(statuses):
        entry = responses.setdefault(str(status), {})
        entry.setdefault("description", _DESCRIPTIONS.get(status, "Error."))
        entry["content"] = _error_content()


def _is_default_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")
