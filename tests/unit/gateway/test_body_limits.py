"""BodySizeLimit: one limit for JSON bodies, a larger one for audio uploads."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from polyvox.gateway.limits import BodySizeLimit


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/small", echo, methods=["POST"]), Route("/upload", echo, methods=["POST"])]
    )
    limited = BodySizeLimit(app, max_body_bytes=1000, path_limits={"/upload": 5000})
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=limited), base_url="http://test")


@pytest.mark.parametrize(
    ("path", "size", "status"),
    [("/small", 1000, 200), ("/small", 1001, 413), ("/upload", 5000, 200), ("/upload", 5001, 413)],
)
async def test_each_path_has_its_limit(path: str, size: int, status: int) -> None:
    async with client() as http:
        response = await http.post(path, content=b"x" * size)
    assert response.status_code == status
    if status == 413:
        assert response.json()["error"]["code"] == "request_too_large"


async def test_a_body_without_content_length_is_counted() -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(6):
            yield b"x" * 1000

    async with client() as http:
        response = await http.post("/upload", content=chunks())
    assert response.status_code == 413
