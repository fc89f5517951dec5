"""``?intent=transcription`` through the OpenAI SDK: server VAD, and client commits as
Pipecat sends them; every event checked against the SDK's schema."""

from __future__ import annotations

from openai import AsyncOpenAI

from support.speech import word_error_rate

from .conftest import Events, Speak, sdk_append, send_audio, silence

SENTENCES = ["Good morning, my friend, how are you today?", "The train leaves at ten o'clock."]


async def test_server_vad_transcribes_each_turn(rt_client: AsyncOpenAI, speak_pcm: Speak) -> None:
    clips = [await speak_pcm(sentence) for sentence in SENTENCES]
    async with rt_client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        events = Events(connection.recv_bytes)
        created = await events.next()
        assert created["session"]["type"] == "transcription"
        await connection.session.update(
            session={
                "type": "transcription",
                "audio": {
                    "input": {
                        "transcription": {"model": "gpt-4o-mini-transcribe", "language": "en"},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 400},
                        "noise_reduction": {"type": "near_field"},
                    }
                },
            }
        )
        updated = await events.next()
        assert updated["type"] == "session.updated"
        audio = silence(0.5) + clips[0] + silence(1.2) + clips[1] + silence(1.2)
        await send_audio(sdk_append(connection), audio)
        seen = await events.until("conversation.item.input_audio_transcription.completed")
        seen += await events.until("conversation.item.input_audio_transcription.completed")

    # Audio sent faster than real time: the second turn may start before the first's
    # transcript is in, so each turn is its item's events.
    items = list(dict.fromkeys(e["item_id"] for e in seen if "item_id" in e))
    assert len(items) == 2
    turns = [[e for e in seen if e.get("item_id") == item] for item in items]
    for turn, sentence in zip(turns, SENTENCES, strict=True):
        kinds = [e["type"] for e in turn]
        assert kinds[:3] == [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
        ]
        completed = turn[-1]
        assert completed["item_id"] == turn[0]["item_id"]
        assert word_error_rate(sentence, completed["transcript"]) <= 0.25
        deltas = "".join(
            e["delta"]
            for e in turn
            if e["type"] == "conversation.item.input_audio_transcription.delta"
        )
        assert deltas == completed["transcript"]
    assert turns[1][2]["previous_item_id"] == items[0]


async def test_client_commits_as_pipecat_sends_them(
    rt_client: AsyncOpenAI, speak_pcm: Speak
) -> None:
    clip = await speak_pcm(SENTENCES[0])
    async with rt_client.realtime.connect(extra_query={"intent": "transcription"}) as connection:
        events = Events(connection.recv_bytes)
        await events.next()
        # Pipecat's OpenAIRealtimeSTTService session, field for field.
        await connection.send(
            {  # type: ignore[arg-type]
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
                            "turn_detection": None,
                        }
                    },
                },
            }
        )
        assert (await events.next())["type"] == "session.updated"
        await send_audio(sdk_append(connection), silence(0.3) + clip + silence(0.3))
        await connection.input_audio_buffer.commit()
        turn = await events.until("conversation.item.input_audio_transcription.completed")
        # Silence alone transcribes as nothing (Whisper is not asked to invent words).
        await send_audio(sdk_append(connection), silence(0.5))
        await connection.input_audio_buffer.commit()
        quiet = await events.until("conversation.item.input_audio_transcription.completed")
        await connection.input_audio_buffer.clear()
        cleared = await events.next()

    kinds = [e["type"] for e in turn]
    assert "input_audio_buffer.speech_started" not in kinds  # the client's VAD decides
    assert kinds[0] == "input_audio_buffer.committed"
    assert word_error_rate(SENTENCES[0], turn[-1]["transcript"]) <= 0.25
    assert quiet[-1]["transcript"] == ""
    assert cleared["type"] == "input_audio_buffer.cleared"
