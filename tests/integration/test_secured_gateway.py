"""A gateway set up as in production: API keys, JSON logs and CORS, on its own.

Authentication is checked on every operation the OpenAPI schema lists (routes
added later are covered without touching this file) and on the WebSocket route;
the probes and /metrics stay open. The JSON log must hold one object per line,
with the request id on the gateway's lines and on the worker's relayed lines,
and never a key.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import websockets
from openai import AsyncOpenAI

from support.servers import Gateway, run_gateway

KEYS = ("pvx-test-key-alpha-7c1f0e", "pvx-test-key-beta-93ad44")
ORIGIN = "https://app.example.com"
CONFIG = {
    "engines": {"piper": {"env": "shared", "preload": ["en_US-joe-medium"]}},
    "api_keys": list(KEYS),
    "log_format": "json",
    "cors_origins": [ORIGIN],
}
SPEECH = {"model": "tts-1", "voice": "alloy", "input": "Keys in order.", "response_format": "wav"}
OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with run_gateway(CONFIG, workdir=tmp_path_factory.mktemp("secured")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
async def operations(secured: Gateway) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(base_url=secured.url) as client:
        schema = (await client.get("/openapi.json", headers={"X-API-Key": KEYS[0]})).json()
    return [(method.upper(), path) for path, item in schema["paths"].items() for method in item]


def concrete(path: str) -> str:
    """A real path for a template: parameters name the served model."""
    return re.sub(r"\{[^}]+\}", "piper/en_US-joe-medium", path)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    body = SPEECH if method == "POST" and path == "/v1/audio/speech" else None
    return await client.request(method, concrete(path), json=body, **kwargs)


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert not any(key in response.text for key in KEYS)


async def test_every_operation_refuses_a_missing_or_wrong_key(
    secured: Gateway, operations: list[tuple[str, str]]
) -> None:
    guarded = [(m, p) for m, p in operations if p not in OPEN_PATHS]
    assert ("POST", "/v1/audio/speech") in guarded
    async with httpx.AsyncClient(base_url=secured.url, timeout=60) as client:
        for method, path in guarded:
            assert_refused(await call(client, method, path))
            assert_refused(await call(client, method, path, headers={"X-API-Key": "nope"}))
            wrong_bearer = {"Authorization": f"Bearer {KEYS[0]}x"}
            assert_refused(await call(client, method, path, headers=wrong_bearer))
            basic = {"Authorization": f"Basic {KEYS[0]}"}  # a key, but not as Bearer
            assert_refused(await call(client, method, path, headers=basic))
        # The schema and unknown routes are not open either.
        assert_refused(await client.get("/openapi.json"))
        assert_refused(await client.get("/v1/no-such-route"))


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {KEYS[0]}"},
        {"authorization": f"bearer {KEYS[1]}"},
        {"X-API-Key": KEYS[1]},
    ],
    ids=["bearer", "bearer-lowercase-second-key", "x-api-key"],
)
async def test_a_valid_key_opens_every_operation(
    secured: Gateway, operations: list[tuple[str, str]], headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=secured.url, timeout=60, headers=headers) as client:
        for method, path in operations:
            response = await call(client, method, path)
            assert response.status_code != 401, (method, path, response.text)
            if (method == "GET" and "{" not in path) or path == "/v1/audio/speech":
                assert response.status_code == 200, (method, path, response.text)


async def test_probes_and_metrics_need_no_key(secured: Gateway) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as client:
        for path in OPEN_PATHS:
            assert (await client.get(path)).status_code == 200, path


async def test_openai_sdk_with_and_without_the_key(secured: Gateway) -> None:
    async with AsyncOpenAI(base_url=f"{secured.url}/v1", api_key=KEYS[0], max_retries=0) as sdk:
        speech = await sdk.audio.speech.create(
            model="tts-1", voice="alloy", input="Hello.", response_format="wav"
        )
        assert len(speech.content) > 10_000
    async with AsyncOpenAI(base_url=f"{secured.url}/v1", api_key="wrong", max_retries=0) as sdk:
        with pytest.raises(openai.AuthenticationError, match="incorrect API key"):
            await sdk.audio.speech.create(model="tts-1", voice="alloy", input="Hello.")


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws"


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "nope"}, {"Authorization": "Bearer nope"}], ids=str
)
async def test_websocket_handshake_without_a_valid_key_is_a_401(
    secured: Gateway, headers: dict[str, str]
) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(secured), additional_headers=headers):
            pass
    response = refused.value.response
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "invalid_api_key"
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


@pytest.mark.parametrize(
    "headers", [{"Authorization": f"Bearer {KEYS[0]}"}, {"X-API-Key": KEYS[1]}], ids=str
)
async def test_websocket_session_with_a_key(secured: Gateway, headers: dict[str, str]) -> None:
    async with websockets.connect(ws_url(secured), additional_headers=headers) as ws:
        assert ws.response.headers["x-request-id"]
        await ws.send(json.dumps({"type": "session.update", "model": "tts-1", "voice": "alloy"}))
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(json.dumps({"type": "text", "text": "Open sesame."}))
        await ws.send(json.dumps({"type": "close"}))
        audio = 0
        async for message in ws:
            if isinstance(message, bytes):
                audio += len(message)
            elif json.loads(message)["type"] == "done":
                break
    assert audio > 24_000


async def test_cors_preflight_and_exposed_request_id(secured: Gateway) -> None:
    async with httpx.AsyncClient(base_url=secured.url, timeout=60) as client:
        preflight = await client.options(
            "/v1/audio/speech",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        refused = await client.get("/v1/models", headers={"Origin": ORIGIN})
        allowed = await client.get("/v1/models", headers={"Origin": ORIGIN, "X-API-Key": KEYS[0]})
        foreign = await client.get(
            "/v1/models", headers={"Origin": "https://evil.example", "X-API-Key": KEYS[0]}
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # A browser can read the 401 (and its request id) as well as a success.
    for response in (refused, allowed):
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert allowed.status_code == 200
    assert "access-control-allow-origin" not in foreign.headers


def log_records(gateway: Gateway) -> list[dict[str, Any]]:
    lines = [line for line in gateway.log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    return records


async def wait_for_record(gateway: Gateway, predicate: Any) -> dict[str, Any]:
    for _ in range(100):  # the worker's lines arrive through a pipe: bounded wait
        if found := [r for r in log_records(gateway) if predicate(r)]:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no such log record:\n" + gateway.log_tail())


async def test_json_logs_carry_the_request_id_on_both_sides(secured: Gateway) -> None:
    request_id = "trace-4f9a.secured/1"
    async with httpx.AsyncClient(base_url=secured.url, timeout=60) as client:
        response = await client.post(
            "/v1/audio/speech",
            json=SPEECH,
            headers={"X-API-Key": KEYS[0], "X-Request-ID": request_id},
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id
    gateway_line = await wait_for_record(
        secured, lambda r: r.get("request_id") == request_id and "worker_id" not in r
    )
    assert gateway_line["model"] == "piper/en_US-joe-medium"
    worker_line = await wait_for_record(
        secured, lambda r: r.get("request_id") == request_id and "worker_id" in r
    )
    assert worker_line["worker_id"] == "piper-0"
    assert worker_line["engine"] == "piper"
    assert worker_line["logger"].startswith("polyvox.worker")


async def test_keys_never_reach_the_log(secured: Gateway) -> None:
    async with httpx.AsyncClient(base_url=secured.url, timeout=60) as client:
        await client.get("/v1/models", headers={"Authorization": f"Bearer {KEYS[0]}"})
        await client.get("/v1/models", headers={"X-API-Key": f"{KEYS[1]}-wrong"})
    text = secured.log_path.read_text()
    assert text.strip()
    assert not any(key in text for key in KEYS)


@pytest.mark.parametrize(
    "sent",
    [b"has space", b"x" * 129, b"na\xc3\xafve", b"tab\there", b""],
    ids=["space", "too-long", "non-ascii", "tab", "empty"],
)
async def test_unacceptable_request_ids_are_replaced(secured: Gateway, sent: bytes) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as client:
        response = await client.get("/healthz", headers=[(b"X-Request-ID", sent)])
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])
    assert len(response.headers.get_list("x-request-id")) == 1


async def test_log_file_is_json_from_the_first_line(secured: Gateway) -> None:
    records = log_records(secured)
    assert any(r["logger"].startswith("uvicorn") for r in records)
    assert any(r.get("worker_id") == "piper-0" for r in records)
    assert Path(secured.log_path).stat().st_size > 0
