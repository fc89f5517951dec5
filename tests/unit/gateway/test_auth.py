"""API keys at the ASGI layer: both header forms, every key, open probes, WebSockets."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket

from polyvox.gateway.auth import ApiKeyAuth, accepted_subprotocol, presented_key

KEYS = ("first-key", "second-key")


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=accepted_subprotocol(websocket.scope))
    await websocket.send_text("welcome")
    await websocket.close()


def client() -> TestClient:
    app = Starlette(
        routes=[
            Route("/v1/thing", hello, methods=["GET", "POST"]),
            Route("/healthz", hello),
            Route("/readyz", hello),
            Route("/metrics", hello),
            WebSocketRoute("/v1/ws", echo),
        ]
    )
    return TestClient(ApiKeyAuth(app, keys=KEYS))


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer first-key"},
        {"Authorization": "bearer second-key"},
        {"Authorization": "Bearer   second-key  "},
        {"X-API-Key": "first-key"},
        {"x-api-key": "second-key"},
    ],
)
def test_a_configured_key_in_either_header_passes(headers: dict[str, str]) -> None:
    response = client().get("/v1/thing", headers=headers)
    assert response.status_code == 200
    assert response.text == "hello"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing API key"),
        ({"Authorization": "Bearer "}, "missing API key"),
        ({"Authorization": "first-key"}, "missing API key"),
        ({"Authorization": "Basic first-key"}, "missing API key"),
        ({"Authorization": "Bearer first-keyx"}, "incorrect API key"),
        ({"Authorization": "Bearer first"}, "incorrect API key"),
        ({"X-API-Key": "FIRST-KEY"}, "incorrect API key"),
    ],
)
def test_anything_else_is_a_401_in_openai_shape(headers: dict[str, str], message: str) -> None:
    for method in ("GET", "POST"):
        response = client().request(method, "/v1/thing", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="polyvox"'
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key"
        assert error["type"] == "invalid_request_error"
        assert message in error["message"]
        assert "first-key" not in response.text


def test_unknown_routes_are_refused_too() -> None:
    assert client().get("/v1/elsewhere").status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_and_metrics_are_open(path: str) -> None:
    assert client().get(path).status_code == 200


def test_websocket_without_a_key_is_denied_with_a_401_before_accepting() -> None:
    with pytest.raises(WebSocketDenialResponse) as denied, client().websocket_connect("/v1/ws"):
        pass
    assert denied.value.status_code == 401
    assert denied.value.json()["error"]["code"] == "invalid_api_key"


def test_websocket_with_a_key_is_accepted() -> None:
    with client().websocket_connect("/v1/ws", headers={"X-API-Key": "second-key"}) as ws:
        assert ws.receive_text() == "welcome"


def test_presented_key_reads_either_header() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"headers": list(headers)}

    assert presented_key(scope((b"authorization", b"Bearer k"))) == b"k"
    assert presented_key(scope((b"x-api-key", b" k "))) == b"k"
    assert presented_key(scope((b"authorization", b"Token k"))) is None
    assert presented_key(scope()) is None


def test_a_browser_sends_its_key_as_a_websocket_subprotocol() -> None:
    # Browsers cannot set WebSocket headers: OpenAI's subprotocol carries the key, and
    # the server answers with the client's other protocol, never the key.
    protocols = ["polyvox.v1", "openai-insecure-api-key.second-key"]
    with client().websocket_connect("/v1/ws", subprotocols=protocols) as ws:
        assert ws.receive_text() == "welcome"
        assert ws.accepted_subprotocol == "polyvox.v1"
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client().websocket_connect("/v1/ws", subprotocols=["openai-insecure-api-key.wrong"]),
    ):
        pass
    assert refused.value.status_code == 401


def test_a_subprotocol_key_counts_on_websockets_only() -> None:
    scope = {"type": "http", "headers": [], "subprotocols": ["openai-insecure-api-key.k"]}
    assert presented_key(scope) is None
    assert presented_key({**scope, "type": "websocket"}) == b"k"
