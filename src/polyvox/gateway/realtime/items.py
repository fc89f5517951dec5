"""Conversation items as clients send them (``conversation.item.create``, ``response.input``).

These follow the SDK's ``RealtimeConversationItem*Param`` types. OpenAI's schema
gives each role one content shape holding every field of every part type (a
user part may carry ``text``, ``audio``, ``transcript``, ``image_url``,
``detail``); the models keep that shape, and the fields that do not belong to a
part's ``type`` are kept and not used. MCP items are not modelled: Polyvox calls
no MCP servers, and the event parser answers them with ``unsupported_value``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Tag

from polyvox.gateway.realtime.wire import TAG_PREFIX, Base64Bytes, WireModel

ItemStatus = Literal["completed", "incomplete", "in_progress"]


class _Item(WireModel):
    #: The client's own id; the server makes one (``item_...``) when it is missing.
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: ItemStatus | None = None


class SystemContent(WireModel):
    type: Literal["input_text"] = "input_text"
    text: str = ""


class SystemMessage(_Item):
    type: Literal["message"]
    role: Literal["system"]
    content: list[SystemContent]


class UserContent(WireModel):
    """``input_text`` (``text``), ``input_audio`` (``audio``, ``transcript``) or ``input_image``."""

    type: Literal["input_text", "input_audio", "input_image"]
    text: str | None = None
    #: 16-bit PCM (or G.711) in the session's input format; transcribed when no transcript.
    audio: Base64Bytes | None = None
    transcript: str | None = None
    #: A data URL (``data:image/png;base64,...``) handed to the language model as it is.
    image_url: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class UserMessage(_Item):
    type: Literal["message"]
    role: Literal["user"]
    content: list[UserContent]


class AssistantContent(WireModel):
    """``output_text`` (``text``) or ``output_audio`` (``transcript``; its audio is not kept)."""

    type: Literal["output_text", "output_audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None


class AssistantMessage(_Item):
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[AssistantContent]


class FunctionCall(_Item):
    """The language model's call of a client function (``arguments`` is JSON text)."""

    type: Literal["function_call"]
    name: str
    arguments: str
    call_id: str | None = None

    @property
    def effective_call_id(self) -> str:
        """The call's id; a client-made call without one is known by its item id."""
        return self.call_id or self.id or ""


class FunctionCallOutput(_Item):
    """The client's answer to a function call."""

    type: Literal["function_call_output"]
    call_id: str
    output: str


def _item_tag(value: Any) -> str | None:
    get = value.get if isinstance(value, dict) else lambda key: getattr(value, key, None)
    kind = get("type")
    if kind == "message":
        return f"{TAG_PREFIX}message:{get('role')}"
    return None if kind is None else f"{TAG_PREFIX}{kind}"


_ItemChoices = (
    Annotated[SystemMessage, Tag("@message:system")]
    | Annotated[UserMessage, Tag("@message:user")]
    | Annotated[AssistantMessage, Tag("@message:assistant")]
    | Annotated[FunctionCall, Tag("@function_call")]
    | Annotated[FunctionCallOutput, Tag("@function_call_output")]
)

Item = Annotated[_ItemChoices, Discriminator(_item_tag)]

Message = SystemMessage | UserMessage | AssistantMessage
AnyItem = Message | FunctionCall | FunctionCallOutput


class ItemReference(WireModel):
    """An item already in the conversation, by id (``response.input``)."""

    type: Literal["item_reference"]
    id: str


InputItem = Annotated[
    _ItemChoices | Annotated[ItemReference, Tag("@item_reference")], Discriminator(_item_tag)
]


def item_to_wire(item: AnyItem) -> dict[str, Any]:
    """The item as server events carry it: with its id, ``object`` and ``status``.

    Audio is never echoed back (as in OpenAI's API): a user's ``input_audio`` part
    shows its transcript, an assistant's ``output_audio`` part its transcript.
    """
    if item.id is None:
        raise ValueError("an item in the conversation always has an id")
    wire = item.model_dump(mode="json", exclude_none=True)
    for part in wire.get("content", ()):
        part.pop("audio", None)
    wire["object"] = "realtime.item"
    wire.setdefault("status", "completed")
    return wire
