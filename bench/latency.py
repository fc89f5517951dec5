"""First-audio latency and throughput of streamed speech, served vs. the engine direct.

Starts `polyvox serve` (Piper joe, shared environment so both sides run the same
piper-tts and onnxruntime), then for each concurrency drives POST /v1/audio/speech
(pcm, streamed; at one client also wav and mp3) with a fixed sentence set, and runs
the same segments through the Piper engine in this process with the same
concurrency as the baseline, the two sides taking turns round by round.

    uv run python bench/latency.py [--concurrency 1 4 8] [--rounds 2] [--out bench/results]
                                   [--segmentation '{"first_segment_words": 6}']
                                   [--busy-split-chars 0] [--first-chunk-ms 0]

Prints a table and writes latency.json and latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from polyvox.config import EngineSettings
from polyvox.engines.base import SynthesisRequest
from polyvox.engines.piper import PiperEngine
from polyvox.text.segment import SegmentationSettings, Segmenter
from polyvox.worker.settings import WorkerSettings
from support.servers import run_gateway
from support.speech import Decoded, decode, decode_pcm, transcribe, word_error_rate

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning, when you have a moment to talk.",
    "We will meet at the train station after lunch.",
    "Our new speech server streams audio while it is still being synthesized, "
    "so the listener hears the first words almost at once.",
    "It is raining again today.",
    "Dr. Smith will present the results at 10:30, in the large hall on the second floor.",
]
PCM_BYTES_PER_S = 24_000 * 2
#: Pause before each round: ONNX Runtime's threads keep spinning on the cores for
#: a while after a run, which would slow the other side's next round.
_SETTLE_S = 2.0


@dataclass
class Run:
    first_audio_s: float
    total_s: float
    audio_s: float


@dataclass
class Summary:
    side: str
    concurrency: int
    response_format: str
    requests: int
    first_audio_p50_ms: float
    first_audio_p95_ms: float
    wall_s: float
    audio_s: float
    throughput_audio_s_per_s: float
    real_time_factor: float


def summarize(side: str, concurrency: int, fmt: str, runs: list[Run], wall_s: float) -> Summary:
    firsts = sorted(r.first_audio_s for r in runs)
    p95 = firsts[min(len(firsts) - 1, round(0.95 * (len(firsts) - 1)))]
    audio_s = sum(r.audio_s for r in runs)
    return Summary(
        side=side, concurrency=concurrency, response_format=fmt, requests=len(runs),
        first_audio_p50_ms=1000 * statistics.median(firsts), first_audio_p95_ms=1000 * p95,
        wall_s=wall_s, audio_s=audio_s, throughput_audio_s_per_s=audio_s / wall_s,
        real_time_factor=statistics.mean(r.total_s / r.audio_s for r in runs),
    )  # fmt: skip


async def served_request(client: httpx.AsyncClient, text: str, fmt: str) -> Run:
    started = time.perf_counter()
    first: float | None = None
    size = 0
    body: list[bytes] = []
    request = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": fmt}
    async with client.stream("POST", "/v1/audio/speech", json=request) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            first = first if first is not None else time.perf_counter() - started
            size += len(chunk)
            body.append(chunk)
    total = time.perf_counter() - started
    audio_s = size / PCM_BYTES_PER_S if fmt == "pcm" else decode(b"".join(body)).duration_s
    return Run(first_audio_s=first or total, total_s=total, audio_s=audio_s)


def client_work(index: int) -> list[str]:
    """One client's sentences in a round: all of them, each client starting elsewhere,
    so every client stays busy for the whole round and all lengths run side by side."""
    return SENTENCES[index % len(SENTENCES) :] + SENTENCES[: index % len(SENTENCES)]


async def served_round(
    client: httpx.AsyncClient, concurrency: int, formats: tuple[str, ...]
) -> tuple[dict[str, list[Run]], float]:
    """``concurrency`` clients, each asking for every sentence in each of ``formats``
    (back to back, so formats meet the same machine load); returns runs and wall time."""
    runs: dict[str, list[Run]] = {fmt: [] for fmt in formats}

    async def one_client(index: int) -> None:
        for text in client_work(index):
            for fmt in formats:
                runs[fmt].append(await served_request(client, text, fmt))

    started = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(concurrency)))
    return runs, time.perf_counter() - started


def direct_request(model: Any, segmenter: Segmenter, text: str) -> Run:
    started = time.perf_counter()
    first: float | None = None
    samples = 0
    for segment in segmenter.split(text):
        for chunk in model.synthesize(SynthesisRequest(text=segment, voice="joe")):
            first = first if first is not None else time.perf_counter() - started
            samples += chunk.size
    total = time.perf_counter() - started
    return Run(first_audio_s=first or total, total_s=total, audio_s=samples / 22_050)


def direct_round(model: Any, segmenter: Segmenter, concurrency: int) -> tuple[list[Run], float]:
    """The engine in this process on the same segments, from ``concurrency`` threads."""

    def one_thread(index: int) -> list[Run]:
        return [direct_request(model, segmenter, text) for text in client_work(index)]

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        runs = [
            run for thread_runs in pool.map(one_thread, range(concurrency)) for run in thread_runs
        ]
    return runs, time.perf_counter() - started


async def compare(
    url: str, model: Any, segmenter: Segmenter, concurrency: int, rounds: int
) -> list[Summary]:
    """Served and direct rounds alternate, so a machine that speeds up or slows down
    during the run (these are shared) weighs on both sides alike."""
    formats = ("pcm", "wav", "mp3") if concurrency == 1 else ("pcm",)
    served: dict[str, list[Run]] = {fmt: [] for fmt in formats}
    direct: list[Run] = []
    served_wall = direct_wall = 0.0
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        for fmt in formats:  # warm-up: first use of each encoder
            await served_request(client, SENTENCES[0], fmt)
        direct_request(model, segmenter, SENTENCES[0])
        for _ in range(rounds):
            await asyncio.sleep(_SETTLE_S)
            runs, wall = await served_round(client, concurrency, formats)
            served_wall += wall
            for fmt in formats:
                served[fmt] += runs[fmt]
            await asyncio.sleep(_SETTLE_S)
            direct_runs, wall = await asyncio.to_thread(direct_round, model, segmenter, concurrency)
            direct += direct_runs
            direct_wall += wall
    if concurrency == 1:
        # One request at a time: each format's wall time is the sum of its requests'.
        walls = {fmt: sum(run.total_s for run in served[fmt]) for fmt in formats}
        direct_wall = sum(run.total_s for run in direct)
    else:
        walls = {formats[0]: served_wall}
    return [summarize("served", concurrency, fmt, served[fmt], walls[fmt]) for fmt in formats] + [
        summarize("direct", concurrency, "pcm", direct, direct_wall)
    ]


def plot(summaries: list[Summary], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (latency_ax, throughput_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for side, marker in (("served", "o"), ("direct", "s")):
        rows = [s for s in summaries if s.side == side and s.response_format == "pcm"]
        xs = [s.concurrency for s in rows]
        latency_ax.plot(
            xs, [s.first_audio_p50_ms for s in rows], marker=marker, label=f"{side} p50"
        )
        latency_ax.plot(xs, [s.first_audio_p95_ms for s in rows], marker=marker, linestyle="--",
                        label=f"{side} p95")  # fmt: skip
        throughput_ax.plot(
            xs, [s.throughput_audio_s_per_s for s in rows], marker=marker, label=side
        )
    latency_ax.set(xlabel="concurrent clients", ylabel="first audio (ms)", title="First audio")
    throughput_ax.set(xlabel="concurrent clients", ylabel="audio s per s", title="Throughput")
    throughput_ax.set_ylim(bottom=0)
    for ax in (latency_ax, throughput_ax):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_table(summaries: list[Summary]) -> None:
    print(
        f"{'side':7} {'conc':>4} {'fmt':>4} {'p50 ms':>8} {'p95 ms':>8} {'RTF':>6} {'audio s/s':>9}"
    )
    for s in summaries:
        print(
            f"{s.side:7} {s.concurrency:4d} {s.response_format:>4} {s.first_audio_p50_ms:8.0f} "
            f"{s.first_audio_p95_ms:8.0f} {s.real_time_factor:6.3f} "
            f"{s.throughput_audio_s_per_s:9.2f}"
        )
    for c in sorted({s.concurrency for s in summaries}):
        pcm = [s for s in summaries if s.concurrency == c and s.response_format == "pcm"]
        served = next(s for s in pcm if s.side == "served")
        direct = next(s for s in pcm if s.side == "direct")
        ratio = served.throughput_audio_s_per_s / direct.throughput_audio_s_per_s
        print(f"concurrency {c}: served/direct throughput = {ratio:.3f}")


async def round_trip_wer(url: str, model: Any, segmenter: Segmenter) -> dict[str, float]:
    """Mean word error rate of Whisper tiny.en on served and on direct audio."""
    served, direct = [], []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for text in SENTENCES:
            request = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm"}
            response = await client.post("/v1/audio/speech", json=request)
            heard = await asyncio.to_thread(transcribe, decode_pcm(response.content, 24_000))
            served.append(word_error_rate(text, heard))
            chunks = [
                chunk
                for segment in segmenter.split(text)
                for chunk in model.synthesize(SynthesisRequest(text=segment, voice="joe"))
            ]
            audio = Decoded(np.concatenate(chunks), 22_050)
            direct.append(word_error_rate(text, await asyncio.to_thread(transcribe, audio)))
    return {"served_wer": statistics.mean(served), "direct_wer": statistics.mean(direct)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument(
        "--segmentation",
        type=SegmentationSettings.model_validate_json,
        default=SegmentationSettings(),
        help="segment sizes as JSON, e.g. '{\"first_segment_words\": 6}' (default: the server's)",
    )
    parser.add_argument(
        "--busy-split-chars",
        type=int,
        default=EngineSettings().busy_split_chars,
        help="the worker's busy_split_chars (0: never cut segments under load)",
    )
    parser.add_argument(
        "--first-chunk-ms",
        type=int,
        default=EngineSettings().first_chunk_ms,
        help="the worker's first_chunk_ms (0: a stream's first segment comes whole)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summaries: list[Summary] = []
    segmenter = Segmenter(args.segmentation)
    piper = {
        "env": "shared",
        "preload": ["en_US-joe-medium"],
        "busy_split_chars": args.busy_split_chars,
        "first_chunk_ms": args.first_chunk_ms,
    }
    config = {
        "engines": {"piper": piper},
        "segmentation": args.segmentation.model_dump(),
    }
    # The engine configured as the worker runs it by default (WorkerSettings).
    inference_threads = WorkerSettings().inference_threads
    engine = PiperEngine(threads_per_inference=max(1, (os.cpu_count() or 1) // inference_threads))
    model = engine.load("en_US-joe-medium")
    with tempfile.TemporaryDirectory() as workdir:
        async with run_gateway(config, workdir=Path(workdir)) as gateway:
            for concurrency in args.concurrency:
                summaries += await compare(gateway.url, model, segmenter, concurrency, args.rounds)
            # After the timed runs, so transcription does not disturb them.
            wer = await round_trip_wer(gateway.url, model, segmenter)
    print_table(summaries)
    print(f"round-trip WER (Whisper tiny.en): served {wer['served_wer']:.3f}, "
          f"direct {wer['direct_wer']:.3f}")  # fmt: skip
    results = {
        "segmentation": args.segmentation.model_dump(),
        "busy_split_chars": args.busy_split_chars,
        "first_chunk_ms": args.first_chunk_ms,
        "runs": [asdict(s) for s in summaries],
        "round_trip_wer": wer,
    }
    (args.out / "latency.json").write_text(json.dumps(results, indent=2))
    plot(summaries, args.out / "latency.png")
    print(f"wrote {args.out / 'latency.json'} and {args.out / 'latency.png'}")


if __name__ == "__main__":
    asyncio.run(main())
