"""The language model client against the scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polyvox.gateway.realtime.chat_messages import chat_tool_choice, chat_tools
from polyvox.gateway.realtime.llm import (
    Finish,
    LlmClient,
    LlmDelta,
    LlmEndpoint,
    LlmHttpError,
    LlmStreamError,
    LlmUnavailable,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from polyvox.gateway.realtime.session_params import FunctionTool, ToolChoiceFunction
from support.scripted_llm import ErrorReply, RawReply, ScriptedLlm, TextReply, ToolCallReply

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
WEATHER = FunctionTool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    with ScriptedLlm() as server:
        yield server


def client_for(server: ScriptedLlm, **endpoint: Any) -> LlmClient:
    return LlmClient(LlmEndpoint(base_url=server.base_url, model="scripted-7b", **endpoint))


async def collect(client: LlmClient, **options: Any) -> list[LlmDelta]:
    async with client.stream(MESSAGES, **options) as deltas:
        return [delta async for delta in deltas]


async def test_text_streams_token_by_token(llm: ScriptedLlm) -> None:
    llm.then(TextReply("It is noon in Paris.", first_token_delay_s=0.2, tokens_per_s=100))
    client = client_for(llm, api_key="sk-local")
    started = time.monotonic()
    async with client.stream(MESSAGES, max_tokens=64) as deltas:
        first = await anext(deltas)
        waited_s = time.monotonic() - started
        rest = [delta async for delta in deltas]
    await client.aclose()
    assert waited_s >= 0.2  # the scripted first-token delay (a lower bound only)
    texts = [d.text for d in [first, *rest] if isinstance(d, TextDelta)]
    assert texts == ["It", " is", " noon", " in", " Paris."]
    assert rest[-1] == Finish("stop", Usage(input_tokens=3, output_tokens=5))
    (body,) = llm.requests
    assert body == {
        "model": "scripted-7b",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 64,
    }
    assert llm.headers[-1]["authorization"] == "Bearer sk-local"
    assert llm.completed_streams == 1


async def test_a_tool_call_streams_its_arguments(llm: ScriptedLlm) -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    llm.then(
        ToolCallReply(
            "get_weather", arguments, call_id="call_42", pieces=4, text_before="Let me look."
        )
    )
    client = client_for(llm)
    deltas = await collect(
        client,
        tools=chat_tools([WEATHER]),
        tool_choice=chat_tool_choice(ToolChoiceFunction(type="function", name="get_weather")),
        parallel_tool_calls=False,
    )
    await client.aclose()
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == "Let me look."
    calls = [d for d in deltas if not isinstance(d, TextDelta)]
    assert calls[0] == ToolCallStart(0, "call_42", "get_weather")
    pieces = [d.delta for d in calls if isinstance(d, ToolCallArgumentsDelta)]
    assert len(pieces) == 4
    assert "".join(pieces) == arguments
    assert calls[-2] == ToolCallDone(0, "call_42", "get_weather", arguments)
    finish = calls[-1]
    assert isinstance(finish, Finish)
    assert finish.reason == "tool_calls"
    assert finish.usage is not None
    body = llm.requests[-1]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": WEATHER.parameters,
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["parallel_tool_calls"] is False


async def test_leaving_the_stream_closes_the_connection_at_once(llm: ScriptedLlm) -> None:
    llm.then(TextReply(" ".join(["word"] * 200), tokens_per_s=20))
    client = client_for(llm)
    async with client.stream(MESSAGES) as deltas:
        await anext(deltas)
        await anext(deltas)
    # The server notices the hang-up while it still had ~10 s of tokens to send.
    assert await asyncio.to_thread(llm.wait_for_disconnect, 5)
    assert llm.disconnects == 1
    await client.aclose()


async def test_cancelling_the_task_closes_the_connection(llm: ScriptedLlm) -> None:
    llm.then(TextReply(" ".join(["word"] * 200), tokens_per_s=20))
    client = client_for(llm)
    got_one = asyncio.Event()

    async def consume() -> None:
        async with client.stream(MESSAGES) as deltas:
            async for _ in deltas:
                got_one.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_one.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(llm.wait_for_disconnect, 5)
    await client.aclose()


async def test_a_server_error_carries_the_servers_message(llm: ScriptedLlm) -> None:
    llm.then(ErrorReply(503, "model 'llama3' is loading"))
    client = client_for(llm)
    with pytest.raises(LlmHttpError) as caught:
        await collect(client)
    await client.aclose()
    assert caught.value.status_code == 503
    assert "model 'llama3' is loading" in caught.value.message
    assert caught.value.code == "llm_error"


async def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        client = LlmClient(LlmEndpoint(base_url=f"http://127.0.0.1:{port}/v1", model="m"))
        with pytest.raises(LlmUnavailable) as caught:
            await collect(client)
    await client.aclose()
    assert caught.value.code == "llm_unavailable"
    assert f"127.0.0.1:{port}" in caught.value.message


async def test_a_silent_server_times_out(llm: ScriptedLlm) -> None:
    llm.then(TextReply("late", first_token_delay_s=2.0))
    client = client_for(llm, read_timeout_s=0.3)
    with pytest.raises(LlmUnavailable, match="did not answer in time"):
        await collect(client)
    await client.aclose()


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "choices": [choice], **extra})


@pytest.mark.parametrize(
    ("reply", "error", "match"),
    [
        (RawReply((chunk({"content": "Hi"}), "{not json")), LlmStreamError, "not JSON"),
        (RawReply(('["a list"]',)), LlmStreamError, "not an object"),
        (RawReply(('{"object": "chat.completion.chunk"}',)), LlmStreamError, "without choices"),
        (RawReply((chunk({"content": "Hi"}),)), LlmStreamError, "ended before its reply"),
        (
            RawReply(
                (chunk({"content": "Hi"}), json.dumps({"error": {"message": "CUDA out of memory"}}))
            ),
            LlmHttpError,
            "CUDA out of memory",
        ),
        (
            RawReply(
                (
                    chunk(
                        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
                        "tool_calls",
                    ),
                )
            ),
            LlmStreamError,
            "no function name",
        ),
        (
            RawReply(('{"id": "x", "choices": []}',), content_type="application/json"),
            LlmStreamError,
            "did not stream",
        ),
    ],
)
async def test_malformed_streams_are_errors(
    llm: ScriptedLlm, reply: RawReply, error: type[Exception], match: str
) -> None:
    llm.then(reply)
    client = client_for(llm)
    with pytest.raises(error, match=match):
        await collect(client)
    await client.aclose()


async def test_whole_tool_calls_without_index_and_no_done_marker(llm: ScriptedLlm) -> None:
    # Ollama's shape: each call whole in one chunk; and a stream that ends after finish_reason.
    calls = [
        {"id": "call_a", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"function": {"name": "g", "arguments": "{}"}},
    ]
    llm.then(RawReply((chunk({"tool_calls": calls}), chunk(finish="tool_calls"))))
    client = client_for(llm)
    deltas = await collect(client)
    await client.aclose()
    done = [d for d in deltas if isinstance(d, ToolCallDone)]
    assert [(d.index, d.name, d.arguments) for d in done] == [(0, "f", '{"x": 1}'), (1, "g", "{}")]
    assert done[0].call_id == "call_a"
    assert done[1].call_id.startswith("call_")  # made up: the server gave none
    assert deltas[-1] == Finish("tool_calls", None)


async def test_the_scripted_server_answers_without_streaming_too(llm: ScriptedLlm) -> None:
    llm.then(ToolCallReply("f", '{"a": 1}'))
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{llm.base_url}/chat/completions", json={"model": "m", "messages": MESSAGES}
        )
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"a": 1}'}


def test_tools_without_parameters_get_an_empty_schema() -> None:
    assert chat_tools([FunctionTool(name="ping")]) == [
        {
            "type": "function",
            "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    assert chat_tool_choice("required") == "required"
