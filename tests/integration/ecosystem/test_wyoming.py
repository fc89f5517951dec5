"""The gateway's Wyoming service, driven by the wyoming package's own client."""

from __future__ import annotations

import asyncio

import numpy as np
import soxr
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from support.speech import Decoded, transcribe, word_error_rate

from .conftest import EcosystemGateway

_TIMEOUT_S = 120


async def read(client: AsyncClient) -> Event:
    event = await asyncio.wait_for(client.read_event(), _TIMEOUT_S)
    assert event is not None, "the server closed the connection"
    return event


async def read_until(client: AsyncClient, last: str) -> list[Event]:
    events = []
    while True:
        events.append(await read(client))
        assert events[-1].type != "error", events[-1].data
        if events[-1].type == last:
            return events


def audio_of(events: list[Event]) -> Decoded:
    """The pcm of a response, checked to keep one format from audio-start to the end."""
    starts = [e for e in events if e.type == "audio-start"]
    assert len(starts) == 1
    assert [e.type for e in events].count("audio-stop") == 1
    fmt = {k: starts[0].data[k] for k in ("rate", "width", "channels")}
    chunks = [AudioChunk.from_event(e) for e in events if e.type == "audio-chunk"]
    assert chunks
    assert all({"rate": c.rate, "width": c.width, "channels": c.channels} == fmt for c in chunks)
    pcm = b"".join(c.audio for c in chunks)
    samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
    return Decoded(samples, fmt["rate"])


async def test_describe_lists_every_engine_with_its_voices(eco: EcosystemGateway) -> None:
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        await client.write_event(Describe().event())
        info = Info.from_event(await read(client))
    programs = {program.name: program for program in info.tts}
    assert set(programs) == {"piper", "espeak"}
    assert all(program.supports_synthesize_streaming for program in programs.values())
    assert [v.name for v in programs["piper"].voices] == ["en_US-joe-medium"]
    assert programs["piper"].voices[0].languages == ["en-US"]
    espeak = {voice.name: voice for voice in programs["espeak"].voices}
    assert len(espeak) > 100
    assert espeak["de"].languages == ["de"]
    assert all(v.installed and v.version for p in programs.values() for v in p.voices)
    (asr,) = info.asr
    assert asr.name == "whisper"
    assert asr.supports_transcript_streaming
    assert [(m.name, m.languages) for m in asr.models] == [("tiny.en", ["en"])]


async def test_synthesize_by_voice_name_and_language(eco: EcosystemGateway) -> None:
    text = "The weather today is sunny and warm."
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        await client.write_event(Synthesize(text).event())
        piper = audio_of(await read_until(client, "audio-stop"))
        voice = SynthesizeVoice(name="en-us")
        await client.write_event(Synthesize(text, voice=voice).event())
        espeak = audio_of(await read_until(client, "audio-stop"))
        await client.write_event(Synthesize(text, voice=SynthesizeVoice(language="de")).event())
        german = audio_of(await read_until(client, "audio-stop"))
    assert (piper.sample_rate_hz, espeak.sample_rate_hz) == (22050, 22050)
    assert word_error_rate(text, transcribe(piper)) <= 0.2
    assert word_error_rate(text, transcribe(espeak)) <= 0.4
    assert german.duration_s > 1


async def test_ssml_breaks_through_wyoming(eco: EcosystemGateway) -> None:
    text = '<speak>One.<break time="1500ms"/>Two.</speak>'
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        await client.write_event(Synthesize(text, text_format="ssml").event())
        audio = audio_of(await read_until(client, "audio-stop"))
    edges = np.flatnonzero(np.diff(np.r_[0, audio.samples == 0, 0].astype(np.int8)))
    longest_silence = (edges[1::2] - edges[::2]).max()
    assert longest_silence >= round(1.5 * audio.sample_rate_hz)


async def test_streaming_synthesis_speaks_every_chunk_once(eco: EcosystemGateway) -> None:
    pieces = ["The first sen", "tence is here. And the sec", "ond one follows", " right after."]
    text = "".join(pieces)
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        await client.write_event(SynthesizeStart().event())
        for piece in pieces:
            await client.write_event(SynthesizeChunk(piece).event())
        # Home Assistant also sends the whole text as a plain synthesize, for servers
        # that do not stream: inside a stream it must be ignored.
        await client.write_event(Synthesize(text).event())
        await client.write_event(SynthesizeStop().event())
        events = await read_until(client, "synthesize-stopped")
    types = [e.type for e in events]
    assert types[0] == "audio-start"
    assert types[-2:] == ["audio-stop", "synthesize-stopped"]
    heard = transcribe(audio_of(events))
    assert word_error_rate(text, heard) <= 0.2, heard  # said once, not twice


async def test_speech_round_trips_through_asr_at_any_format(eco: EcosystemGateway) -> None:
    text = "Please turn on the kitchen lights."
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        await client.write_event(Synthesize(text).event())
        speech = audio_of(await read_until(client, "audio-stop"))
        # 44.1 kHz stereo 32-bit, sent in 100 ms chunks: converted to Whisper's 16 kHz.
        samples = soxr.resample(speech.samples, speech.sample_rate_hz, 44100)
        stereo = np.repeat((samples * 2**31 * 0.9).astype("<i4")[:, None], 2, axis=1)
        pcm = stereo.tobytes()
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(44100, 4, 2).event())
        step = 4410 * 8
        for start in range(0, len(pcm), step):
            await client.write_event(AudioChunk(44100, 4, 2, pcm[start : start + step]).event())
        await client.write_event(AudioStop().event())
        events = await read_until(client, "transcript-stop")
    types = [e.type for e in events]
    assert types[0] == "transcript-start"
    assert "transcript-chunk" in types
    (final,) = [e for e in events if e.type == "transcript"]
    assert word_error_rate(text, final.data["text"]) <= 0.2, final.data


async def test_malformed_and_null_events_get_errors_and_the_connection_lives(
    eco: EcosystemGateway,
) -> None:
    async with AsyncClient.from_uri(eco.wyoming_uri) as client:
        writer = client._writer  # raw bytes: what the client class would never send
        assert writer is not None
        bad_lines = [
            b'{"type": "synthesize", "data": null}\n',
            b"this is not json\n",
            b'["a", "list"]\n',
            b'{"data": {"text": "no type"}}\n',
        ]
        for line in bad_lines:
            writer.write(line)
            await writer.drain()
            error = await read(client)
            assert error.type == "error", line
            assert error.data["code"] == "bad_event"
        wrong = [
            Event("synthesize", {}),  # no text
            Event("synthesize", {"text": 42}),
            Event("synthesize", {"text": "hi", "voice": {"name": "nobody"}}),
            Event("synthesize-chunk", {"text": "no stream open"}),
            Event("audio-chunk", {"rate": 16000}, payload=b"\x00\x01"),  # no width
            Event("audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, payload=b"\x00"),
            Event("audio-stop", {}),
            Event("no-such-event", {"x": 1}),
        ]
        for event in wrong:
            await client.write_event(event)
            error = await read(client)
            assert error.type == "error", event
            assert error.data["text"]
        await client.write_event(Describe().event())
        assert (await read(client)).type == "info"
