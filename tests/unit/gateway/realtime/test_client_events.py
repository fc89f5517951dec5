"""Client events: held to the OpenAI SDK's schema, and fed what real clients send."""

from __future__ import annotations

import asyncio
import json
import typing
from typing import Any

import pytest
from openai import AsyncOpenAI
from openai.types.realtime import (
    RealtimeClientEventParam,
    ResponseCreateEventWithReferencesParam,
)
from pydantic import BaseModel
from websockets.asyncio.server import ServerConnection, serve

from polyvox.gateway.realtime import client_events
from polyvox.gateway.realtime.client_events import (
    ClientEventError,
    ConversationItemCreate,
    InputAudioBufferAppend,
    ParsedEvent,
    SessionUpdate,
    parse_client_event,
)
from polyvox.gateway.realtime.items import FunctionCallOutput, UserMessage
from polyvox.gateway.realtime.session_params import (
    RealtimeSessionParams,
    SemanticVad,
    ServerVad,
    TranscriptionSessionParams,
)
from polyvox.gateway.realtime.wire import ignored_schema
from support.openai_schema import Walk, under_open


def parse(message: dict[str, Any]) -> ParsedEvent:
    return parse_client_event(json.dumps(message))


def ignored_paths(parsed: ParsedEvent) -> list[str]:
    return [field.path for field in parsed.ignored]


def sdk_walk() -> Walk:
    # MCP tools and items are refused with ``unsupported_value``; see client_events.
    walk = Walk(skip_types=client_events.UNSUPPORTED_VALUES)
    # The SDK's send() takes this union: response.create's input may hold references.
    for event in (
        *typing.get_args(RealtimeClientEventParam),
        ResponseCreateEventWithReferencesParam,
    ):
        walk.event(event)
    return walk


def our_walk() -> Walk:
    walk = Walk()
    for model in client_events.EVENT_MODELS.values():
        walk.event(model)
    return walk


def test_every_field_we_accept_is_in_the_sdk_schema() -> None:
    assert sorted(our_walk().paths - sdk_walk().paths) == []


def test_no_field_of_the_sdk_schema_is_refused_as_unknown() -> None:
    ours = our_walk()
    refused = [p for p in sdk_walk().paths - ours.paths if not under_open(p, ours.open)]
    assert refused == []


def test_every_model_forbids_fields_outside_the_schema() -> None:
    def models(tp: Any) -> typing.Iterator[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            yield tp
            for info in tp.model_fields.values():
                yield from models(info.annotation)
        for arg in typing.get_args(tp):
            yield from models(arg)

    found = {m for event in client_events.EVENT_MODELS.values() for m in models(event)}
    assert len(found) > 25
    assert [m.__name__ for m in found if m.model_config.get("extra") != "forbid"] == []


def test_the_accepted_but_ignored_fields() -> None:
    """The list the docs give: each is in OpenAI's schema, none does anything here."""
    listed = {
        path
        for event in client_events.EVENT_MODELS.values()
        for path in ignored_schema(event, event.model_fields["type"].annotation.__args__[0])
    }
    assert listed == {
        "session.update.session.audio.input.noise_reduction",
        "session.update.session.audio.input.transcription.delay",
        "session.update.session.audio.input.transcription.keywords",
        "session.update.session.audio.input.transcription.languages",
        "session.update.session.audio.input.turn_detection.type",
        "session.update.session.audio.input.turn_detection.eagerness",
        "session.update.session.include",
        "session.update.session.prompt",
        "session.update.session.reasoning",
        "session.update.session.tracing",
        "session.update.session.truncation",
        "response.create.response.prompt",
        "response.create.response.reasoning",
    }


# Pipecat 1.14.0, pipecat/services/openai/stt.py, OpenAIRealtimeSTTService
# ._send_session_update(): its defaults (model gpt-realtime-whisper, language en,
# turn_detection=False sent as null), and with delay, noise reduction and server VAD set.
PIPECAT_STT_DEFAULT = {
    "type": "session.update",
    "session": {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-realtime-whisper", "language": "en"},
                "turn_detection": None,
            }
        },
    },
}
PIPECAT_STT_TUNED = {
    "type": "session.update",
    "session": {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {
                    "model": "gpt-realtime-whisper",
                    "language": "en",
                    "delay": "low",
                },
                "turn_detection": {"type": "server_vad", "threshold": 0.6},
                "noise_reduction": {"type": "near_field"},
            }
        },
    },
}


def test_pipecat_realtime_stt_session_updates() -> None:
    parsed = parse(PIPECAT_STT_DEFAULT)
    assert parsed.ignored == ()
    assert isinstance(parsed.event, SessionUpdate)
    session = parsed.event.session
    assert isinstance(session, TranscriptionSessionParams)
    assert session.audio is not None
    assert session.audio.input is not None
    audio_in = session.audio.input
    # null is "turn detection off" (the client commits), not "unchanged".
    assert audio_in.turn_detection is None
    assert "turn_detection" in audio_in.model_fields_set
    assert audio_in.transcription is not None
    assert audio_in.transcription.language == "en"

    tuned = parse(PIPECAT_STT_TUNED)
    assert ignored_paths(tuned) == [
        "session.audio.input.noise_reduction",
        "session.audio.input.transcription.delay",
    ]
    assert isinstance(tuned.event, SessionUpdate)
    tuned_in = tuned.event.session.audio.input  # type: ignore[union-attr]
    assert tuned_in is not None
    assert tuned_in.turn_detection == ServerVad(type="server_vad", threshold=0.6)


# Pipecat 1.14.0, pipecat/services/openai/realtime/events.py: what
# OpenAIRealtimeLLMService sends (model_dump(exclude_none=True)): every event with a
# uuid event_id, items with a uuid hex id, tools in the adapter's function format.
PIPECAT_LLM_EVENTS: list[dict[str, Any]] = [
    {
        "event_id": "5b0e7f4c-0c38-4d8e-9a0e-1f3f0b3d2a11",
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "output_modalities": ["audio"],
            "instructions": "You are a helpful assistant.",
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "transcription": {"model": "gpt-realtime-whisper"},
                    "noise_reduction": {"type": "near_field"},
                    "turn_detection": {
                        "type": "server_vad",
                        "threshold": 0.5,
                        "prefix_padding_ms": 300,
                        "silence_duration_ms": 500,
                    },
                },
                "output": {
                    "format": {"type": "audio/pcm", "rate": 24000},
                    "voice": "alloy",
                    "speed": 1.0,
                },
            },
            "tools": [
                {
                    "type": "function",
                    "name": "get_weather",
                    "description": "Get the current weather",
                    "parameters": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                }
            ],
            "tool_choice": "auto",
        },
    },
    {
        "event_id": "0a5e6b0f-7c43-4e8b-8f5e-2c9d1e4b7a22",
        "type": "conversation.item.create",
        "item": {
            "id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "What's the weather in Paris?"}],
        },
    },
    {
        "event_id": "1b6f7c1a-8d54-4f9c-9a6f-3d0e2f5c8b33",
        "type": "conversation.item.create",
        "item": {
            "id": "0e1d2c3b4a5968778695a4b3c2d1e0f9",
            "type": "function_call_output",
            "call_id": "call_abc",
            "output": '{"temperature_c": 21}',
        },
    },
    {"event_id": "2c7a8d2b", "type": "input_audio_buffer.append", "audio": "AAAAAA=="},
    {"event_id": "3d8b9e3c", "type": "input_audio_buffer.commit"},
    {"event_id": "4e9cAf4d", "type": "input_audio_buffer.clear"},
    {"event_id": "5fAdB05e", "type": "response.create"},
    {"event_id": "60BeC16f", "type": "response.cancel"},
    {
        "event_id": "71CfD270",
        "type": "conversation.item.truncate",
        "item_id": "item_123",
        "content_index": 0,
        "audio_end_ms": 1500,
    },
    {"event_id": "82D0E381", "type": "conversation.item.retrieve", "item_id": "item_123"},
]


def test_pipecat_realtime_llm_events() -> None:
    parsed = [parse(event) for event in PIPECAT_LLM_EVENTS]
    assert next(ignored_paths(p) for p in parsed) == ["session.audio.input.noise_reduction"]
    assert all(p.ignored == () for p in parsed[1:])
    assert [p.event.event_id for p in parsed] == [e["event_id"] for e in PIPECAT_LLM_EVENTS]
    session = parsed[0].event.session  # type: ignore[union-attr]
    assert isinstance(session, RealtimeSessionParams)
    assert session.tools is not None
    assert session.tools[0].name == "get_weather"
    item = parsed[2].event.item  # type: ignore[union-attr]
    assert isinstance(item, FunctionCallOutput)
    assert item.call_id == "call_abc"
    append = parsed[3].event
    assert isinstance(append, InputAudioBufferAppend)
    assert append.audio == b"\x00\x00\x00\x00"


async def sdk_messages(actions: typing.Callable[[Any], typing.Awaitable[None]]) -> list[str]:
    """What the OpenAI SDK's realtime client puts on the wire for ``actions``."""
    received: list[str] = []
    closed = asyncio.Event()

    async def record(ws: ServerConnection) -> None:
        async for message in ws:
            received.append(str(message))
        closed.set()

    async with serve(record, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = AsyncOpenAI(api_key="unused", websocket_base_url=f"ws://127.0.0.1:{port}/v1")
        async with client.realtime.connect(model="gpt-realtime") as connection:
            await actions(connection)
        await asyncio.wait_for(closed.wait(), 10)
    return received


async def test_what_the_openai_sdk_sends_parses() -> None:
    async def conversation(connection: Any) -> None:
        await connection.session.update(
            session={
                "type": "realtime",
                "model": "gpt-realtime",
                "instructions": "Be brief.",
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcmu"},
                        "noise_reduction": None,
                        "transcription": {"model": "gpt-4o-transcribe", "prompt": ""},
                        "turn_detection": {"type": "semantic_vad", "eagerness": "auto"},
                    },
                    "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
                },
                "tracing": "auto",
                "max_output_tokens": "inf",
            }
        )
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hi"}],
            }
        )
        await connection.input_audio_buffer.append(audio="//8=")
        await connection.response.create(
            response={
                "instructions": "Answer in French.",
                "audio": {"output": {"voice": {"id": "jf_alpha"}}},
                "conversation": "none",
                "metadata": {"topic": "greeting"},
                "input": [{"type": "item_reference", "id": "item_1"}],
            }
        )
        await connection.conversation.item.truncate(
            item_id="item_2", content_index=0, audio_end_ms=640
        )
        await connection.conversation.item.delete(item_id="item_1", event_id="evt_client_1")
        await connection.output_audio_buffer.clear()

    messages = await sdk_messages(conversation)
    parsed = [parse_client_event(message) for message in messages]
    assert [p.event.type for p in parsed] == [
        "session.update",
        "conversation.item.create",
        "input_audio_buffer.append",
        "response.create",
        "conversation.item.truncate",
        "conversation.item.delete",
        "output_audio_buffer.clear",
    ]
    assert ignored_paths(parsed[0]) == [
        "session.audio.input.noise_reduction",
        "session.audio.input.turn_detection.type",
        "session.audio.input.turn_detection.eagerness",
        "session.tracing",
    ]
    session = parsed[0].event.session  # type: ignore[union-attr]
    assert isinstance(session, RealtimeSessionParams)
    assert session.max_output_tokens is None
    assert "max_output_tokens" in session.model_fields_set
    detection = session.audio.input.turn_detection  # type: ignore[union-attr]
    assert isinstance(detection, SemanticVad)
    assert detection.as_server_vad() == ServerVad(type="server_vad")
    assert isinstance(parsed[1].event, ConversationItemCreate)
    assert isinstance(parsed[1].event.item, UserMessage)
    assert parsed[5].event.event_id == "evt_client_1"


async def test_what_the_openai_sdk_sends_for_transcription_parses() -> None:
    async def transcription(connection: Any) -> None:
        await connection.session.update(
            session={
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "noise_reduction": {"type": "far_field"},
                        "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 500,
                        },
                    }
                },
                "include": ["item.input_audio_transcription.logprobs"],
            }
        )
        await connection.input_audio_buffer.commit()

    messages = await sdk_messages(transcription)
    parsed = [parse_client_event(message) for message in messages]
    assert ignored_paths(parsed[0]) == ["session.audio.input.noise_reduction", "session.include"]
    assert parsed[1].event.type == "input_audio_buffer.commit"


@pytest.mark.parametrize(
    ("message", "code", "param", "event_id"),
    [
        ("not json", "invalid_json", None, None),
        ('{"type": "session.update"', "invalid_json", None, None),
        ("[1, 2]", "invalid_type", None, None),
        ('{"event_id": "e1"}', "missing_required_parameter", "type", "e1"),
        ('{"type": "session.created", "event_id": "e2"}', "invalid_value", "type", "e2"),
        ('{"type": 7}', "invalid_value", "type", None),
        (
            '{"type": "session.update", "event_id": "e3"}',
            "missing_required_parameter",
            "session",
            "e3",
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}}',
            "unknown_parameter",
            "session.temperature",
            None,
        ),
        (
            # A chat-completions style tool: told about its extra key, not its missing name.
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "tools": [{"type": "function", "function": {"name": "f"}}]}}',
            "unknown_parameter",
            "session.tools[0].function",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "tools": [{"type": "mcp", "server_label": "x"}]}}',
            "unsupported_value",
            "session.tools[0].type",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "audio": {"input": {"format": {"type": "audio/opus"}}}}}',
            "invalid_value",
            "session.audio.input.format.type",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}}',
            "invalid_value",
            "session.audio.input.format.rate",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}}}',
            "invalid_value",
            "session.audio.input.turn_detection.threshold",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime", "max_output_tokens": "9"}}',
            "invalid_type",
            "session.max_output_tokens",
            None,
        ),
        (
            '{"type": "session.update", "session": {"type": "realtime",'
            ' "output_modalities": ["audio", "text"]}}',
            "invalid_value",
            "session.output_modalities",
            None,
        ),
        (
            '{"type": "session.update", "session": {}}',
            "missing_required_parameter",
            "session.type",
            None,
        ),
        (
            '{"type": "conversation.item.create", "event_id": "e4",'
            ' "item": {"type": "message", "role": "bot", "content": []}}',
            "invalid_value",
            "item.role",
            "e4",
        ),
        (
            '{"type": "conversation.item.create", "item": {"type": "mcp_call", "id": "x"}}',
            "unsupported_value",
            "item.type",
            None,
        ),
        (
            '{"type": "conversation.item.create", "item": {"type": "message", "role": "user",'
            ' "content": [{"type": "input_text", "text": 5}]}}',
            "invalid_type",
            "item.content[0].text",
            None,
        ),
        ('{"type": "input_audio_buffer.append", "audio": "no!"}', "invalid_value", "audio", None),
        ('{"type": "input_audio_buffer.append", "event_id": 5}', "invalid_type", "event_id", None),
        ('{"type": "input_audio_buffer.append"}', "missing_required_parameter", "audio", None),
        (
            '{"type": "conversation.item.truncate", "event_id": "e5", "item_id": "i",'
            ' "content_index": 0, "audio_end_ms": -5}',
            "invalid_value",
            "audio_end_ms",
            "e5",
        ),
    ],
)
def test_errors_name_the_code_the_field_and_the_event(
    message: str, code: str, param: str | None, event_id: str | None
) -> None:
    with pytest.raises(ClientEventError) as caught:
        parse_client_event(message)
    assert (caught.value.code, caught.value.param, caught.value.event_id) == (code, param, event_id)
    assert caught.value.error_type == "invalid_request_error"
    if param:
        assert param in caught.value.message


def test_an_unknown_field_deep_inside_is_named_by_its_path() -> None:
    with pytest.raises(ClientEventError) as caught:
        parse(
            {
                "type": "response.create",
                "response": {
                    "input": [
                        {"type": "item_reference", "id": "a"},
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": "x", "annotations": []}],
                        },
                    ]
                },
            }
        )
    assert caught.value.param == "response.input[1].content[0].annotations"


def test_bytes_and_deeply_nested_messages() -> None:
    assert parse_client_event(b'{"type": "input_audio_buffer.commit"}').event.type == (
        "input_audio_buffer.commit"
    )
    with pytest.raises(ClientEventError) as caught:
        parse_client_event("[" * 100_000 + "]" * 100_000)
    assert caught.value.code == "invalid_json"
    with pytest.raises(ClientEventError) as caught:
        parse_client_event(b"\xff\xfe{}")
    assert caught.value.code == "invalid_json"
