"""Render a conversation as OpenAI chat-completions ``messages`` for the language model.

The instructions come first as a system message; then, in order: system items
as system messages, user items as their text and the transcripts of their audio
(images as ``image_url`` parts, for a model that reads them), assistant items
as their text or transcript, function calls as an assistant message's
``tool_calls`` and their outputs as ``tool`` messages.

Chat-completions servers refuse a tool call without its result and a result
without its call, so a call the client has not answered yet and an output whose
call is gone (deleted, or dropped by the bounds) are left out. A user's audio
not transcribed yet (or heard as silence) adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyvox.gateway.realtime.items import (
    AnyItem,
    AssistantMessage,
    FunctionCall,
    FunctionCallOutput,
    SystemMessage,
    UserMessage,
)
from polyvox.gateway.realtime.session_params import FunctionTool, ToolChoiceFunction

ChatMessage = dict[str, Any]


def chat_messages(items: Sequence[AnyItem], *, instructions: str = "") -> list[ChatMessage]:
    """The ``messages`` of a chat-completions request answering after ``items``."""
    answered = {item.call_id for item in items if isinstance(item, FunctionCallOutput)}
    called = {
        item.effective_call_id
        for item in items
        if isinstance(item, FunctionCall) and item.effective_call_id in answered
    }
    messages: list[ChatMessage] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        if isinstance(item, FunctionCall):
            if item.effective_call_id in called:
                _add_tool_call(messages, item)
        elif isinstance(item, FunctionCallOutput):
            if item.call_id in called:
                messages.append(
                    {"role": "tool", "tool_call_id": item.call_id, "content": item.output}
                )
        else:
            message = _message(item)
            if message is not None:
                messages.append(message)
    return messages


def _message(item: SystemMessage | UserMessage | AssistantMessage) -> ChatMessage | None:
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for part in item.content:
        if isinstance(item, UserMessage) and part.type == "input_image":
            image_url = getattr(part, "image_url", None)
            if image_url:
                detail = getattr(part, "detail", None)
                url = {"url": image_url, **({"detail": detail} if detail else {})}
                images.append({"type": "image_url", "image_url": url})
            continue
        text = getattr(part, "text", None) if part.type.endswith("_text") else None
        text = text if text is not None else getattr(part, "transcript", None)
        if text:
            texts.append(text)
    content = "\n".join(texts)
    if images:
        parts = [{"type": "text", "text": content}] if content else []
        return {"role": item.role, "content": parts + images}
    return {"role": item.role, "content": content} if content else None


def _add_tool_call(messages: list[ChatMessage], call: FunctionCall) -> None:
    tool_call = {
        "id": call.effective_call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    last = messages[-1] if messages else None
    # What the model said just before calling, and calls made together, are one message.
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(tool_call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})


def chat_tools(tools: Sequence[FunctionTool]) -> list[dict[str, Any]]:
    """Realtime function tools (flat) in chat-completions form (``function`` nested)."""
    rendered = []
    for tool in tools:
        function: dict[str, Any] = {"name": tool.name}
        if tool.description:
            function["description"] = tool.description
        # Some servers (llama.cpp) refuse a function without a parameters schema.
        function["parameters"] = tool.parameters or {"type": "object", "properties": {}}
        rendered.append({"type": "function", "function": function})
    return rendered


def chat_tool_choice(choice: str | ToolChoiceFunction) -> str | dict[str, Any]:
    """``"auto"``/``"none"``/``"required"`` as they are; a forced function nested."""
    if isinstance(choice, str):
        return choice
    return {"type": "function", "function": {"name": choice.name}}
