"""Request ids: a client's acceptable id is kept, anything else replaced; one header out."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from polyvox.gateway.request_id import RequestIdMiddleware, request_id_from
from polyvox.logs import current_request_id

GENERATED = re.compile(r"[0-9a-f]{32}")


async def seen(request: Request) -> JSONResponse:
    # A route that sets its own (stale) header: the middleware's must win, once.
    return JSONResponse({"id": current_request_id()}, headers={"x-request-id": "stale"})


async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(current_request_id() or "")
    await websocket.close()


def client() -> TestClient:
    app = Starlette(routes=[Route("/seen", seen), WebSocketRoute("/ws", ws)])
    return TestClient(RequestIdMiddleware(app))


def test_a_good_id_is_kept_seen_by_the_route_and_returned_once() -> None:
    response = client().get("/seen", headers={"X-Request-ID": "abc-123_/:.=+@"})
    assert response.json() == {"id": "abc-123_/:.=+@"}
    assert response.headers.get_list("x-request-id") == ["abc-123_/:.=+@"]


def test_without_an_id_one_is_made() -> None:
    response = client().get("/seen")
    assert GENERATED.fullmatch(response.headers["x-request-id"])
    assert response.json()["id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    "value",
    [b"", b"a b", b"a\tb", b"x" * 129, b"caf\xc3\xa9", b"\x7f", b"line\x0b"],
    ids=["empty", "space", "tab", "too-long", "non-ascii", "del", "vertical-tab"],
)
def test_unacceptable_ids_are_replaced(value: bytes) -> None:
    assert GENERATED.fullmatch(request_id_from({"headers": [(b"x-request-id", value)]}))


def test_the_longest_acceptable_id() -> None:
    value = b"x" * 128
    assert request_id_from({"headers": [(b"x-request-id", value)]}) == value.decode()


def test_websocket_handshake_carries_the_id() -> None:
    with client().websocket_connect("/ws", headers={"X-Request-ID": "ws-1"}) as socket:
        assert socket.receive_text() == "ws-1"
