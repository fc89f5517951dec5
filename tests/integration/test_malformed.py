"""A corpus of malformed requests: each gets a 4xx JSON error, and the server stays up.

Wrong types, missing fields, oversize bodies, broken JSON, odd Unicode, control
characters, path-like ids, wrong content types and methods, and broken WebSocket
sessions, all against the real session gateway. The last tests check that the
gateway still answers and still speaks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from support.servers import Gateway
from support.speech import decode

GOOD: dict[str, Any] = {"model": "tts-1", "voice": "alloy", "input": "Hello there."}
JSON = {"content-type": "application/json"}


def speech(**changes: Any) -> dict[str, Any]:
    """The good body with ``changes``; a value of ``...`` removes the field."""
    merged = {**GOOD, **changes}
    return {key: value for key, value in merged.items() if value is not ...}


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    method: str = "POST"
    path: str = "/v1/audio/speech"
    json_body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def raw(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


CASES = [
    # Wrong types.
    Case("model is a number", 400, json_body=speech(model=123)),
    Case("model is null", 400, json_body=speech(model=None)),
    Case("voice is a list", 400, json_body=speech(voice=["alloy"])),
    Case("voice is an object", 400, json_body=speech(voice={"id": "alloy"})),
    Case("input is an object", 400, json_body=speech(input={"text": "Hi"})),
    Case("input is null", 400, json_body=speech(input=None)),
    Case("input is a boolean", 400, json_body=speech(input=True)),
    Case("speed is a word", 400, json_body=speech(speed="1.0x")),
    Case(
        "speed is NaN",
        400,
        raw=raw('{"model":"tts-1","voice":"alloy","input":"Hi","speed":NaN}'),
        headers=JSON,
    ),
    Case(
        "speed is Infinity",
        400,
        raw=raw('{"model":"tts-1","voice":"alloy","input":"Hi","speed":Infinity}'),
        headers=JSON,
    ),
    Case(
        "speed overflows to inf",
        400,
        raw=raw('{"model":"tts-1","voice":"alloy","input":"Hi","speed":1e400}'),
        headers=JSON,
    ),
    Case("sample rate is a word", 400, json_body=speech(sample_rate="high")),
    Case("sample rate is fractional", 400, json_body=speech(sample_rate=24000.5)),
    Case("sample rate is negative", 400, json_body=speech(sample_rate=-24000)),
    Case("sample rate is huge", 400, json_body=speech(sample_rate=10**30)),
    Case("format is a number", 400, json_body=speech(response_format=3)),
    Case("stream format unknown", 400, json_body=speech(stream_format="websocket")),
    Case("instructions is a number", 400, json_body=speech(instructions=5)),
    Case("instructions too long", 400, json_body=speech(instructions="x" * 5000)),
    # Missing fields.
    Case("empty object", 400, json_body={}),
    Case("only input", 400, json_body={"input": "Hello."}),
    Case("only model and voice", 400, json_body=speech(input=...)),
    # Sizes.
    Case("input over the character limit", 413, json_body=speech(input="word " * 1200)),
    Case("body over the byte limit", 413, json_body=speech(instructions="x" * 1_100_000)),
    Case("model id over 256 chars", 400, json_body=speech(model="m" * 300)),
    Case(
        "ten thousand unknown fields",
        400,
        json_body=speech(**{f"field{i}": i for i in range(10_000)}),
    ),
    Case(
        "deeply nested JSON",
        400,
        raw=b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        headers=JSON,
    ),
    # Malformed JSON.
    Case(
        "trailing comma",
        400,
        raw=b'{"model": "tts-1", "voice": "alloy", "input": "Hi",}',
        headers=JSON,
    ),
    Case("single quotes", 400, raw=b"{'model': 'tts-1'}", headers=JSON),
    Case("truncated", 400, raw=b'{"model": "tts-1", "voice": "alloy", "input": "Hi', headers=JSON),
    Case(
        "invalid UTF-8",
        400,
        raw=b'{"model": "tts-1", "voice": "alloy", "input": "\xff\xfe"}',
        headers=JSON,
    ),
    Case(
        "raw control character in a string",
        400,
        raw=b'{"model": "tts-1", "voice": "alloy", "input": "a\x00b"}',
        headers=JSON,
    ),
    Case("a number, not an object", 400, raw=b"42", headers=JSON),
    Case("null body", 400, raw=b"null", headers=JSON),
    # Odd Unicode (lone surrogates written as JSON escapes).
    Case(
        "input is a lone surrogate",
        400,
        raw=raw('{"model":"tts-1","voice":"alloy","input":"\\ud800"}'),
        headers=JSON,
    ),
    Case(
        "model is a lone surrogate",
        400,
        raw=raw('{"model":"\\udfff","voice":"alloy","input":"Hi"}'),
        headers=JSON,
    ),
    Case(
        "voice is a lone surrogate",
        400,
        raw=raw('{"model":"tts-1","voice":"jo\\ud83de","input":"Hi"}'),
        headers=JSON,
    ),
    Case(
        "unknown field named by a surrogate",
        400,
        raw=raw('{"model":"tts-1","voice":"alloy","input":"Hi","\\ud800":1}'),
        headers=JSON,
    ),
    Case(
        "input is only zero-width characters",
        422,
        json_body=speech(input="\u200b\u200c\u200d\u2060\ufeff"),
    ),
    Case("model with a right-to-left override", 404, json_body=speech(model="\u202etts-1")),
    Case("voice in Hebrew", 400, json_body=speech(voice="\u05e9\u05dc\u05d5\u05dd")),
    Case("voice is emoji only", 400, json_body=speech(voice="\U0001f600\U0001f3a4")),
    Case("model with a zero-width joiner", 404, json_body=speech(model="tts\u200d-1")),
    # Control characters.
    Case("input is only control characters", 400, json_body=speech(input="\x00\x07\x1b\x7f")),
    Case("model with a NUL", 404, json_body=speech(model="tts-1\x00")),
    Case("voice with a newline", 400, json_body=speech(voice="alloy\r\nX-Injected: 1")),
    # Path-like ids.
    Case("model ../../etc/passwd", 404, json_body=speech(model="../../etc/passwd")),
    Case("model piper/../x", 404, json_body=speech(model="piper/../x")),
    Case("model absolute path", 404, json_body=speech(model="/etc/passwd")),
    Case("model URL-encoded traversal", 404, json_body=speech(model="piper/%2e%2e%2f%2e%2e%2fx")),
    Case("model file URL", 404, json_body=speech(model="file:///etc/passwd")),
    Case("model Windows path", 404, json_body=speech(model="C:\\Windows\\system32\\x.onnx")),
    Case("voice ../../etc/passwd", 400, json_body=speech(voice="../../etc/passwd")),
    Case("voice absolute onnx path", 400, json_body=speech(voice="/tmp/evil.onnx")),
    Case("voice URL-encoded traversal", 400, json_body=speech(voice="%2e%2e%2f%2e%2e%2fjoe")),
    # Broken voice blends.
    Case("blend of nothing", 400, json_body=speech(voice="+")),
    Case("blend with NaN weight", 400, json_body=speech(voice="joe(nan)+joe(1)")),
    Case("blend of unknown voices", 400, json_body=speech(voice="a(0.5)+b(0.5)")),
    Case("blend of too many parts", 400, json_body=speech(voice="+".join(["joe"] * 100))),
    Case("blend with open parenthesis", 400, json_body=speech(voice="joe((((")),
    # Content types.
    Case(
        "text/plain body",
        400,
        raw=json.dumps(GOOD).encode(),
        headers={"content-type": "text/plain"},
    ),
    Case(
        "form-encoded body",
        400,
        raw=b"model=tts-1&voice=alloy&input=Hi",
        headers={"content-type": "application/x-www-form-urlencoded"},
    ),
    Case(
        "XML body",
        400,
        raw=b"<speech><input>Hi</input></speech>",
        headers={"content-type": "application/xml"},
    ),
    Case(
        "multipart body",
        400,
        raw=b'--b\r\nContent-Disposition: form-data; name="input"\r\n\r\nHi\r\n--b--\r\n',
        headers={"content-type": "multipart/form-data; boundary=b"},
    ),
    # Methods and routes.
    Case("GET speech", 405, method="GET"),
    Case("PUT speech", 405, method="PUT", json_body=GOOD),
    Case("DELETE models", 405, method="DELETE", path="/v1/models"),
    Case("POST voices", 405, method="POST", path="/v1/audio/voices", json_body={}),
    Case("PATCH healthz", 405, method="PATCH", path="/healthz"),
    Case("plain GET on the WebSocket route", 404, method="GET", path="/v1/audio/speech/ws"),
    Case("unknown route", 404, method="GET", path="/v1/audio/speech/../../../etc/passwd"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_malformed_request_gets_json_4xx(gateway: Gateway, case: Case) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        response = await client.request(
            case.method,
            case.path,
            json=case.json_body if case.raw is None and case.json_body is not None else None,
            content=case.raw,
            headers=case.headers,
        )
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["type"] == "invalid_request_error"
    assert "param" in error
    assert "code" in error
    assert response.headers["x-request-id"]


def ws_url(gateway: Gateway, query: str = "") -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/audio/speech/ws" + query


SESSION = {"type": "session.update", "model": "tts-1", "voice": "alloy"}
WS_CASES: list[tuple[str, str, list[str | bytes], str]] = [
    (
        "text before session.update",
        "",
        [json.dumps({"type": "text", "text": "Hi"})],
        "session_not_configured",
    ),
    ("not JSON", "", ["{nope"], "invalid_json"),
    ("a JSON array", "", ["[1, 2]"], "invalid_json"),
    ("a binary frame", "", [b"\x00\x01"], "invalid_message"),
    ("unknown type", "", [json.dumps(SESSION), json.dumps({"type": "dance"})], "unknown_type"),
    (
        "path-like model",
        "?model=../../etc/passwd",
        [json.dumps({**SESSION, "model": "../../etc/passwd"})],
        "not_found",
    ),
    (
        "path-like voice",
        "?voice=%2e%2e%2f",
        [json.dumps({**SESSION, "voice": "/etc/passwd"})],
        "invalid_argument",
    ),
    (
        "sample rate is a word",
        "?sample_rate=abc",
        [json.dumps({**SESSION, "sample_rate": "abc"})],
        "invalid_session",
    ),
    (
        "frame_ms out of range",
        "?frame_ms=-1",
        [json.dumps({**SESSION, "frame_ms": 0})],
        "invalid_session",
    ),
    (
        "unknown session field",
        "?%00=%ff",
        [json.dumps({**SESSION, "volume": 11})],
        "invalid_session",
    ),
    (
        "text is a number",
        "",
        [json.dumps(SESSION), json.dumps({"type": "text", "text": 5})],
        "invalid_message",
    ),
    (
        "text over the limit",
        "",
        [json.dumps(SESSION), json.dumps({"type": "text", "text": "word " * 1000})],
        "text_too_long",
    ),
    ("second session.update", "", [json.dumps(SESSION), json.dumps(SESSION)], "invalid_message"),
]


async def collect_events(ws: ClientConnection, events: list[dict[str, Any]]) -> None:
    """Append JSON events until the server closes the socket (with an error code: raises)."""
    async for message in ws:
        if isinstance(message, str):
            events.append(json.loads(message))


@pytest.mark.parametrize(
    ("query", "frames", "code"), [c[1:] for c in WS_CASES], ids=[c[0] for c in WS_CASES]
)
async def test_malformed_websocket_session_gets_error_event(
    gateway: Gateway, query: str, frames: list[str | bytes], code: str
) -> None:
    events: list[dict[str, Any]] = []
    async with websockets.connect(ws_url(gateway, query)) as ws:
        for frame in frames:
            await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosedError):
            await collect_events(ws, events)
    error = events[-1]
    assert error["type"] == "error", events
    assert error["code"] == code
    assert error["message"]
    assert ws.close_code == 1008


async def test_gateway_is_still_up_and_speaking(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        health = await client.get("/healthz")
        spoken = await client.post(
            "/v1/audio/speech", json=speech(input="Still standing.", response_format="wav")
        )
    assert health.status_code == 200
    assert spoken.status_code == 200
    assert decode(spoken.content).duration_s > 0.5
