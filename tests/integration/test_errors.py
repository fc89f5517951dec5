"""Every client mistake gets OpenAI's JSON error shape with the right 4xx status."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
import websockets
from openai import AsyncOpenAI

from support.servers import Gateway

GOOD = {"model": "tts-1", "voice": "alloy", "input": "Hello there."}


def body(**changes: Any) -> dict[str, Any]:
    merged = {**GOOD, **changes}
    return {key: value for key, value in merged.items() if value is not ...}


CASES = [
    ("empty input", body(input=""), 400, "input"),
    ("whitespace input", body(input="  \n\t "), 400, "input"),
    ("unknown model", body(model="no-such-model"), 404, "does not exist"),
    ("unknown native model", body(model="piper/no-such-voice"), 404, "available models"),
    ("unknown voice", body(voice="gandalf"), 400, "valid voices: joe"),
    ("bad format", body(response_format="ogg_vorbis"), 400, "response_format"),
    ("speed too low", body(speed=0.1), 400, "speed"),
    ("speed too high", body(speed=4.5), 400, "speed"),
    ("speed not a number", body(speed="fast"), 400, "speed"),
    ("input wrong type", body(input=123), 400, "input"),
    ("input is a list", body(input=["a", "b"]), 400, "input"),
    ("missing input", body(input=...), 400, "input"),
    ("missing model", body(model=...), 400, "model"),
    ("missing voice", body(voice=...), 400, "voice"),
    ("unknown field", body(volume=11), 400, "volume"),
    ("unsupported sample rate", body(sample_rate=12345), 400, "sample rate"),
    ("opus at 44.1 kHz", body(response_format="opus", sample_rate=44100), 400, "opus"),
    ("oversize input", body(input="word " * 1000), 413, "limit"),
    ("only punctuation", body(input="... --- ..."), 422, "no audio"),
    ("only control characters", body(input="\x00\x01\x1f\x7f"), 400, "input"),
]


@pytest.mark.parametrize(
    ("payload", "status", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_request_gets_json_error(
    gateway: Gateway, payload: dict[str, Any], status: int, mentions: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        response = await client.post("/v1/audio/speech", json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert mentions.lower() in error["message"].lower() + str(error["param"]).lower()
    assert error["type"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2, 3]", b'"just a string"', b"\xff\xfe\x00garbage"],
    ids=["malformed", "empty", "array", "string", "binary"],
)
async def test_malformed_body_is_400(gateway: Gateway, raw: bytes) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post(
            "/v1/audio/speech", content=raw, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400, response.text
    assert "message" in response.json()["error"]


async def test_huge_body_is_413_before_parsing(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        response = await client.post("/v1/audio/speech", json=body(input="x" * 2_000_000))

        async def chunks():  # no Content-Length: the limit must hold while streaming
            for _ in range(40):
                yield b"x" * 50_000

        chunked = await client.post(
            "/v1/audio/speech", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert chunked.status_code == 413
    assert chunked.json()["error"]["code"] == "request_too_large"


async def test_unknown_route_and_method_are_json(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        missing = await client.get("/v1/nope")
        wrong_method = await client.get("/v1/audio/speech")
    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    assert missing.json()["error"]["message"]
    assert wrong_method.json()["error"]["message"]


async def test_unknown_websocket_path_is_a_json_404(gateway: Gateway) -> None:
    url = gateway.url.replace("http://", "ws://") + "/v1/audio/nothing/ws"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    assert refused.value.response.status_code == 404
    error = json.loads(refused.value.response.body or b"{}")["error"]
    assert "/v1/audio/nothing/ws" in error["message"]


async def test_sdk_raises_typed_errors(openai_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        await openai_client.audio.speech.create(model="nope", voice="alloy", input="Hi.")
    with pytest.raises(openai.BadRequestError, match="valid voices"):
        await openai_client.audio.speech.create(model="tts-1", voice="nobody", input="Hi.")


async def test_server_still_speaks_after_bad_requests(openai_client: AsyncOpenAI) -> None:
    response = await openai_client.audio.speech.create(
        model="tts-1", voice="alloy", input="Still here.", response_format="wav"
    )
    assert len(response.content) > 10_000
