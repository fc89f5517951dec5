"""Every server event builder, validated against the OpenAI SDK's RealtimeServerEvent."""

from __future__ import annotations

import base64
import copy
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from polyvox.gateway.realtime import server_events as se
from polyvox.gateway.realtime.items import (
    AssistantContent,
    AssistantMessage,
    FunctionCall,
    FunctionCallOutput,
    SystemContent,
    SystemMessage,
    UserContent,
    UserMessage,
    item_to_wire,
)
from polyvox.gateway.realtime.session_config import SessionConfig
from polyvox.gateway.realtime.session_params import (
    FunctionTool,
    InputTranscription,
    PcmuFormat,
    RealtimeSessionParams,
    ServerVad,
    VoiceId,
)
from support.openai_schema import server_event_models, validate_server_event

PART = se.PartRef(response_id="resp_1", item_id="item_2", output_index=0, content_index=0)
USER = UserMessage(
    id="item_1",
    type="message",
    role="user",
    content=[UserContent(type="input_audio", audio=b"\x00\x01", transcript="What time is it?")],
)
ASSISTANT = AssistantMessage(
    id="item_2",
    type="message",
    role="assistant",
    status="in_progress",
    content=[AssistantContent(type="output_audio", transcript="It is noon.")],
)
CALL = FunctionCall(
    id="item_3", type="function_call", name="clock", arguments='{"tz": "UTC"}', call_id="call_1"
)
ITEMS = [
    USER,
    ASSISTANT,
    CALL,
    FunctionCallOutput(id="item_4", type="function_call_output", call_id="call_1", output="12:00"),
    SystemMessage(id="item_5", type="message", role="system", content=[SystemContent(text="Hi")]),
    AssistantMessage(
        id="item_6",
        type="message",
        role="assistant",
        content=[AssistantContent(type="output_text", text="Noon.")],
    ),
]
FULL_CONFIG = SessionConfig(
    type="realtime",
    id="sess_1",
    voice=VoiceId(id="jf_alpha"),
    model="gpt-realtime",
    instructions="Be brief.",
    input_format=PcmuFormat(type="audio/pcmu"),
    transcription=InputTranscription(model="whisper-1", language="en", prompt="Polyvox"),
    turn_detection=ServerVad(type="server_vad", idle_timeout_ms=6000),
    tools=(FunctionTool(name="clock", parameters={"type": "object", "properties": {}}),),
    max_output_tokens=200,
)


def response(status: se.ResponseStatus, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "response_id": "resp_1",
        "status": status,
        "output": [item_to_wire(ASSISTANT), item_to_wire(CALL)],
        "conversation_id": "conv_1",
        "output_modalities": ["audio"],
        "voice": "jf_alpha",
        "output_format": {"type": "audio/pcm", "rate": 24000},
        "max_output_tokens": None,
    }
    return se.response_object(**{**fields, **overrides})


SAMPLES: dict[str, list[Callable[[], dict[str, Any]]]] = {
    "error": [
        lambda: se.error(code="invalid_value", message="bad", param="type", client_event_id="e1"),
        lambda: se.error(type="server_error", code="llm_unavailable", message="down"),
    ],
    "session_created": [
        lambda: se.session_created(
            SessionConfig(type="realtime", id="sess_1", voice="alloy").to_wire()
        ),
        lambda: se.session_created(
            SessionConfig(
                type="transcription", id="sess_2", voice="alloy", turn_detection=None
            ).to_wire()
        ),
    ],
    "session_updated": [lambda: se.session_updated(FULL_CONFIG.to_wire())],
    "speech_started": [lambda: se.speech_started(item_id="item_1", audio_start_ms=1200)],
    "speech_stopped": [lambda: se.speech_stopped(item_id="item_1", audio_end_ms=2400)],
    "input_audio_committed": [
        lambda: se.input_audio_committed(item_id="item_1", previous_item_id=None),
        lambda: se.input_audio_committed(item_id="item_7", previous_item_id="item_6"),
    ],
    "input_audio_cleared": [se.input_audio_cleared],
    "input_audio_timeout_triggered": [
        lambda: se.input_audio_timeout_triggered(
            item_id="item_8", audio_start_ms=0, audio_end_ms=6000
        )
    ],
    "output_audio_cleared": [lambda: se.output_audio_cleared(response_id="resp_1")],
    "item_added": [
        *(
            lambda item=item: se.item_added(item=item_to_wire(item), previous_item_id=None)
            for item in ITEMS
        )
    ],
    "item_done": [lambda: se.item_done(item=item_to_wire(USER), previous_item_id="item_0")],
    "item_deleted": [lambda: se.item_deleted(item_id="item_1")],
    "item_truncated": [
        lambda: se.item_truncated(item_id="item_2", content_index=0, audio_end_ms=640)
    ],
    "item_retrieved": [lambda: se.item_retrieved(item=item_to_wire(CALL))],
    "transcription_delta": [
        lambda: se.transcription_delta(item_id="item_1", content_index=0, delta="What time")
    ],
    "transcription_completed": [
        lambda: se.transcription_completed(
            item_id="item_1", content_index=0, transcript="What time is it?", audio_duration_s=1.4
        )
    ],
    "transcription_failed": [
        lambda: se.transcription_failed(
            item_id="item_1", content_index=0, code="stt_unavailable", message="no worker"
        )
    ],
    "response_object": [],  # a part of response_created / response_done below
    "response_created": [lambda: se.response_created(response=response("in_progress", output=[]))],
    "response_done": [
        lambda: se.response_done(
            response=response("completed", usage={"input_tokens": 40, "output_tokens": 9})
        ),
        lambda: se.response_done(response=response("cancelled", reason="turn_detected")),
        lambda: se.response_done(response=response("cancelled", reason="client_cancelled")),
        lambda: se.response_done(response=response("incomplete", reason="max_output_tokens")),
        lambda: se.response_done(
            response=response("failed", failure=("llm_error", "HTTP 500"), conversation_id=None)
        ),
        lambda: se.response_done(
            response=response("completed", metadata={"topic": "time"}, max_output_tokens=50)
        ),
    ],
    "output_item_added": [
        lambda: se.output_item_added(
            response_id="resp_1", output_index=0, item=item_to_wire(ASSISTANT)
        )
    ],
    "output_item_done": [
        lambda: se.output_item_done(response_id="resp_1", output_index=1, item=item_to_wire(CALL))
    ],
    "content_part": [],  # a part of content_part_added / _done below
    "content_part_added": [
        lambda: se.content_part_added(PART, part=se.content_part("audio")),
        lambda: se.content_part_added(PART, part=se.content_part("text")),
    ],
    "content_part_done": [
        lambda: se.content_part_done(PART, part=se.content_part("audio", "It is noon."))
    ],
    "output_audio_delta": [lambda: se.output_audio_delta(PART, audio=b"\x01\x02\x03\x04")],
    "output_audio_done": [lambda: se.output_audio_done(PART)],
    "output_audio_transcript_delta": [
        lambda: se.output_audio_transcript_delta(PART, delta="It is ")
    ],
    "output_audio_transcript_done": [
        lambda: se.output_audio_transcript_done(PART, transcript="It is noon.")
    ],
    "output_text_delta": [lambda: se.output_text_delta(PART, delta="No")],
    "output_text_done": [lambda: se.output_text_done(PART, text="Noon.")],
    "function_call_arguments_delta": [
        lambda: se.function_call_arguments_delta(
            response_id="resp_1", item_id="item_3", output_index=1, call_id="call_1", delta='{"tz'
        )
    ],
    "function_call_arguments_done": [
        lambda: se.function_call_arguments_done(
            response_id="resp_1",
            item_id="item_3",
            output_index=1,
            call_id="call_1",
            name="clock",
            arguments='{"tz": "UTC"}',
        )
    ],
}
ALL_SAMPLES = [(name, build) for name, builds in SAMPLES.items() for build in builds]


def test_every_builder_has_samples() -> None:
    builders = {
        name
        for name, value in inspect.getmembers(se, inspect.isfunction)
        if value.__module__ == se.__name__ and not name.startswith("_")
    }
    assert builders == set(SAMPLES)


@pytest.mark.parametrize(("name", "build"), ALL_SAMPLES, ids=[n for n, _ in ALL_SAMPLES])
def test_builder_output_is_a_valid_sdk_event(
    name: str, build: Callable[[], dict[str, Any]]
) -> None:
    event = build()
    validate_server_event(event)
    assert event["event_id"].startswith("event_")
    assert event["event_id"] != build()["event_id"]


def required_paths(
    model: BaseModel, data: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[Any, ...]]:
    """Every key of ``data`` whose SDK field is required, however deep."""
    for name, info in type(model).model_fields.items():
        if not isinstance(data, dict) or name not in data:
            continue
        if info.is_required():
            yield (*path, name)
        value, raw = getattr(model, name), data[name]
        if isinstance(value, BaseModel):
            yield from required_paths(value, raw, (*path, name))
        elif isinstance(value, list):
            for index, (item, raw_item) in enumerate(zip(value, raw, strict=True)):
                if isinstance(item, BaseModel):
                    yield from required_paths(item, raw_item, (*path, name, index))


@pytest.mark.parametrize(("name", "build"), ALL_SAMPLES, ids=[n for n, _ in ALL_SAMPLES])
def test_the_check_is_strict_a_missing_required_field_fails(
    name: str, build: Callable[[], dict[str, Any]]
) -> None:
    event = build()
    paths = list(required_paths(validate_server_event(event), event))
    assert ("event_id",) in paths
    for path in paths:
        if path == ("type",):
            continue  # without its type an event is not any event: KeyError, not a pass
        broken = copy.deepcopy(event)
        holder = broken
        for key in path[:-1]:
            holder = holder[key]
        del holder[path[-1]]
        with pytest.raises(ValidationError):
            validate_server_event(broken)


def test_the_check_refuses_keys_the_sdk_does_not_declare() -> None:
    event = se.output_audio_done(PART)
    with pytest.raises(AssertionError, match="outside the SDK"):
        validate_server_event({**event, "segment": 3})
    done = se.response_done(response=response("completed"))
    done["response"]["output"][0]["content"][0]["audio_ms"] = 640
    with pytest.raises(AssertionError, match=r"response\.output\[0\]\.content\[0\]\.audio_ms"):
        validate_server_event(done)
    with pytest.raises(ValidationError):
        validate_server_event(
            {**se.item_truncated(item_id="i", content_index=0, audio_end_ms=1), "audio_end_ms": "1"}
        )


def test_every_gateway_event_type_we_build_exists_in_the_sdk() -> None:
    built = {build()["type"] for _, build in ALL_SAMPLES}
    assert built <= set(server_event_models())
    assert len(built) == 31


def test_payloads() -> None:
    delta = se.output_audio_delta(PART, audio=b"\x01\x02")
    assert base64.b64decode(delta["delta"]) == b"\x01\x02"
    wire = item_to_wire(USER)
    # Audio is never echoed back; the transcript is.
    assert wire["content"] == [{"type": "input_audio", "transcript": "What time is it?"}]
    assert wire["object"] == "realtime.item"
    assert wire["status"] == "completed"
    cancelled = response("cancelled", reason="turn_detected")
    assert cancelled["status_details"] == {
        "type": "cancelled",
        "reason": "turn_detected",
        "error": None,
    }
    failed = response("failed", failure=("llm_error", "HTTP 500"))
    assert failed["status_details"]["error"]["code"] == "llm_error"
    assert response("completed")["status_details"] is None
    assert (
        response("completed", usage={"input_tokens": 4, "output_tokens": 2})["usage"][
            "total_tokens"
        ]
        == 6
    )


def test_item_without_id_is_refused() -> None:
    with pytest.raises(ValueError, match="id"):
        item_to_wire(CALL.model_copy(update={"id": None}))


def test_session_config_applies_updates_and_echoes_them() -> None:
    update = RealtimeSessionParams.model_validate(
        {
            "type": "realtime",
            "instructions": "Short answers.",
            "audio": {
                "input": {"turn_detection": {"type": "semantic_vad"}, "transcription": None},
                "output": {"voice": "marin", "speed": 1.2},
            },
            "max_output_tokens": "inf",
        }
    )
    config = FULL_CONFIG.apply(update)
    assert config.instructions == "Short answers."
    assert config.turn_detection == ServerVad(type="server_vad")  # semantic_vad runs as server_vad
    assert config.transcription is None
    assert config.voice == "marin"
    assert config.speed == 1.2
    assert config.max_output_tokens is None
    # What the update left out stays.
    assert config.tools == FULL_CONFIG.tools
    assert config.input_format == PcmuFormat(type="audio/pcmu")
    wire = config.to_wire()
    assert wire["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert wire["max_output_tokens"] == "inf"
    validate_server_event(se.session_updated(wire))
    with pytest.raises(ValueError, match="cannot change"):
        SessionConfig(type="transcription", id="s", voice="alloy").apply(update)
