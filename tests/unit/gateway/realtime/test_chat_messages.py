"""Rendering the conversation as chat-completions messages."""

from __future__ import annotations

from polyvox.gateway.realtime.chat_messages import chat_messages
from polyvox.gateway.realtime.items import (
    AnyItem,
    AssistantContent,
    AssistantMessage,
    FunctionCall,
    FunctionCallOutput,
    SystemContent,
    SystemMessage,
    UserContent,
    UserMessage,
)


def user(*parts: UserContent) -> UserMessage:
    return UserMessage(type="message", role="user", content=list(parts))


def assistant(part: AssistantContent) -> AssistantMessage:
    return AssistantMessage(type="message", role="assistant", content=[part])


def call(call_id: str, name: str = "clock") -> FunctionCall:
    return FunctionCall(type="function_call", name=name, arguments='{"tz": "UTC"}', call_id=call_id)


def output(call_id: str, text: str = "12:00") -> FunctionCallOutput:
    return FunctionCallOutput(type="function_call_output", call_id=call_id, output=text)


def test_a_spoken_conversation() -> None:
    items: list[AnyItem] = [
        SystemMessage(
            type="message", role="system", content=[SystemContent(text="The user is Ana.")]
        ),
        user(UserContent(type="input_audio", transcript="What time is it?")),
        assistant(AssistantContent(type="output_audio", transcript="Let me look.")),
        call("c1"),
        output("c1"),
        assistant(AssistantContent(type="output_audio", transcript="It is noon.")),
        user(UserContent(type="input_text", text="Thanks!")),
    ]
    assert chat_messages(items, instructions="Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "The user is Ana."},
        {"role": "user", "content": "What time is it?"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "clock", "arguments": '{"tz": "UTC"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
        {"role": "assistant", "content": "It is noon."},
        {"role": "user", "content": "Thanks!"},
    ]


def test_parallel_calls_are_one_message_and_unanswered_or_orphaned_ones_are_left_out() -> None:
    items: list[AnyItem] = [
        user(UserContent(type="input_text", text="Time in Paris and Tokyo?")),
        call("c1"),
        call("c2"),
        call("c3"),  # not answered yet
        output("c1", "13:00"),
        output("c2", "21:00"),
        output("gone", "?"),  # its call was deleted
    ]
    messages = chat_messages(items)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[1]["content"] is None
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["c1", "c2"]
    assert [m["tool_call_id"] for m in messages[2:]] == ["c1", "c2"]


def test_a_client_made_call_without_call_id_is_known_by_its_item_id() -> None:
    items: list[AnyItem] = [
        FunctionCall(id="item_7", type="function_call", name="f", arguments="{}"),
        output("item_7"),
    ]
    messages = chat_messages(items)
    assert messages[0]["tool_calls"][0]["id"] == "item_7"
    assert messages[1]["tool_call_id"] == "item_7"


def test_empty_parts_add_nothing_and_images_are_parts() -> None:
    items: list[AnyItem] = [
        user(UserContent(type="input_audio", audio=b"\x00\x00")),  # not transcribed yet
        user(UserContent(type="input_audio", transcript="")),  # silence
        assistant(AssistantContent(type="output_audio", transcript="")),  # cut before a word
        user(
            UserContent(type="input_text", text="What is this?"),
            UserContent(type="input_image", image_url="data:image/png;base64,AAAA", detail="low"),
        ),
        user(UserContent(type="input_image", image_url="data:image/png;base64,BBBB")),
        user(
            UserContent(type="input_text", text="one"),
            UserContent(type="input_audio", transcript="two"),
        ),
    ]
    assert chat_messages(items) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,BBBB"}}],
        },
        {"role": "user", "content": "one\ntwo"},
    ]


def test_assistant_text_and_no_instructions() -> None:
    items: list[AnyItem] = [assistant(AssistantContent(type="output_text", text="Hi."))]
    assert chat_messages(items) == [{"role": "assistant", "content": "Hi."}]
    assert chat_messages([], instructions="x") == [{"role": "system", "content": "x"}]
