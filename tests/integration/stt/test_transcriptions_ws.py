"""WebSocket streaming transcription: pcm frames in, VAD events and transcripts out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
import websockets

from support.servers import Gateway
from support.speech import word_error_rate

Speak = Callable[..., Awaitable[bytes]]
RATE = 24_000  # the speech API's pcm rate; the session resamples it to Whisper's 16 kHz
SESSION = {"type": "session.update", "model": "whisper-1", "language": "en", "sample_rate": RATE}
SENTENCES = ["Good morning, my friend, how are you today?", "The train leaves at ten o'clock."]
#: VAD boundaries land within the detector's padding and window of the true ones.
TOLERANCE_MS = 350


def ws_url(gateway: Gateway) -> str:
    return gateway.url.replace("http://", "ws://") + "/v1/audio/transcriptions/ws"


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def audible_ms(pcm: bytes) -> tuple[float, float]:
    """Where the speech in a pcm clip starts and ends, in ms."""
    samples = np.abs(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768)
    loud = np.flatnonzero(samples > 0.02)
    return loud[0] / RATE * 1000, loud[-1] / RATE * 1000


async def receive_until(ws: websockets.ClientConnection, last: str) -> list[dict[str, Any]]:
    events = []
    async for message in ws:
        events.append(json.loads(message))
        if events[-1]["type"] in (last, "error"):
            break
    return events


async def test_session_reports_speech_and_transcribes_each_utterance(
    stt_gateway: Gateway, speak: Speak
) -> None:
    clips = [await speak(sentence, "pcm") for sentence in SENTENCES]
    audio = silence(0.5) + clips[0] + silence(1.5) + clips[1] + silence(1.0)
    first_start, first_end = audible_ms(clips[0])
    second_offset_ms = 500 + len(clips[0]) / 2 / RATE * 1000 + 1500
    second_start, second_end = audible_ms(clips[1])
    frame = RATE // 10 * 2  # 100 ms

    async with websockets.connect(ws_url(stt_gateway)) as ws:
        await ws.send(json.dumps(SESSION))
        created = json.loads(await ws.recv())
        assert created == {
            "type": "session.created",
            "model": "whisper/tiny.en",
            "sample_rate": RATE,
        }
        for start in range(0, len(audio), frame):
            await ws.send(audio[start : start + frame])
        await ws.send(json.dumps({"type": "close"}))
        events = await receive_until(ws, "done")
        await ws.wait_closed()
        assert ws.close_code == 1000

    kinds = [e["type"] for e in events]
    # Speech events leave at once, finals once decoded (the audio here is sent faster
    # than real time, so the second utterance may start before the first's final).
    assert [k for k in kinds if k.startswith("speech.")] == ["speech.started", "speech.stopped"] * 2
    assert kinds.count("transcript.final") == 2
    stops = [i for i, k in enumerate(kinds) if k == "speech.stopped"]
    final_at = [i for i, k in enumerate(kinds) if k == "transcript.final"]
    assert all(stop < final for stop, final in zip(stops, final_at, strict=True))
    assert kinds[-1] == "done"
    assert events[-1]["audio_ms"] == pytest.approx(len(audio) / 2 / RATE * 1000, abs=1)

    started = [e["audio_start_ms"] for e in events if e["type"] == "speech.started"]
    stopped = [e["audio_end_ms"] for e in events if e["type"] == "speech.stopped"]
    assert started[0] == pytest.approx(500 + first_start, abs=TOLERANCE_MS)
    assert stopped[0] == pytest.approx(500 + first_end, abs=TOLERANCE_MS)
    assert started[1] == pytest.approx(second_offset_ms + second_start, abs=TOLERANCE_MS)
    assert stopped[1] == pytest.approx(second_offset_ms + second_end, abs=TOLERANCE_MS)

    finals = [e for e in events if e["type"] == "transcript.final"]
    assert [f["utterance"] for f in finals] == [0, 1]
    for final, sentence, start_ms in zip(finals, SENTENCES, started, strict=True):
        assert word_error_rate(sentence, final["text"]) <= 0.25
        assert final["audio_start_ms"] == start_ms
        for segment in final["segments"]:
            assert start_ms - 1 <= segment["start_ms"] <= segment["end_ms"]
    # Partial transcripts preview an utterance while it is still being spoken.
    partials = [e for e in events if e["type"] == "transcript.partial"]
    assert partials
    assert all(p["text"] for p in partials)
    assert {p["utterance"] for p in partials} <= {0, 1}


async def test_silence_only_session_has_no_speech(stt_gateway: Gateway) -> None:
    async with websockets.connect(ws_url(stt_gateway)) as ws:
        await ws.send(json.dumps({**SESSION, "sample_rate": 16000}))
        await ws.recv()
        await ws.send(bytes(16000 * 2 * 2))
        await ws.send(json.dumps({"type": "close"}))
        events = await receive_until(ws, "done")
    assert [e["type"] for e in events] == ["done"]


BAD_SESSIONS = [
    ("odd byte count", [SESSION, b"\x00\x01\x02"], "invalid_audio"),
    ("audio before session", [b"\x00\x01"], "session_not_configured"),
    ("close before session", [{"type": "close"}], "session_not_configured"),
    ("wrong rate", [{**SESSION, "sample_rate": 12345}], "invalid_argument"),
    ("unknown type", [SESSION, {"type": "commit"}], "unknown_type"),
    ("tts model", [{**SESSION, "model": "tts-1"}], "invalid_argument"),
    ("unknown model", [{**SESSION, "model": "nope"}], "not_found"),
    ("language", [{**SESSION, "language": "fr"}], "invalid_argument"),
    ("unknown field", [{**SESSION, "voice": "alloy"}], "invalid_session"),
    ("second session.update", [SESSION, SESSION], "invalid_message"),
    ("not json", ["{oops"], "invalid_json"),
    ("frame too large", [{**SESSION, "sample_rate": 8000}, bytes(8000 * 2 * 11)],
     "frame_too_large"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("messages", "code"), [c[1:] for c in BAD_SESSIONS], ids=[c[0] for c in BAD_SESSIONS]
)
async def test_bad_messages_get_an_error_event_and_a_clean_close(
    stt_gateway: Gateway, messages: list[Any], code: str
) -> None:
    async with websockets.connect(ws_url(stt_gateway)) as ws:
        for message in messages:
            await ws.send(message if isinstance(message, str | bytes) else json.dumps(message))
        events = await receive_until(ws, "error")
        assert events[-1]["type"] == "error"
        assert events[-1]["code"] == code
        assert events[-1]["message"]
        await ws.wait_closed()
        assert ws.close_code == 1008
