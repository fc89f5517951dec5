"""An OpenAI-compatible chat-completions server that answers from a script, for tests.

The language model is the one part of a voice agent that cannot run here, so
tests start this double on a free loopback port. Each request takes the next
reply of the script: text streamed token by token at a
set pace after a set first-token delay, a tool call whose JSON arguments are
streamed in pieces, an HTTP error, or raw SSE lines for malformed streams (once
the script is used up its last reply repeats; an empty script says "Hello."). It
records every request body (to assert on the messages and tools sent) and
notices when a client hangs up mid-stream.

It runs uvicorn on a thread of its own with its own event loop, so it keeps
its pace whatever the test's loop is doing, and works from sync and async
tests alike::

    with ScriptedLlm(TextReply("Hello there.")) as llm:
        client = LlmClient(LlmEndpoint(base_url=llm.base_url, model="scripted"))
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class TextReply:
    """``text`` streamed in tokens (words with their leading space, by default)."""

    text: str
    first_token_delay_s: float = 0.0
    tokens_per_s: float = 50.0
    tokens: tuple[str, ...] | None = None
    finish_reason: str = "stop"

    def token_list(self) -> list[str]:
        return list(self.tokens) if self.tokens is not None else re.findall(r"\s*\S+", self.text)


@dataclass(frozen=True)
class ToolCallReply:
    """A call of ``name`` with ``arguments`` (JSON text) streamed in ``pieces``."""

    name: str
    arguments: str
    call_id: str = "call_scripted_1"
    pieces: int = 3
    first_token_delay_s: float = 0.0
    tokens_per_s: float = 50.0
    #: Text the model says before calling (streamed first, as content).
    text_before: str = ""

    def argument_pieces(self) -> list[str]:
        size = max(1, -(-len(self.arguments) // self.pieces))
        return [self.arguments[i : i + size] for i in range(0, len(self.arguments), size)]


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error in OpenAI's shape."""

    status: int = 500
    message: str = "scripted failure"


@dataclass(frozen=True)
class RawReply:
    """These SSE ``data:`` payloads as they are (no ``[DONE]`` added), for malformed streams.

    With another ``content_type`` the payloads are sent as a plain body instead.
    """

    data: tuple[str, ...]
    pause_s: float = 0.0
    content_type: str = "text/event-stream"


Reply = TextReply | ToolCallReply | ErrorReply | RawReply


@dataclass
class _Record:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    disconnects: int = 0
    completed_streams: int = 0


class ScriptedLlm:
    """The scripted server; ``base_url`` ends in ``/v1`` like OpenAI's."""

    def __init__(self, *script: Reply) -> None:
        self._script = list(script)
        self._last: Reply = TextReply("Hello.")
        self._lock = threading.Lock()
        self._record = _Record()
        self._disconnected = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    # -- what tests read ------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Request bodies received, in order."""
        with self._lock:
            return list(self._record.requests)

    @property
    def headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._record.headers)

    @property
    def disconnects(self) -> int:
        """Streams the client hung up on before their end."""
        with self._lock:
            return self._record.disconnects

    @property
    def completed_streams(self) -> int:
        with self._lock:
            return self._record.completed_streams

    def wait_for_disconnect(self, timeout_s: float) -> bool:
        """Block until a client hung up mid-stream (or ``timeout_s``); call via a thread."""
        return self._disconnected.wait(timeout_s)

    def then(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._script.extend(replies)

    def reset(self, *replies: Reply) -> None:
        """Replace the script (and forget the requests): one server shared by many tests."""
        with self._lock:
            self._script = list(replies)
            self._record = _Record()
            self._disconnected.clear()

    # -- lifecycle --------------------------------------------------------------

    def __enter__(self) -> ScriptedLlm:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])
        # No lifespan, no WebSocket protocol (its imports warn), h11: fewest moving parts.
        config = uvicorn.Config(
            app, lifespan="off", ws="none", http="h11", loop="asyncio", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted LLM server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        if self._socket is not None:
            self._socket.close()

    # -- the server -------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self._record.requests.append(body)
            self._record.headers.append(headers)
            if self._script:
                self._last = self._script.pop(0)
            return self._last

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        reply = self._next_reply(body, dict(request.headers))
        if isinstance(reply, ErrorReply):
            error = {"message": reply.message, "type": "server_error", "code": None}
            return JSONResponse({"error": error}, status_code=reply.status)
        if isinstance(reply, RawReply) and reply.content_type != "text/event-stream":
            return Response("".join(reply.data), media_type=reply.content_type)
        if not body.get("stream"):
            return JSONResponse(_completion(body, reply))
        return StreamingResponse(
            self._watched(self._events(body, reply)), media_type="text/event-stream"
        )

    async def _watched(self, events: AsyncIterator[str]) -> AsyncIterator[str]:
        try:
            async for event in events:
                yield event
        except BaseException:
            # Starlette cancels the stream when the client disconnects.
            with self._lock:
                self._record.disconnects += 1
            self._disconnected.set()
            raise
        with self._lock:
            self._record.completed_streams += 1

    async def _events(self, body: dict[str, Any], reply: Reply) -> AsyncIterator[str]:
        if isinstance(reply, RawReply):
            for data in reply.data:
                yield f"data: {data}\n\n"
                await asyncio.sleep(reply.pause_s)
            return
        assert isinstance(reply, TextReply | ToolCallReply)
        chunk = _Chunker(body.get("model", "scripted"))
        yield chunk.delta({"role": "assistant", "content": ""})
        await asyncio.sleep(reply.first_token_delay_s)
        pause_s = 1.0 / reply.tokens_per_s
        text = (
            reply.token_list()
            if isinstance(reply, TextReply)
            else re.findall(r"\s*\S+", reply.text_before)
        )
        for token in text:
            yield chunk.delta({"content": token})
            await asyncio.sleep(pause_s)
        if isinstance(reply, ToolCallReply):
            for index, piece in enumerate(reply.argument_pieces()):
                function = {"arguments": piece} | ({"name": reply.name} if index == 0 else {})
                call: dict[str, Any] = {"index": 0, "function": function}
                if index == 0:
                    call |= {"id": reply.call_id, "type": "function"}
                yield chunk.delta({"tool_calls": [call]})
                await asyncio.sleep(pause_s)
        finish = reply.finish_reason if isinstance(reply, TextReply) else "tool_calls"
        yield chunk.finish(finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            yield chunk.usage(prompt_tokens=_prompt_tokens(body), completion_tokens=len(text))
        yield "data: [DONE]\n\n"


class _Chunker:
    def __init__(self, model: str) -> None:
        self._base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0}
        self._base["model"] = model

    def _event(self, payload: dict[str, Any]) -> str:
        return f"data: {json.dumps({**self._base, **payload})}\n\n"

    def delta(self, delta: dict[str, Any]) -> str:
        return self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    def finish(self, reason: str) -> str:
        return self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})

    def usage(self, *, prompt_tokens: int, completion_tokens: int) -> str:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return self._event({"choices": [], "usage": usage})


def _prompt_tokens(body: dict[str, Any]) -> int:
    """A stand-in count: words of the messages' text."""
    return sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """The whole reply as one ``chat.completion`` (``stream: false``)."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "stop"
    if isinstance(reply, TextReply):
        message["content"] = reply.text
        finish = reply.finish_reason
    elif isinstance(reply, ToolCallReply):
        message["content"] = reply.text_before or None
        function = {"name": reply.name, "arguments": reply.arguments}
        message["tool_calls"] = [{"id": reply.call_id, "type": "function", "function": function}]
        finish = "tool_calls"
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": _prompt_tokens(body), "completion_tokens": 1, "total_tokens": 1},
    }
