"""Kokoro's real-time factor served through the gateway vs. kokoro-onnx in-process.

Starts `polyvox serve` with only the Kokoro engine (shared environment, so both sides
run the same kokoro-onnx and onnxruntime), then, sequentially and alternating the
two sides round by round (so background load hits both alike), speaks a fixed
sentence set:

- served: POST /v1/audio/speech, pcm at the native 24 kHz, streamed;
- direct: the Kokoro engine in this process, on the same segments the gateway cuts,
  with the same threads per inference as the worker.

RTF = seconds to produce / seconds of audio (lower is better); served/direct is the
serving overhead.

    PYTHONPATH=tests uv run python bench/kokoro_rtf.py [--rounds 2] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from polyvox.engines.base import SynthesisRequest
from polyvox.engines.kokoro import MODEL_ID, SAMPLE_RATE_HZ, KokoroEngine
from polyvox.text.segment import Segmenter
from polyvox.worker.settings import WorkerSettings
from support.servers import run_gateway

VOICE = "jf_alpha"
NATIVE_ID = f"kokoro/{MODEL_ID}"
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning, when you have a moment to talk.",
    "We will meet at the train station after lunch.",
    "Our new speech server streams audio while it is still being synthesized, "
    "so the listener hears the first words almost at once.",
    "It is raining again today.",
    "Please bring the blue folder to the meeting on the second floor.",
]
PCM_BYTES_PER_S = SAMPLE_RATE_HZ * 2


@dataclass
class Run:
    side: str
    first_audio_s: float
    total_s: float
    audio_s: float


@dataclass
class Summary:
    side: str
    requests: int
    audio_s: float
    busy_s: float
    real_time_factor: float
    first_audio_p50_ms: float


async def served(client: httpx.AsyncClient, text: str) -> Run:
    body = {"model": NATIVE_ID, "voice": VOICE, "input": text, "response_format": "pcm",
            "sample_rate": SAMPLE_RATE_HZ}  # fmt: skip
    started = time.perf_counter()
    first: float | None = None
    size = 0
    async with client.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            first = first if first is not None else time.perf_counter() - started
            size += len(chunk)
    total = time.perf_counter() - started
    return Run("served", first or total, total, size / PCM_BYTES_PER_S)


def direct(model: Any, segmenter: Segmenter, text: str) -> Run:
    started = time.perf_counter()
    first: float | None = None
    samples = 0
    for segment in segmenter.split(text):
        for chunk in model.synthesize(SynthesisRequest(text=segment, voice=VOICE)):
            first = first if first is not None else time.perf_counter() - started
            samples += chunk.size
    total = time.perf_counter() - started
    return Run("direct", first or total, total, samples / SAMPLE_RATE_HZ)


def summarize(side: str, runs: list[Run]) -> Summary:
    audio_s = sum(r.audio_s for r in runs)
    busy_s = sum(r.total_s for r in runs)
    return Summary(
        side=side, requests=len(runs), audio_s=audio_s, busy_s=busy_s,
        real_time_factor=busy_s / audio_s,
        first_audio_p50_ms=1000 * statistics.median(r.first_audio_s for r in runs),
    )  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = {
        "engines": {"kokoro": {"env": "shared", "preload": [MODEL_ID]}},
        "default_model": NATIVE_ID,
        "model_aliases": {},
    }
    # The engine configured as the worker runs it by default (WorkerSettings).
    threads = max(1, (os.cpu_count() or 1) // WorkerSettings().inference_threads)
    model = KokoroEngine(threads_per_inference=threads).load(MODEL_ID)
    segmenter = Segmenter()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as workdir:
        async with (
            run_gateway(config, workdir=Path(workdir)) as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=300) as client,
        ):
            await served(client, SENTENCES[0])  # warm-up, both sides
            direct(model, segmenter, SENTENCES[0])
            for _ in range(args.rounds):
                for text in SENTENCES:
                    runs.append(await served(client, text))
                runs += [direct(model, segmenter, text) for text in SENTENCES]
    summaries = [
        summarize(side, [r for r in runs if r.side == side]) for side in ("served", "direct")
    ]
    print(
        f"{'side':7} {'requests':>8} {'audio s':>8} {'busy s':>7} {'RTF':>6} {'first p50 ms':>12}"
    )
    for s in summaries:
        print(f"{s.side:7} {s.requests:8d} {s.audio_s:8.1f} {s.busy_s:7.1f} "
              f"{s.real_time_factor:6.3f} {s.first_audio_p50_ms:12.0f}")  # fmt: skip
    ratio = summaries[0].real_time_factor / summaries[1].real_time_factor
    print(f"served/direct RTF = {ratio:.3f} (threads per inference: {threads})")
    results = {"runs": [asdict(s) for s in summaries], "served_over_direct_rtf": ratio,
               "threads_per_inference": threads, "voice": VOICE, "rounds": args.rounds}  # fmt: skip
    (args.out / "kokoro_rtf.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / 'kokoro_rtf.json'}")


if __name__ == "__main__":
    asyncio.run(main())
