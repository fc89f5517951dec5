"""A WebSocket key as OpenAI's browser clients send it: the ``openai-insecure-api-key.``
subprotocol, beside ``realtime``."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from polyvox.gateway.auth import ApiKeyAuth

KEYS = ("first-key",)


async def echo(websocket: WebSocket) -> None:
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
    await websocket.send_text("welcome")
    await websocket.close()


def client() -> TestClient:
    return TestClient(
        ApiKeyAuth(Starlette(routes=[WebSocketRoute("/v1/realtime", echo)]), keys=KEYS)
    )


def test_the_key_as_a_subprotocol_opens_the_socket() -> None:
    protocols = ["realtime", "openai-insecure-api-key.first-key"]
    with client().websocket_connect("/v1/realtime", subprotocols=protocols) as ws:
        assert ws.receive_text() == "welcome"
        assert ws.accepted_subprotocol == "realtime"


@pytest.mark.parametrize(
    "protocols",
    [["realtime", "openai-insecure-api-key.wrong"], ["realtime", "openai-insecure-api-key."], []],
)
def test_a_wrong_or_missing_subprotocol_key_is_a_401(protocols: list[str]) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client().websocket_connect("/v1/realtime", subprotocols=protocols),
    ):
        pass
    assert refused.value.status_code == 401


def test_http_requests_cannot_use_the_subprotocol_header() -> None:
    app = Starlette()
    response = TestClient(ApiKeyAuth(app, keys=KEYS)).get(
        "/v1/models", headers={"Sec-WebSocket-Protocol": "openai-insecure-api-key.first-key"}
    )
    assert response.status_code == 401
