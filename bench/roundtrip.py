"""Speech round trip: every TTS voice the server lists, transcribed back by Whisper.

For each voice from ``GET /v1/audio/voices`` (a model with many voices, like
espeak-ng's hundred, is cut to a few English ones), each sentence is synthesized
through ``POST /v1/audio/speech`` (wav, 24 kHz), then transcribed through
``POST /v1/audio/transcriptions`` (whisper-1, json). Reports per voice the word and
character error rates (jiwer, after lowercasing and removing punctuation) and the
real-time factor of each direction (request wall time / audio duration; below 1 is
faster than real time). Requests run one at a time.

    PYTHONPATH=tests uv run python bench/roundtrip.py [--server URL] [--voices-per-model 3]

Without ``--server`` it starts ``polyvox serve`` with every installed TTS engine
(Piper, Kokoro, espeak-ng when registered) and Whisper, each in its own environment.
Writes bench/results/roundtrip.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import jiwer
from rich.console import Console
from rich.table import Table

from polyvox.engines.registry import available_engines
from support.servers import run_gateway
from support.speech import decode

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning when you have a moment.",
    "We will meet at the train station after lunch on Friday.",
]
STT_MODEL = "whisper-1"
#: Engines started when the benchmark runs its own server, with their settings.
TTS_ENGINES: dict[str, dict[str, Any]] = {
    "piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]},
    "kokoro": {"preload": ["kokoro-82m-int8"]},
    "espeak": {},
}
_NORMALIZE = jiwer.Compose(
    [jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()]
)


@dataclass
class VoiceResult:
    model: str
    voice: str
    language: str
    sentences: int
    audio_s: float
    wer: float
    cer: float
    tts_rtf: float
    stt_rtf: float
    worst: str


def pick_voices(voices: list[dict[str, Any]], per_model: int) -> list[dict[str, Any]]:
    """All voices of small models; for a large one, up to ``per_model`` English voices."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for voice in voices:
        by_model.setdefault(voice["model"], []).append(voice)
    chosen = []
    for model_voices in by_model.values():
        if len(model_voices) > 2 * per_model:
            english = [v for v in model_voices if v["language"].lower().startswith("en")]
            model_voices = (english or model_voices)[:per_model]
        chosen += model_voices
    return chosen


async def measure_voice(client: httpx.AsyncClient, voice: dict[str, Any]) -> VoiceResult:
    references, hypotheses, tts_rtfs, stt_rtfs, audio_total = [], [], [], [], 0.0
    for sentence in SENTENCES:
        started = time.perf_counter()
        speech = await client.post(
            "/v1/audio/speech",
            json={
                "model": voice["model"],
                "voice": voice["id"],
                "input": sentence,
                "response_format": "wav",
            },
        )
        tts_s = time.perf_counter() - started
        speech.raise_for_status()
        audio_s = decode(speech.content).duration_s
        started = time.perf_counter()
        transcript = await client.post(
            "/v1/audio/transcriptions",
            data={"model": STT_MODEL, "language": "en"},
            files={"file": ("speech.wav", speech.content, "audio/wav")},
        )
        stt_s = time.perf_counter() - started
        transcript.raise_for_status()
        references.append(_NORMALIZE(sentence))
        hypotheses.append(_NORMALIZE(transcript.json()["text"]) or "<empty>")
        tts_rtfs.append(tts_s / audio_s)
        stt_rtfs.append(stt_s / audio_s)
        audio_total += audio_s
    per_sentence = [jiwer.wer(r, h) for r, h in zip(references, hypotheses, strict=True)]
    return VoiceResult(
        model=voice["model"],
        voice=voice["id"],
        language=voice["language"],
        sentences=len(SENTENCES),
        audio_s=round(audio_total, 2),
        wer=round(float(jiwer.wer(references, hypotheses)), 4),
        cer=round(float(jiwer.cer(references, hypotheses)), 4),
        tts_rtf=round(statistics.mean(tts_rtfs), 4),
        stt_rtf=round(statistics.mean(stt_rtfs), 4),
        worst=hypotheses[per_sentence.index(max(per_sentence))],
    )


@contextlib.asynccontextmanager
async def server(url: str | None, workdir: Path) -> AsyncIterator[str]:
    if url:
        yield url.rstrip("/")
        return
    installed = set(available_engines())
    engines = {name: cfg for name, cfg in TTS_ENGINES.items() if name in installed}
    engines["whisper"] = {"preload": ["tiny.en"]}
    async with run_gateway({"engines": engines}, workdir=workdir) as gateway:
        await wait_for_models(gateway.url, [f"{name}/" for name in engines])
        yield gateway.url


async def wait_for_models(url: str, prefixes: list[str], timeout_s: float = 900) -> None:
    """/readyz covers the default model only; wait until every engine lists a model."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            ids = [m["id"] for m in (await client.get("/v1/models")).json()["data"]]
            if all(any(i.startswith(prefix) for i in ids) for prefix in prefixes):
                return
            await asyncio.sleep(0.5)
    raise TimeoutError(f"not every engine came up in {timeout_s} s: {prefixes}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="polyvox-roundtrip-") as tmp:
        async with (
            server(args.server, Path(tmp)) as url,
            httpx.AsyncClient(base_url=url, timeout=300) as client,
        ):
            voices = (await client.get("/v1/audio/voices")).json()["data"]
            chosen = pick_voices(voices, args.voices_per_model)
            # Warm both models so the first voice doesn't pay for lazy initialisation.
            await measure_voice(client, chosen[0])
            results = [await measure_voice(client, voice) for voice in chosen]
            engines = (await client.get("/health")).json()
    report(results, listed=len(voices), health=engines, out=Path(args.out))


def report(results: list[VoiceResult], *, listed: int, health: Any, out: Path) -> None:
    table = Table("model", "voice", "lang", "audio s", "WER", "CER", "TTS RTF", "STT RTF")
    for r in results:
        table.add_row(
            r.model, r.voice, r.language, f"{r.audio_s:.1f}", f"{r.wer:.3f}", f"{r.cer:.3f}",
            f"{r.tts_rtf:.3f}", f"{r.stt_rtf:.3f}",
        )  # fmt: skip
    Console(width=120).print(table)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "roundtrip.json"
    document = {
        "sentences": SENTENCES,
        "stt_model": STT_MODEL,
        "voices_listed": listed,
        "voices_measured": len(results),
        "results": [asdict(r) for r in results],
        "workers": health,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", help="a running gateway's URL (default: start one)")
    parser.add_argument("--voices-per-model", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    asyncio.run(main(parser.parse_args()))
