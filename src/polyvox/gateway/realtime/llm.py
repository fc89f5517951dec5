"""A streaming client for the user's OpenAI-compatible chat-completions endpoint.

Ollama, vLLM, llama.cpp's server and OpenAI all speak ``POST {base_url}/chat/completions``
with ``stream: true``: server-sent events of ``chat.completion.chunk`` objects,
then ``data: [DONE]``. :meth:`LlmClient.stream` is an async context manager:
entering it sends the request and raises at once when the server cannot be
reached or answers with an error status; iterating it yields typed deltas;
leaving it (or cancelling the task that is in it) closes the HTTP stream at
once, so a barge-in stops the language model's generation too. The SSE framing
is httpx-sse's; a malformed chunk is an :class:`LlmStreamError`, never a
silent end of the reply.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from polyvox.gateway.realtime.ids import call_id as new_call_id

#: The most of an error response's body read for its message.
_ERROR_BODY_BYTES = 16_384


@dataclass(frozen=True)
class LlmEndpoint:
    """Where the language model is: ``base_url`` ends before ``/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = None
    #: Connect timeout, and longest wait for the next chunk (the first token included).
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    #: Ask for token usage in the last chunk (``stream_options.include_usage``).
    include_usage: bool = True


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStart:
    """The model began calling ``name``; ``index`` orders the calls of one reply."""

    index: int
    call_id: str
    name: str


@dataclass(frozen=True)
class ToolCallArgumentsDelta:
    index: int
    call_id: str
    delta: str


@dataclass(frozen=True)
class ToolCallDone:
    index: int
    call_id: str
    name: str
    #: The whole JSON text of the arguments, as the model wrote it (not checked).
    arguments: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Finish:
    """The reply is over; ``reason`` as the server gave it (``stop``, ``length``...)."""

    reason: str | None
    usage: Usage | None = None


LlmDelta = TextDelta | ToolCallStart | ToolCallArgumentsDelta | ToolCallDone | Finish


class LlmError(Exception):
    """The language model could not give a reply; ``code`` goes into ``response.done``."""

    code = "llm_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LlmUnavailable(LlmError):
    """The server could not be reached, or took longer than the timeouts."""

    code = "llm_unavailable"


class LlmHttpError(LlmError):
    """The server answered with an error status (or an error inside the stream)."""

    code = "llm_error"

    def __init__(self, message: str, *, status_code: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LlmStreamError(LlmError):
    """The stream was not the chat-completions stream it should be."""

    code = "llm_stream_error"


class LlmClient:
    """Streams chat completions from one endpoint; share one per process (a connection pool)."""

    def __init__(self, endpoint: LlmEndpoint, *, http: httpx.AsyncClient | None = None) -> None:
        self.endpoint = endpoint
        timeout = httpx.Timeout(endpoint.read_timeout_s, connect=endpoint.connect_timeout_s)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._owns_http = http is None
        self._url = endpoint.base_url.rstrip("/") + "/chat/completions"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def request_body(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        parallel_tool_calls: bool | None = None,
    ) -> dict[str, Any]:
        """The JSON body of a streamed request; tools in chat-completions form."""
        body: dict[str, Any] = {"model": self.endpoint.model, "messages": list(messages)}
        body["stream"] = True
        if self.endpoint.include_usage:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = list(tools)
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
            if parallel_tool_calls is not None:
                body["parallel_tool_calls"] = parallel_tool_calls
        if max_tokens is not None:
            # max_tokens, not max_completion_tokens: every local server takes it.
            body["max_tokens"] = max_tokens
        return body

    @contextlib.asynccontextmanager
    async def stream(
        self, messages: Sequence[Mapping[str, Any]], **options: Any
    ) -> AsyncIterator[AsyncIterator[LlmDelta]]:
        """Send a streamed request; yield its deltas. Options as :meth:`request_body`'s."""
        headers = {"Accept": "text/event-stream"}
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        body = self.request_body(messages, **options)
        with _transport_errors(self._url):
            async with self._http.stream("POST", self._url, json=body, headers=headers) as response:
                if response.status_code >= 400:
                    raise await _http_error(response)
                deltas = _deltas(EventSource(response), self._url)
                try:
                    yield deltas
                finally:
                    await deltas.aclose()


@contextlib.contextmanager
def _transport_errors(url: str) -> Iterator[None]:
    """httpx's and httpx-sse's errors as :class:`LlmError` s."""
    try:
        yield
    except SSEError as exc:  # a TransportError too: first
        raise LlmStreamError(f"the language model did not stream events: {exc}") from None
    except httpx.TimeoutException:
        raise LlmUnavailable(f"the language model at {url} did not answer in time") from None
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise LlmUnavailable(f"cannot reach the language model at {url}: {reason}") from None


async def _http_error(response: httpx.Response) -> LlmHttpError:
    body = b""
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= _ERROR_BODY_BYTES:
            break
    message = _error_message(body[:_ERROR_BODY_BYTES]) or response.reason_phrase
    return LlmHttpError(
        f"the language model answered {response.status_code}: {message}",
        status_code=response.status_code,
    )


def _error_message(body: bytes) -> str:
    """The message of ``{"error": {"message": ...}}`` (OpenAI), ``{"error": "..."}``, or text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:500]
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error)[:500]


@dataclass
class _Call:
    call_id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    started: bool = False


async def _deltas(source: EventSource, url: str) -> AsyncGenerator[LlmDelta, None]:
    parser = _ChunkParser()
    with _transport_errors(url):
        async for event in source.aiter_sse():
            if event.data.strip() == "[DONE]":
                break
            for delta in parser.feed(event.data):
                yield delta
        else:
            if parser.finish_reason is None:
                raise LlmStreamError("the language model's stream ended before its reply did")
    for delta in parser.finish():
        yield delta


class _ChunkParser:
    """Turns ``chat.completion.chunk`` JSON into deltas, gathering tool calls by index."""

    def __init__(self) -> None:
        self.finish_reason: str | None = None
        self._calls: dict[int, _Call] = {}
        self._usage: Usage | None = None
        self._calls_done = False

    def feed(self, data: str) -> list[LlmDelta]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise LlmStreamError(
                f"the language model sent a chunk that is not JSON: {data[:200]!r}"
            ) from None
        if not isinstance(chunk, dict):
            raise LlmStreamError(
                f"the language model sent a chunk that is not an object: {data[:200]!r}"
            )
        if "error" in chunk:
            # vLLM and others report a failure inside a stream that began with 200.
            raise LlmHttpError(
                f"the language model failed: {_error_message(data.encode())}", status_code=None
            )
        if isinstance(chunk.get("usage"), dict):
            usage = chunk["usage"]
            self._usage = Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            )
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            raise LlmStreamError(f"the language model sent a chunk without choices: {data[:200]!r}")
        deltas: list[LlmDelta] = []
        for choice in choices[:1]:  # n=1: one choice
            deltas.extend(self._choice(choice))
        return deltas

    def _choice(self, choice: Any) -> list[LlmDelta]:
        if not isinstance(choice, dict):
            raise LlmStreamError("the language model sent a choice that is not an object")
        delta = choice.get("delta") or {}
        out: list[LlmDelta] = []
        content = delta.get("content")
        if isinstance(content, str) and content:
            out.append(TextDelta(content))
        for position, call in enumerate(delta.get("tool_calls") or []):
            out.extend(self._tool_call(position, call))
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
            out.extend(self._close_calls())
        return out

    def _tool_call(self, position: int, call: Any) -> list[LlmDelta]:
        if not isinstance(call, dict):
            raise LlmStreamError("the language model sent a tool call that is not an object")
        # Ollama gives whole calls, sometimes without an index: their place says it.
        index = call.get("index", position)
        state = self._calls.setdefault(index, _Call(call.get("id") or new_call_id()))
        function = call.get("function") or {}
        if function.get("name") and not state.name:
            state.name = str(function["name"])
        out: list[LlmDelta] = []
        if state.name and not state.started:
            state.started = True
            out.append(ToolCallStart(index, state.call_id, state.name))
            if state.arguments:  # arguments that came before the name
                out.append(ToolCallArgumentsDelta(index, state.call_id, "".join(state.arguments)))
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            state.arguments.append(arguments)
            if state.started:
                out.append(ToolCallArgumentsDelta(index, state.call_id, arguments))
        return out

    def _close_calls(self) -> list[LlmDelta]:
        if self._calls_done:
            return []
        self._calls_done = True
        out: list[LlmDelta] = []
        for index in sorted(self._calls):
            call = self._calls[index]
            if not call.name:
                raise LlmStreamError(f"the language model's tool call {index} has no function name")
            out.append(ToolCallDone(index, call.call_id, call.name, "".join(call.arguments)))
        return out

    def finish(self) -> list[LlmDelta]:
        return [*self._close_calls(), Finish(self.finish_reason, self._usage)]
