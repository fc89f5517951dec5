"""The conversation's order, truncation of played audio, and bounds."""

from __future__ import annotations

import pytest

from polyvox.gateway.realtime.conversation import ROOT, Conversation, ConversationError, item_chars
from polyvox.gateway.realtime.items import (
    AnyItem,
    AssistantContent,
    AssistantMessage,
    FunctionCall,
    FunctionCallOutput,
    UserContent,
    UserMessage,
)
from polyvox.gateway.realtime.spoken import SpokenSegment


def user(text: str, item_id: str | None = None) -> UserMessage:
    return UserMessage(
        id=item_id, type="message", role="user", content=[UserContent(type="input_text", text=text)]
    )


def spoken_reply(item_id: str = "item_reply", transcript: str = "") -> AssistantMessage:
    return AssistantMessage(
        id=item_id,
        type="message",
        role="assistant",
        content=[AssistantContent(type="output_audio", transcript=transcript)],
    )


def ids(conversation: Conversation) -> list[str | None]:
    return [item.id for item in conversation.items()]


def test_insert_at_the_end_first_and_after_an_item() -> None:
    conversation = Conversation()
    conversation.add(user("a", "a"))
    conversation.add(user("c", "c"))
    conversation.add(user("b", "b"), previous_item_id="a")
    conversation.add(user("0", "0"), previous_item_id=ROOT)
    assert ids(conversation) == ["0", "a", "b", "c"]
    assert conversation.previous_id("b") == "a"
    assert conversation.previous_id("0") is None
    assert conversation.get("c").content[0].text == "c"  # type: ignore[union-attr]
    assert "b" in conversation
    assert len(conversation) == 4


def test_ids_are_made_when_missing_and_unique_when_given() -> None:
    conversation = Conversation()
    stored, dropped = conversation.add(user("hi"))
    assert stored.id is not None
    assert stored.id.startswith("item_")
    assert dropped == []
    with pytest.raises(ConversationError) as caught:
        conversation.add(user("again", stored.id))
    assert (caught.value.code, caught.value.param) == ("duplicate_item_id", "item.id")


def test_unknown_ids_are_item_not_found() -> None:
    conversation = Conversation()
    conversation.add(user("a", "a"))
    with pytest.raises(ConversationError) as caught:
        conversation.add(user("b", "b"), previous_item_id="nope")
    assert (caught.value.code, caught.value.param) == ("item_not_found", "previous_item_id")
    assert ids(conversation) == ["a"]  # nothing added
    for action in (conversation.get, conversation.delete, conversation.previous_id):
        with pytest.raises(ConversationError, match="'nope' not found"):
            action("nope")


def test_delete_and_replace() -> None:
    conversation = Conversation()
    conversation.add(user("a", "a"))
    conversation.add(user("b", "b"))
    conversation.delete("a")
    assert ids(conversation) == ["b"]
    conversation.replace(user("B", "b"))
    assert conversation.get("b").content[0].text == "B"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="id"):
        conversation.replace(user("no id"))


def reply_with_audio(conversation: Conversation) -> None:
    conversation.add(spoken_reply(transcript="Hello there. It is noon now."))
    conversation.add_segment("item_reply", 0, SpokenSegment("Hello there.", 0, 1000))
    conversation.add_segment("item_reply", 0, SpokenSegment(" It is noon now.", 1000, 2000))


def test_truncate_cuts_the_transcript_to_the_audio_heard() -> None:
    conversation = Conversation()
    reply_with_audio(conversation)
    assert conversation.audio_ms("item_reply", 0) == 2000
    item = conversation.truncate("item_reply", 0, 1500)
    assert item.content[0].transcript == "Hello there. It is"
    assert conversation.get("item_reply") == item
    assert conversation.audio_ms("item_reply", 0) == 1500
    # Truncating again, earlier, cuts further; later than what is left is an error.
    assert conversation.truncate("item_reply", 0, 500).content[0].transcript == "Hello"
    with pytest.raises(ConversationError) as caught:
        conversation.truncate("item_reply", 0, 1000)
    assert (caught.value.code, caught.value.param) == ("invalid_value", "audio_end_ms")
    assert conversation.truncate("item_reply", 0, 0).content[0].transcript == ""


@pytest.mark.parametrize(
    ("item_id", "content_index", "audio_end_ms", "param"),
    [
        ("item_user", 0, 0, "item_id"),
        ("item_reply", 1, 0, "content_index"),
        ("item_text", 0, 0, "content_index"),
        ("item_reply", 0, 2001, "audio_end_ms"),
        ("missing", 0, 0, "item_id"),
    ],
)
def test_truncate_refuses(item_id: str, content_index: int, audio_end_ms: int, param: str) -> None:
    conversation = Conversation()
    reply_with_audio(conversation)
    conversation.add(user("hi", "item_user"))
    conversation.add(
        AssistantMessage(
            id="item_text",
            type="message",
            role="assistant",
            content=[AssistantContent(type="output_text", text="Hi")],
        )
    )
    with pytest.raises(ConversationError) as caught:
        conversation.truncate(item_id, content_index, audio_end_ms)
    assert caught.value.param == param


def test_segments_only_on_audio_parts_of_assistant_items() -> None:
    conversation = Conversation()
    conversation.add(user("hi", "u"))
    with pytest.raises(ConversationError, match="not an assistant message"):
        conversation.add_segment("u", 0, SpokenSegment("hi", 0, 10))


def test_too_many_items_drops_the_oldest() -> None:
    conversation = Conversation(max_items=3)
    for name in "abc":
        assert conversation.add(user(name, name))[1] == []
    _, dropped = conversation.add(user("d", "d"))
    assert dropped == ["a"]
    assert ids(conversation) == ["b", "c", "d"]
    # An item put first is the newest, not the oldest: the one after it goes.
    _, dropped = conversation.add(user("0", "0"), previous_item_id=ROOT)
    assert dropped == ["b"]
    assert ids(conversation) == ["0", "c", "d"]


def test_too_many_characters_drops_the_oldest_and_a_call_with_its_output() -> None:
    conversation = Conversation(max_chars=40)
    conversation.add(
        FunctionCall(id="f", type="function_call", name="clock", arguments="{}", call_id="c1")
    )
    conversation.add(user("what time is it", "u"))
    conversation.add(
        FunctionCallOutput(id="o", type="function_call_output", call_id="c1", output="12:00")
    )
    assert sum(item_chars(item) for item in conversation.items()) == 7 + 15 + 5
    _, dropped = conversation.add(user("and tomorrow, what time will it be", "v"))
    assert dropped == ["f", "o", "u"]
    assert ids(conversation) == ["v"]


def test_a_client_call_without_call_id_pairs_by_item_id() -> None:
    conversation = Conversation(max_items=3)
    conversation.add(FunctionCall(id="f", type="function_call", name="clock", arguments="{}"))
    conversation.add(
        FunctionCallOutput(id="o", type="function_call_output", call_id="f", output="1")
    )
    conversation.add(user("x", "x"))
    assert conversation.add(user("y", "y"))[1] == ["f", "o"]


def test_an_item_too_large_is_refused_but_a_growing_reply_stays() -> None:
    conversation = Conversation(max_chars=20)
    with pytest.raises(ConversationError) as caught:
        conversation.add(user("x" * 21))
    assert caught.value.code == "item_too_large"
    conversation.add(user("short", "u"))
    conversation.add(spoken_reply())
    grown: AnyItem = spoken_reply(transcript="y" * 30)
    assert conversation.replace(grown) == ["u"]
    assert ids(conversation) == ["item_reply"]


def test_chars_count_every_text_an_item_holds() -> None:
    image = UserMessage(
        type="message",
        role="user",
        content=[
            UserContent(type="input_text", text="abc"),
            UserContent(type="input_audio", audio=b"\x00" * 100, transcript="de"),
            UserContent(type="input_image", image_url="data:x"),
        ],
    )
    assert item_chars(image) == 3 + 2 + 6


def test_bounds_are_positive() -> None:
    with pytest.raises(ValueError, match="at least"):
        Conversation(max_items=0)
