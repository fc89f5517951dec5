"""Voice conversations through the OpenAI SDK's realtime client, every event checked
against the SDK's schema; the reply's audio and the user's transcript checked with Whisper."""

from __future__ import annotations

import base64

from openai import AsyncOpenAI

from support.scripted_llm import ScriptedLlm, TextReply, ToolCallReply
from support.speech import decode_pcm, transcribe, word_error_rate

from .conftest import RATE, Events, Speak, sdk_append, send_audio, silence

QUESTION = "What time does the train leave tomorrow?"
# No numbers: Whisper writes them as digits, which a WER against words counts as wrong.
ANSWER = "The train leaves early in the morning, from the platform beside the river."


async def test_a_spoken_turn_gets_a_spoken_reply(
    rt_client: AsyncOpenAI, llm: ScriptedLlm, speak_pcm: Speak
) -> None:
    llm.reset(TextReply(ANSWER, first_token_delay_s=0.05, tokens_per_s=50))
    clip = await speak_pcm(QUESTION)
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        created = await events.next()
        assert created["type"] == "session.created"
        assert created["session"]["type"] == "realtime"
        await connection.session.update(
            session={
                "type": "realtime",
                "instructions": "Answer in one sentence.",
                "audio": {"output": {"voice": "marin"}},
            }
        )
        updated = await events.next()
        assert updated["type"] == "session.updated"
        assert updated["session"]["audio"]["output"]["voice"] == "marin"
        await send_audio(sdk_append(connection), silence(0.5) + clip + silence(1.5))
        turn = await events.until("response.done")

    kinds = [e["type"] for e in turn]
    assert kinds[:3] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    user_id = turn[0]["item_id"]
    assert turn[1]["item_id"] == turn[2]["item_id"] == user_id
    completed = next(
        e for e in turn if e["type"] == "conversation.item.input_audio_transcription.completed"
    )
    assert completed["item_id"] == user_id
    assert word_error_rate(QUESTION, completed["transcript"]) <= 0.25
    response = kinds[kinds.index("response.created") :]
    assert response[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert response[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    done = turn[-1]["response"]
    assert done["status"] == "completed"
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in turn if e["type"] == "response.output_audio.delta"
    )
    heard = transcribe(decode_pcm(audio, RATE))
    assert word_error_rate(ANSWER, heard) <= 0.25
    transcript = next(e for e in turn if e["type"] == "response.output_audio_transcript.done")
    assert transcript["transcript"] == ANSWER
    # The language model read the user's words, after the instructions.
    messages = llm.requests[0]["messages"]
    assert messages[0] == {"role": "system", "content": "Answer in one sentence."}
    assert word_error_rate(QUESTION, messages[1]["content"]) <= 0.25


LONG_ANSWER = (
    "Let me tell you everything about the trains. The first one leaves at six in the morning. "
    "The second one leaves at seven, and it is usually crowded with people going to work. "
    "After that there is one every half hour until noon, then one every hour until midnight."
)


async def test_speech_during_a_reply_cancels_it_and_keeps_what_was_sent(
    rt_client: AsyncOpenAI, llm: ScriptedLlm, speak_pcm: Speak
) -> None:
    llm.reset(TextReply(LONG_ANSWER, tokens_per_s=20), TextReply("Sure."))
    clip = await speak_pcm(QUESTION)
    interruption = await speak_pcm("Wait, stop please.")
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        await events.until("session.created")
        await send_audio(sdk_append(connection), silence(0.3) + clip + silence(1.0))
        before = await events.until("response.output_audio.delta")
        response_id = next(e for e in before if e["type"] == "response.created")["response"]["id"]
        await send_audio(sdk_append(connection), silence(0.5) + interruption + silence(1.0))
        during = await events.until("response.done")
        after = await events.until("response.done")

    kinds = [e["type"] for e in during]
    assert "input_audio_buffer.speech_started" in kinds
    done = during[-1]["response"]
    assert done["id"] == response_id
    assert done["status"] == "cancelled"
    assert done["status_details"]["reason"] == "turn_detected"
    # Nothing of the reply is sent after the user spoke.
    started = kinds.index("input_audio_buffer.speech_started")
    assert "response.output_audio.delta" not in kinds[started:]
    # The item keeps the words whose audio was sent, not the whole reply.
    (item,) = done["output"]
    assert item["status"] == "incomplete"
    kept = item["content"][0]["transcript"]
    assert LONG_ANSWER.startswith(kept)
    assert len(kept) < len(LONG_ANSWER)
    # The language model's stream was closed too.
    assert llm.wait_for_disconnect(10)
    # The interruption is the next turn, answered.
    assert after[-1]["response"]["status"] == "completed"
    heard = next(
        e for e in after if e["type"] == "conversation.item.input_audio_transcription.completed"
    )
    assert word_error_rate("Wait, stop please.", heard["transcript"]) <= 0.34
    assert llm.requests[1]["messages"][-2] == {"role": "assistant", "content": kept}


async def test_a_tool_call_is_answered_by_the_client_then_spoken(
    rt_client: AsyncOpenAI, llm: ScriptedLlm
) -> None:
    llm.reset(
        ToolCallReply("train_times", '{"station": "Central"}', call_id="call_7"),
        TextReply("The next train leaves at noon."),
    )
    tool = {
        "type": "function",
        "name": "train_times",
        "description": "Departures from a station.",
        "parameters": {"type": "object", "properties": {"station": {"type": "string"}}},
    }
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        await events.until("session.created")
        await connection.session.update(session={"type": "realtime", "tools": [tool]})
        await events.until("session.updated")
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "When is the next train?"}],
            }
        )
        await connection.response.create()
        call_turn = await events.until("response.done")
        arguments = next(
            e for e in call_turn if e["type"] == "response.function_call_arguments.done"
        )
        assert (arguments["name"], arguments["call_id"]) == ("train_times", "call_7")
        assert arguments["arguments"] == '{"station": "Central"}'
        deltas = [
            e["delta"] for e in call_turn if e["type"] == "response.function_call_arguments.delta"
        ]
        assert "".join(deltas) == arguments["arguments"]
        assert call_turn[-1]["response"]["output"][0]["type"] == "function_call"
        await connection.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": "call_7",
                "output": '{"next": "12:00"}',
            }
        )
        await connection.response.create()
        spoken = await events.until("response.done")

    assert spoken[-1]["response"]["status"] == "completed"
    request = llm.requests[0]
    assert request["tools"][0]["function"]["name"] == "train_times"
    messages = llm.requests[1]["messages"]
    assert messages[-2]["tool_calls"][0]["id"] == "call_7"
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": "call_7",
        "content": '{"next": "12:00"}',
    }


async def test_items_and_a_telephone_format_reply(
    rt_client: AsyncOpenAI, llm: ScriptedLlm, speak_pcm: Speak
) -> None:
    """Items made, read, deleted and truncated; G.711 in and out; a response's own
    instructions and voice; an out-of-band response that leaves the conversation alone."""
    import numpy as np
    import soxr

    from polyvox.audio.g711 import g711_decode, g711_encode

    llm.reset(TextReply(ANSWER), TextReply("Out of band."))
    clip = await speak_pcm(QUESTION)
    samples = np.frombuffer(clip, "<i2").astype(np.float32) / 32768
    ulaw = g711_encode(soxr.resample(samples, RATE, 8000), law="mulaw")
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        await events.until("session.created")
        await connection.session.update(
            session={
                "type": "realtime",
                "audio": {
                    "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None},
                    "output": {"format": {"type": "audio/pcmu"}},
                },
            }
        )
        await events.until("session.updated")
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_audio", "audio": base64.b64encode(ulaw).decode()}],
            }
        )
        added = await events.until("conversation.item.done")
        user = added[-1]["item"]
        assert word_error_rate(QUESTION, user["content"][0]["transcript"]) <= 0.25
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "x"}],
            }
        )
        system = (await events.until("conversation.item.done"))[-1]["item"]
        await connection.conversation.item.delete(item_id=system["id"])
        assert (await events.next())["type"] == "conversation.item.deleted"
        await connection.response.create(
            response={"instructions": "Be kind.", "audio": {"output": {"voice": "verse"}}}
        )
        reply = await events.until("response.done")
        done = reply[-1]["response"]
        assert done["audio"]["output"]["voice"] == "verse"
        audio = b"".join(
            base64.b64decode(e["delta"])
            for e in reply
            if e["type"] == "response.output_audio.delta"
        )
        heard = transcribe(decode_pcm(_pcm16(g711_decode(audio, law="mulaw")), 8000))
        assert word_error_rate(ANSWER, heard) <= 0.3
        item_id = done["output"][0]["id"]
        await connection.conversation.item.truncate(
            item_id=item_id, content_index=0, audio_end_ms=800
        )
        truncated = await events.next()
        assert truncated["type"] == "conversation.item.truncated"
        await connection.conversation.item.retrieve(item_id=item_id)
        retrieved = (await events.next())["item"]
        kept = retrieved["content"][0]["transcript"]
        assert ANSWER.startswith(kept)
        assert len(kept) < len(ANSWER) // 2
        await connection.response.create(response={"conversation": "none", "metadata": {"k": "v"}})
        side = await events.until("response.done")
        assert side[-1]["response"]["conversation_id"] is None
        assert side[-1]["response"]["metadata"] == {"k": "v"}
        assert "conversation.item.added" not in [e["type"] for e in side]

    assert llm.requests[0]["messages"][0] == {"role": "system", "content": "Be kind."}
    assert all(m["content"] != "x" for m in llm.requests[0]["messages"])


def _pcm16(samples: object) -> bytes:
    import numpy as np

    return (np.clip(np.asarray(samples), -1, 1) * 32767).astype("<i2").tobytes()


async def test_a_silent_user_gets_a_new_response_after_the_idle_timeout(
    rt_client: AsyncOpenAI, llm: ScriptedLlm
) -> None:
    llm.reset(TextReply("Hello."), TextReply("Are you still there?"))
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        await events.until("session.created")
        vad = {"type": "server_vad", "idle_timeout_ms": 300}
        await connection.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": vad}}}
        )
        await events.until("session.updated")
        await connection.response.create()
        await events.until("response.done")
        later = await events.until("response.done")
    assert later[0]["type"] == "input_audio_buffer.timeout_triggered"
    assert later[-1]["response"]["status"] == "completed"
    assert len(llm.requests) == 2


async def test_create_response_and_interrupt_response_off(
    rt_client: AsyncOpenAI, llm: ScriptedLlm, speak_pcm: Speak
) -> None:
    llm.reset(TextReply(LONG_ANSWER, tokens_per_s=20))
    clip = await speak_pcm(QUESTION)
    vad = {"type": "server_vad", "create_response": False, "interrupt_response": False}
    async with rt_client.realtime.connect(model="gpt-realtime") as connection:
        events = Events(connection.recv_bytes)
        await events.until("session.created")
        await connection.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": vad}}}
        )
        await events.until("session.updated")
        await send_audio(sdk_append(connection), silence(0.3) + clip + silence(1.0))
        turn = await events.until("conversation.item.done")
        await connection.response.create()
        await events.until("response.output_audio.delta")
        await send_audio(sdk_append(connection), silence(0.3) + clip + silence(1.0))
        rest = await events.until("response.done")
    assert "response.created" not in [e["type"] for e in turn]  # no automatic reply
    kinds = [e["type"] for e in rest]
    assert "input_audio_buffer.speech_started" in kinds
    assert rest[-1]["response"]["status"] == "completed"  # speaking did not interrupt it
