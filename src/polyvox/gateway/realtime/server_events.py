"""Builders of every server event the realtime session sends, as JSON-ready dicts.

Each builder takes keyword arguments only, gives the event a fresh ``event_...``
id, and returns exactly the fields of the SDK's ``RealtimeServerEvent`` member
for its type (the tests validate every builder's output against it). Items and
responses come in already in wire form (``items.item_to_wire``,
:func:`response_object`); the session object comes from the session's config.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from polyvox.gateway.realtime.ids import event_id

Event = dict[str, Any]
ResponseStatus = Literal["in_progress", "completed", "cancelled", "failed", "incomplete"]
#: Why a response stopped early: ``turn_detected`` (barge-in), ``client_cancelled``
#: (``response.cancel``), ``max_output_tokens``, ``content_filter``.
StatusReason = Literal["turn_detected", "client_cancelled", "max_output_tokens", "content_filter"]


def _event(kind: str, **fields: Any) -> Event:
    return {"type": kind, "event_id": event_id(), **fields}


def error(
    *,
    code: str,
    message: str,
    type: str = "invalid_request_error",
    param: str | None = None,
    client_event_id: str | None = None,
) -> Event:
    """``error``: what went wrong, the field (``param``) and the client event it was about."""
    details = {"type": type, "code": code, "message": message, "param": param}
    return _event("error", error={**details, "event_id": client_event_id})


def session_created(session: Mapping[str, Any]) -> Event:
    """``session.created``: the first event, with the whole session configuration."""
    return _event("session.created", session=dict(session))


def session_updated(session: Mapping[str, Any]) -> Event:
    """``session.updated``: the whole effective configuration after a ``session.update``."""
    return _event("session.updated", session=dict(session))


def speech_started(*, item_id: str, audio_start_ms: int) -> Event:
    """``input_audio_buffer.speech_started``; ms count from the session's first input audio."""
    return _event(
        "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=item_id
    )


def speech_stopped(*, item_id: str, audio_end_ms: int) -> Event:
    """``input_audio_buffer.speech_stopped`` (same clock as :func:`speech_started`)."""
    return _event("input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id)


def input_audio_committed(*, item_id: str, previous_item_id: str | None) -> Event:
    """``input_audio_buffer.committed``: the buffer became the user item ``item_id``."""
    return _event(
        "input_audio_buffer.committed", item_id=item_id, previous_item_id=previous_item_id
    )


def input_audio_cleared() -> Event:
    return _event("input_audio_buffer.cleared")


def input_audio_timeout_triggered(*, item_id: str, audio_start_ms: int, audio_end_ms: int) -> Event:
    """``input_audio_buffer.timeout_triggered``: ``idle_timeout_ms`` passed in silence."""
    return _event(
        "input_audio_buffer.timeout_triggered",
        audio_start_ms=audio_start_ms,
        audio_end_ms=audio_end_ms,
        item_id=item_id,
    )


def output_audio_cleared(*, response_id: str) -> Event:
    """``output_audio_buffer.cleared``: audio not yet sent for ``response_id`` was dropped."""
    return _event("output_audio_buffer.cleared", response_id=response_id)


def item_added(*, item: Mapping[str, Any], previous_item_id: str | None) -> Event:
    """``conversation.item.added``: an item joined the conversation (maybe still in progress)."""
    return _event("conversation.item.added", item=dict(item), previous_item_id=previous_item_id)


def item_done(*, item: Mapping[str, Any], previous_item_id: str | None) -> Event:
    """``conversation.item.done``: the item is complete (transcribed, or fully generated)."""
    return _event("conversation.item.done", item=dict(item), previous_item_id=previous_item_id)


def item_deleted(*, item_id: str) -> Event:
    return _event("conversation.item.deleted", item_id=item_id)


def item_truncated(*, item_id: str, content_index: int, audio_end_ms: int) -> Event:
    """``conversation.item.truncated``: an assistant item's audio was cut at ``audio_end_ms``."""
    return _event(
        "conversation.item.truncated",
        item_id=item_id,
        content_index=content_index,
        audio_end_ms=audio_end_ms,
    )


def item_retrieved(*, item: Mapping[str, Any]) -> Event:
    return _event("conversation.item.retrieved", item=dict(item))


def transcription_delta(*, item_id: str, content_index: int, delta: str) -> Event:
    """``conversation.item.input_audio_transcription.delta``: more of the user's words."""
    return _event(
        "conversation.item.input_audio_transcription.delta",
        item_id=item_id,
        content_index=content_index,
        delta=delta,
    )


def transcription_completed(
    *, item_id: str, content_index: int, transcript: str, audio_duration_s: float
) -> Event:
    """``...input_audio_transcription.completed``; usage is the audio's duration (as Whisper's)."""
    return _event(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=content_index,
        transcript=transcript,
        usage={"type": "duration", "seconds": audio_duration_s},
    )


def transcription_failed(*, item_id: str, content_index: int, code: str, message: str) -> Event:
    """``...input_audio_transcription.failed``: the turn could not be transcribed."""
    return _event(
        "conversation.item.input_audio_transcription.failed",
        item_id=item_id,
        content_index=content_index,
        error={"type": "transcription_error", "code": code, "message": message, "param": None},
    )


def response_object(
    *,
    response_id: str,
    status: ResponseStatus,
    output: Sequence[Mapping[str, Any]] = (),
    conversation_id: str | None,
    output_modalities: Sequence[Literal["text", "audio"]],
    voice: str,
    output_format: Mapping[str, Any],
    max_output_tokens: int | None,
    metadata: Mapping[str, str] | None = None,
    reason: StatusReason | None = None,
    failure: tuple[str, str] | None = None,
    usage: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The ``response`` of ``response.created`` / ``response.done``.

    ``conversation_id`` is ``None`` for an out-of-band response. ``failure`` is
    ``(code, message)`` of a failed response; ``usage`` the language model's
    ``input_tokens`` / ``output_tokens`` when it reported them.
    """
    details: dict[str, Any] | None = None
    if status != "in_progress" and (reason is not None or failure is not None):
        details = {"type": status, "reason": reason, "error": None}
        if failure is not None:
            details["error"] = {"type": "server_error", "code": failure[0], "message": failure[1]}
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "status_details": details,
        "output": [dict(item) for item in output],
        "conversation_id": conversation_id,
        "output_modalities": list(output_modalities),
        "max_output_tokens": "inf" if max_output_tokens is None else max_output_tokens,
        "audio": {"output": {"format": dict(output_format), "voice": voice}},
        "metadata": None if metadata is None else dict(metadata),
        "usage": _usage(usage),
    }


def _usage(usage: Mapping[str, int] | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    inputs, outputs = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {
        "total_tokens": inputs + outputs,
        "input_tokens": inputs,
        "output_tokens": outputs,
        "input_token_details": {"text_tokens": inputs, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"text_tokens": outputs, "audio_tokens": 0},
    }


def response_created(*, response: Mapping[str, Any]) -> Event:
    return _event("response.created", response=dict(response))


def response_done(*, response: Mapping[str, Any]) -> Event:
    """``response.done``: always sent, whatever the status (completed, cancelled, failed...)."""
    return _event("response.done", response=dict(response))


def output_item_added(*, response_id: str, output_index: int, item: Mapping[str, Any]) -> Event:
    return _event(
        "response.output_item.added",
        response_id=response_id,
        output_index=output_index,
        item=dict(item),
    )


def output_item_done(*, response_id: str, output_index: int, item: Mapping[str, Any]) -> Event:
    return _event(
        "response.output_item.done",
        response_id=response_id,
        output_index=output_index,
        item=dict(item),
    )


@dataclass(frozen=True)
class PartRef:
    """Where a content part is: its response, its item, the item's index in the
    response's output, and the part's index in the item's content."""

    response_id: str
    item_id: str
    output_index: int
    content_index: int

    def _fields(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "item_id": self.item_id,
            "output_index": self.output_index,
            "content_index": self.content_index,
        }


def content_part(kind: Literal["audio", "text"], text: str = "") -> dict[str, Any]:
    """A content part: ``audio`` carries its transcript, ``text`` its text.

    The SDK's part types are ``audio`` and ``text`` here (the item's own content
    parts are ``output_audio`` / ``output_text``).
    """
    if kind == "audio":
        return {"type": "audio", "transcript": text}
    return {"type": "text", "text": text}


def content_part_added(ref: PartRef, *, part: Mapping[str, Any]) -> Event:
    return _event("response.content_part.added", **ref._fields(), part=dict(part))


def content_part_done(ref: PartRef, *, part: Mapping[str, Any]) -> Event:
    return _event("response.content_part.done", **ref._fields(), part=dict(part))


def output_audio_delta(ref: PartRef, *, audio: bytes) -> Event:
    """``response.output_audio.delta``: ``audio`` in the output format, base64 on the wire."""
    delta = base64.b64encode(audio).decode("ascii")
    return _event("response.output_audio.delta", **ref._fields(), delta=delta)


def output_audio_done(ref: PartRef) -> Event:
    return _event("response.output_audio.done", **ref._fields())


def output_audio_transcript_delta(ref: PartRef, *, delta: str) -> Event:
    """``response.output_audio_transcript.delta``: text of the audio being sent."""
    return _event("response.output_audio_transcript.delta", **ref._fields(), delta=delta)


def output_audio_transcript_done(ref: PartRef, *, transcript: str) -> Event:
    return _event("response.output_audio_transcript.done", **ref._fields(), transcript=transcript)


def output_text_delta(ref: PartRef, *, delta: str) -> Event:
    """``response.output_text.delta`` (``output_modalities: ["text"]``)."""
    return _event("response.output_text.delta", **ref._fields(), delta=delta)


def output_text_done(ref: PartRef, *, text: str) -> Event:
    return _event("response.output_text.done", **ref._fields(), text=text)


def function_call_arguments_delta(
    *, response_id: str, item_id: str, output_index: int, call_id: str, delta: str
) -> Event:
    """``response.function_call_arguments.delta``: more of a tool call's JSON arguments."""
    return _event(
        "response.function_call_arguments.delta",
        response_id=response_id,
        item_id=item_id,
        output_index=output_index,
        call_id=call_id,
        delta=delta,
    )


def function_call_arguments_done(
    *, response_id: str, item_id: str, output_index: int, call_id: str, name: str, arguments: str
) -> Event:
    """``response.function_call_arguments.done``: the whole call; the client runs it."""
    return _event(
        "response.function_call_arguments.done",
        response_id=response_id,
        item_id=item_id,
        output_index=output_index,
        call_id=call_id,
        name=name,
        arguments=arguments,
    )
