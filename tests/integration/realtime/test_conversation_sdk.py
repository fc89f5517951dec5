"""Voice conversations through the OpenAI SDK's realtime client, every event checked
against the SDK's schema; the reply's audio and the user's transcript checked with Whisper."""

from __future__ import annotations

import base64

from openai import AsyncOpenAI

from support.scripted_llm import ScriptedLlm, TextReply, ToolCallReply
from support.speech import decode_pcm, transcribe, word_error_rate

from .conftest import RATE, Events, Speak, sdk_append, send_audio, silence

QUESTION = "What time does the train leave tomorrow?"
ANSWER = "The train leaves at ten o'clock in the morning, from platform four."


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
