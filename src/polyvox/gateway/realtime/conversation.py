"""A realtime session's conversation: ordered items, truncation of played audio, bounds.

Items are the models of :mod:`~polyvox.gateway.realtime.items`, always with an
id. The session adds the user's turns, the client's items and the replies as
they are generated, and records for each reply's audio part the
:class:`~polyvox.gateway.realtime.spoken.SpokenSegment` s it sent, so that a
``conversation.item.truncate`` can cut the transcript to what was heard.

Bounds: at most ``max_items`` items and ``max_chars`` characters of text
(text, transcripts, function arguments and outputs, image URLs). Past either,
the oldest items are dropped, as OpenAI's ``truncation: "auto"`` drops the
oldest messages from the model's context, except that here they leave the
conversation too, so a long session holds bounded memory. A function call and
its output are dropped together (a chat-completions server refuses a tool
result without its call); :meth:`Conversation.add` returns the ids dropped so
the session can send ``conversation.item.deleted`` for them. An item larger
than ``max_chars`` on its own is refused (``item_too_large``). The audio of a
user's ``input_audio`` part is not counted: the session transcribes it and
:meth:`Conversation.replace` s the item with its transcript and without the audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from polyvox.gateway.realtime.ids import item_id as new_item_id
from polyvox.gateway.realtime.items import (
    AnyItem,
    AssistantMessage,
    FunctionCall,
    FunctionCallOutput,
)
from polyvox.gateway.realtime.spoken import SpokenSegment, cut_transcript, heard_segments

#: ``previous_item_id`` that puts an item first (OpenAI's).
ROOT = "root"
DEFAULT_MAX_ITEMS = 500
#: About 50,000 tokens of English: past what small local models take anyway.
DEFAULT_MAX_CHARS = 200_000


class ConversationError(Exception):
    """A conversation event that cannot be done; the session sends it as an ``error``."""

    def __init__(self, code: str, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


@dataclass
class _Entry:
    item: AnyItem
    #: Spoken segments of each audio part, by content index (assistant items).
    segments: dict[int, list[SpokenSegment]] = field(default_factory=dict)


def item_chars(item: AnyItem) -> int:
    """Characters an item counts against the bound."""
    if isinstance(item, FunctionCall):
        return len(item.name) + len(item.arguments)
    if isinstance(item, FunctionCallOutput):
        return len(item.output)
    return sum(
        len(getattr(part, "text", None) or "")
        + len(getattr(part, "transcript", None) or "")
        + len(getattr(part, "image_url", None) or "")
        for part in item.content
    )


class Conversation:
    """The items of one session, in order."""

    def __init__(
        self, *, max_items: int = DEFAULT_MAX_ITEMS, max_chars: int = DEFAULT_MAX_CHARS
    ) -> None:
        if max_items < 1 or max_chars < 1:
            raise ValueError("a conversation holds at least one item and one character")
        self.max_items = max_items
        self.max_chars = max_chars
        self._entries: dict[str, _Entry] = {}  # insertion order is not conversation order
        self._order: list[str] = []

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._entries

    def items(self) -> list[AnyItem]:
        """The items in conversation order."""
        return [self._entries[item_id].item for item_id in self._order]

    def get(self, item_id: str) -> AnyItem:
        return self._entry(item_id).item

    def previous_id(self, item_id: str) -> str | None:
        """The id of the item before ``item_id`` (``None`` for the first)."""
        index = self._index(item_id)
        return self._order[index - 1] if index > 0 else None

    def add(
        self, item: AnyItem, *, previous_item_id: str | None = None
    ) -> tuple[AnyItem, list[str]]:
        """Insert ``item`` after ``previous_item_id`` (``None``: at the end; ``"root"``: first).

        An item without an id gets one. Returns the stored item and the ids of the
        oldest items dropped to stay within the bounds.
        """
        item_id = item.id or new_item_id()
        if item.id is None:
            item = item.model_copy(update={"id": item_id})
        if item_id in self._entries:
            raise ConversationError(
                "duplicate_item_id", f"Item with id '{item_id}' already exists.", param="item.id"
            )
        if item_chars(item) > self.max_chars:
            raise ConversationError(
                "item_too_large",
                f"The item holds {item_chars(item)} characters; a conversation holds at most "
                f"{self.max_chars}.",
                param="item",
            )
        if previous_item_id is None:
            position = len(self._order)
        elif previous_item_id == ROOT:
            position = 0
        else:
            position = self._index(previous_item_id, param="previous_item_id") + 1
        self._order.insert(position, item_id)
        self._entries[item_id] = _Entry(item)
        return item, self._enforce_bounds(keep=item_id)

    def replace(self, item: AnyItem) -> list[str]:
        """Store a new version of an item (same id): a transcript arrived, a reply grew.

        Returns the ids of the oldest items dropped to stay within the bounds; the
        item itself stays even if it alone is past ``max_chars`` (a reply is bounded
        by its ``max_output_tokens``).
        """
        if item.id is None:
            raise ValueError("a stored item always has an id")
        self._entry(item.id).item = item
        return self._enforce_bounds(keep=item.id)

    def delete(self, item_id: str) -> None:
        self._entry(item_id)
        self._order.remove(item_id)
        del self._entries[item_id]

    def add_segment(self, item_id: str, content_index: int, segment: SpokenSegment) -> None:
        """Record that ``segment`` of an assistant item's audio part was sent."""
        entry = self._entry(item_id)
        self._audio_part(entry, item_id, content_index)
        entry.segments.setdefault(content_index, []).append(segment)

    def audio_ms(self, item_id: str, content_index: int) -> int:
        """How much audio of the part was sent (the end of its last recorded segment)."""
        segments = self._entry(item_id).segments.get(content_index, [])
        return segments[-1].end_ms if segments else 0

    def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> AssistantMessage:
        """Cut an assistant item's audio at ``audio_end_ms`` and its transcript to match."""
        entry = self._entry(item_id)
        item = self._audio_part(entry, item_id, content_index)
        sent_ms = self.audio_ms(item_id, content_index)
        if audio_end_ms > sent_ms:
            raise ConversationError(
                "invalid_value",
                f"audio_end_ms ({audio_end_ms}) is past the item's audio ({sent_ms} ms).",
                param="audio_end_ms",
            )
        segments = entry.segments.get(content_index, [])
        content = list(item.content)
        content[content_index] = content[content_index].model_copy(
            update={"transcript": cut_transcript(segments, audio_end_ms)}
        )
        entry.segments[content_index] = heard_segments(segments, audio_end_ms)
        entry.item = item.model_copy(update={"content": content})
        return entry.item

    def _audio_part(self, entry: _Entry, item_id: str, content_index: int) -> AssistantMessage:
        item = entry.item
        if not isinstance(item, AssistantMessage):
            raise ConversationError(
                "invalid_value",
                f"Item '{item_id}' is not an assistant message: only they have audio to cut.",
                param="item_id",
            )
        if not 0 <= content_index < len(item.content) or (
            item.content[content_index].type != "output_audio"
        ):
            raise ConversationError(
                "invalid_value",
                f"Item '{item_id}' has no audio part at content_index {content_index}.",
                param="content_index",
            )
        return item

    def _enforce_bounds(self, *, keep: str) -> list[str]:
        dropped: list[str] = []
        total = sum(item_chars(entry.item) for entry in self._entries.values())
        while len(self._order) > self.max_items or total > self.max_chars:
            oldest = next((i for i in self._order if i != keep), None)
            if oldest is None:
                break
            for gone in self._with_partners(oldest, keep):
                total -= item_chars(self._entries[gone].item)
                self.delete(gone)
                dropped.append(gone)
        return dropped

    def _with_partners(self, item_id: str, keep: str) -> list[str]:
        """The item and, for a function call or its output, the other half of the pair."""
        item = self._entries[item_id].item
        if not isinstance(item, FunctionCall | FunctionCallOutput):
            return [item_id]
        call_id = item.call_id if isinstance(item, FunctionCallOutput) else item.effective_call_id
        partners = [
            other_id
            for other_id in self._order
            if other_id not in (item_id, keep)
            and _pairs(item, self._entries[other_id].item, call_id)
        ]
        return [item_id, *partners]

    def _entry(self, item_id: str) -> _Entry:
        entry = self._entries.get(item_id)
        if entry is None:
            raise ConversationError(
                "item_not_found", f"Item with item_id '{item_id}' not found.", param="item_id"
            )
        return entry

    def _index(self, item_id: str, *, param: str = "item_id") -> int:
        if item_id not in self._entries:
            raise ConversationError(
                "item_not_found", f"Item with item_id '{item_id}' not found.", param=param
            )
        return self._order.index(item_id)


def _pairs(item: FunctionCall | FunctionCallOutput, other: AnyItem, call_id: str) -> bool:
    if isinstance(item, FunctionCall):
        return isinstance(other, FunctionCallOutput) and other.call_id == call_id
    return isinstance(other, FunctionCall) and other.effective_call_id == call_id
