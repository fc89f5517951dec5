"""Parse one client message of the Realtime API into a typed event, or a typed error.

:func:`parse_client_event` is the session's only way in: it returns the event
and the accepted-but-ignored fields the message carried (for the session to
log), or raises :class:`ClientEventError`, which the session turns into an
``error`` event (``server_events.error``) and goes on. Error codes follow
OpenAI's: ``invalid_json``, ``invalid_type``, ``invalid_value``,
``missing_required_parameter``, ``unknown_parameter`` (a field outside the
schema), ``unsupported_value`` (in OpenAI's schema, but not something Polyvox
can do: MCP tools and items).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import Field, JsonValue, ValidationError

from polyvox.gateway.realtime.items import InputItem, Item
from polyvox.gateway.realtime.session_params import (
    AudioFormat,
    MaxOutputTokens,
    Modalities,
    SessionParams,
    Tool,
    ToolChoice,
    Voice,
)
from polyvox.gateway.realtime.wire import (
    Base64Bytes,
    Ignored,
    IgnoredField,
    WireModel,
    error_path,
    ignored_fields,
)

_MCP = "MCP tools and items are not supported: Polyvox calls no MCP servers"
#: ``type`` values of OpenAI's schema that Polyvox refuses rather than ignores (its
#: message for each): accepting an MCP tool or item and doing nothing would leave
#: the client waiting for a result.
UNSUPPORTED_VALUES: dict[str, str] = {
    "mcp": _MCP,
    "mcp_call": _MCP,
    "mcp_list_tools": _MCP,
    "mcp_approval_request": _MCP,
    "mcp_approval_response": _MCP,
}


class _Event(WireModel):
    #: The client's id for this event; errors about it carry it back.
    event_id: str | None = None


class SessionUpdate(_Event):
    type: Literal["session.update"]
    session: SessionParams


class InputAudioBufferAppend(_Event):
    type: Literal["input_audio_buffer.append"]
    #: Audio in the session's input format (16-bit PCM at 24 kHz, or G.711 at 8 kHz).
    audio: Base64Bytes


class InputAudioBufferCommit(_Event):
    type: Literal["input_audio_buffer.commit"]


class InputAudioBufferClear(_Event):
    type: Literal["input_audio_buffer.clear"]


class OutputAudioBufferClear(_Event):
    type: Literal["output_audio_buffer.clear"]


class ConversationItemCreate(_Event):
    type: Literal["conversation.item.create"]
    item: Item
    #: Insert after this item (``"root"``: first); missing: append at the end.
    previous_item_id: str | None = None


class ConversationItemDelete(_Event):
    type: Literal["conversation.item.delete"]
    item_id: str


class ConversationItemRetrieve(_Event):
    type: Literal["conversation.item.retrieve"]
    item_id: str


class ConversationItemTruncate(_Event):
    type: Literal["conversation.item.truncate"]
    item_id: str
    content_index: int = Field(ge=0)
    #: How much of the item's audio the user heard, in ms from its start.
    audio_end_ms: int = Field(ge=0)


class ResponseAudioOutput(WireModel):
    format: AudioFormat | None = None
    voice: Voice | None = None


class ResponseAudio(WireModel):
    output: ResponseAudioOutput | None = None


class ResponseParams(WireModel):
    """One response's settings; missing fields take the session's."""

    audio: ResponseAudio | None = None
    #: ``"auto"``: the reply joins the conversation; ``"none"``: out of band.
    conversation: str | None = None
    #: The context instead of the conversation's items (items or references to them).
    input: list[InputItem] | None = None
    instructions: str | None = None
    max_output_tokens: MaxOutputTokens = None
    #: Up to 16 key-value pairs echoed back in ``response.created`` / ``response.done``.
    metadata: dict[str, str] | None = None
    output_modalities: Modalities | None = None
    parallel_tool_calls: bool | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    prompt: Annotated[JsonValue, Ignored("no stored prompts: use 'instructions'")] = None
    reasoning: Annotated[JsonValue, Ignored("Polyvox has no such feature")] = None


class ResponseCreate(_Event):
    type: Literal["response.create"]
    response: ResponseParams | None = None


class ResponseCancel(_Event):
    type: Literal["response.cancel"]
    #: The response to cancel; missing: the one in progress.
    response_id: str | None = None


ClientEvent = (
    SessionUpdate
    | InputAudioBufferAppend
    | InputAudioBufferCommit
    | InputAudioBufferClear
    | OutputAudioBufferClear
    | ConversationItemCreate
    | ConversationItemDelete
    | ConversationItemRetrieve
    | ConversationItemTruncate
    | ResponseCreate
    | ResponseCancel
)

#: The model of each client event type.
EVENT_MODELS: dict[str, type[_Event]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in (
        SessionUpdate,
        InputAudioBufferAppend,
        InputAudioBufferCommit,
        InputAudioBufferClear,
        OutputAudioBufferClear,
        ConversationItemCreate,
        ConversationItemDelete,
        ConversationItemRetrieve,
        ConversationItemTruncate,
        ResponseCreate,
        ResponseCancel,
    )
}

#: The client event types, in OpenAI's documentation order.
CLIENT_EVENT_TYPES: tuple[str, ...] = tuple(EVENT_MODELS)


class ClientEventError(Exception):
    """A client message the session cannot act on; the session answers with an ``error``."""

    #: OpenAI's error ``type`` for everything a client sends wrong.
    error_type = "invalid_request_error"

    def __init__(
        self, code: str, message: str, *, param: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.event_id = event_id


@dataclass(frozen=True)
class ParsedEvent:
    """A client event and the fields it carried that Polyvox accepts but ignores."""

    event: ClientEvent
    ignored: tuple[IgnoredField, ...] = ()


def parse_client_event(message: str | bytes) -> ParsedEvent:
    """Parse one WebSocket message; raise :class:`ClientEventError` when it is unusable."""
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8 and numbers past Python's digit limit too.
        raise ClientEventError("invalid_json", "The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ClientEventError("invalid_type", "A client event must be a JSON object.")
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if kind is None:
        raise ClientEventError(
            "missing_required_parameter",
            "Missing required parameter: 'type'.",
            param="type",
            event_id=event_id,
        )
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        supported = ", ".join(f"'{name}'" for name in CLIENT_EVENT_TYPES)
        raise ClientEventError(
            "invalid_value",
            f"Invalid value for 'type': {json.dumps(kind)}. Supported values are: {supported}.",
            param="type",
            event_id=event_id,
        )
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        raise _client_error(exc, event_id) from None
    return ParsedEvent(cast(ClientEvent, event), tuple(ignored_fields(event)))


def _client_error(exc: ValidationError, event_id: str | None) -> ClientEventError:
    """OpenAI's error for the first thing wrong with an event (OpenAI names one, too)."""
    errors = exc.errors(include_url=False)
    # A field outside the schema first: a chat-completions style tool
    # ({"type": "function", "function": {...}}) is better told about its extra key
    # than about the "name" it lacks as a consequence.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    detail = _sentence(error["msg"])
    param = error_path(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        return ClientEventError(
            "unknown_parameter", f"Unknown parameter: '{param}'.", param=param, event_id=event_id
        )
    if kind == "missing":
        return _missing(param, event_id)
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        return _bad_tag(param, value, error.get("ctx") or {}, event_id)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return ClientEventError(
            "invalid_type",
            f"Invalid type for '{param}': {detail}.",
            param=param,
            event_id=event_id,
        )
    return ClientEventError(
        "invalid_value",
        f"Invalid value for '{param}': {detail}.",
        param=param,
        event_id=event_id,
    )


def _sentence(message: str) -> str:
    """Pydantic's message as the tail of ours: "Value error, x" → "x", first letter small."""
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _missing(param: str, event_id: str | None) -> ClientEventError:
    return ClientEventError(
        "missing_required_parameter",
        f"Missing required parameter: '{param}'.",
        param=param,
        event_id=event_id,
    )


def _bad_tag(param: str, value: Any, ctx: dict[str, Any], event_id: str | None) -> ClientEventError:
    """A union member chosen by ``type`` (and a message's ``role``) that is absent or unknown."""
    if not isinstance(value, dict):
        return ClientEventError(
            "invalid_type",
            f"Invalid type for '{param}': expected an object.",
            param=param,
            event_id=event_id,
        )
    key = "role" if value.get("type") == "message" else "type"
    found = value.get(key)
    where = f"{param}.{key}" if param else key
    if found is None:
        return _missing(where, event_id)
    if isinstance(found, str) and found in UNSUPPORTED_VALUES:
        return ClientEventError(
            "unsupported_value",
            f"{UNSUPPORTED_VALUES[found]} ('{where}': '{found}').",
            param=where,
            event_id=event_id,
        )
    if key == "role":
        expected = "'system', 'user', 'assistant'"
    else:
        tags = str(ctx.get("expected_tags", "")).split(", ")
        expected = ", ".join(t.replace("@", "") for t in tags if "@message:" not in t)
        expected = (
            f"'message', {expected}" if len(tags) > 1 and "@message:" in tags[0] else expected
        )
    return ClientEventError(
        "invalid_value",
        f"Invalid value for '{where}': {json.dumps(found)}. Supported values are: {expected}.",
        param=where,
        event_id=event_id,
    )
