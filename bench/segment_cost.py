"""What one Piper inference costs for a segment of a given length.

A worker cannot pre-empt an inference, so the longest segment it may be given
bounds how long a new stream waits behind another stream's segment; the fixed
cost per inference is what cutting text finer costs. This measures both: Piper
joe called directly, best of ``--repeats`` per text, and a least-squares line
``cost = fixed + per_audio_second * audio_s``.

    uv run python bench/segment_cost.py [--repeats 3] [--out bench/results]

Prints a table and writes segment_cost.json and segment_cost.png.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from polyvox.engines.base import SpeechModel, SynthesisRequest
from polyvox.engines.piper import PiperEngine
from polyvox.worker.settings import WorkerSettings

TEXTS = [
    "Hi.",
    "Hello there.",
    "The quick brown fox",
    "Please call me back",
    "We will meet at the train station.",
    "Our new speech server streams audio as it goes,",
    "the results at 10:30, in the large hall on the second floor.",
    "while it is still being synthesized, so the listener hears the first words almost at once.",
    "The committee reviewed every proposal in detail and agreed that the second one, "
    "which came in late, was still the strongest of them all by a wide margin.",
    "A sentence of this length without a single comma in it goes on and on past the point "
    "where any reader would want to take a breath and it still keeps going until the end "
    "of the line is finally reached.",
]


def measure(model: SpeechModel, text: str, repeats: int) -> tuple[float, float]:
    """Best wall time of ``repeats`` syntheses of ``text``, and its audio duration (s)."""
    best = float("inf")
    samples = 0
    for _ in range(repeats):
        started = time.perf_counter()
        chunks = model.synthesize(SynthesisRequest(text=text, voice="joe"))
        samples = sum(chunk.size for chunk in chunks)
        best = min(best, time.perf_counter() - started)
    return best, samples / 22_050


def plot(rows: list[dict[str, float | str]], fixed_s: float, slope: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    audio = np.array([row["audio_s"] for row in rows], dtype=float)
    cost = np.array([row["cost_ms"] for row in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(audio, cost, label="measured")
    xs = np.linspace(0, audio.max(), 50)
    ax.plot(xs, 1000 * (fixed_s + slope * xs), label="least-squares line")
    ax.set(xlabel="audio produced (s)", ylabel="inference (ms)", title="Piper joe, one segment")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # The threads a worker gives each inference by default.
    threads = max(1, (os.cpu_count() or 1) // WorkerSettings().inference_threads)
    model = PiperEngine(threads_per_inference=threads).load("en_US-joe-medium")
    measure(model, TEXTS[1], 2)  # warm-up
    rows: list[dict[str, float | str]] = []
    for text in TEXTS:
        cost_s, audio_s = measure(model, text, args.repeats)
        rows.append(
            {"chars": len(text), "audio_s": audio_s, "cost_ms": 1000 * cost_s, "text": text}
        )
    audio = np.array([row["audio_s"] for row in rows], dtype=float)
    cost = np.array([row["cost_ms"] for row in rows], dtype=float) / 1000
    slope, fixed_s = np.polyfit(audio, cost, 1)
    print(f"{'chars':>5} {'audio s':>7} {'cost ms':>8}  text")
    for row in rows:
        print(f"{row['chars']:5d} {row['audio_s']:7.2f} {row['cost_ms']:8.0f}  {row['text']}")
    print(
        f"cost = {1000 * fixed_s:.0f} ms + {1000 * slope:.0f} ms per audio second "
        f"({threads} threads per inference)"
    )
    results = {
        "threads_per_inference": threads,
        "fixed_ms": 1000 * fixed_s,
        "ms_per_audio_s": 1000 * slope,
        "rows": rows,
    }
    (args.out / "segment_cost.json").write_text(json.dumps(results, indent=2))
    plot(rows, fixed_s, slope, args.out / "segment_cost.png")
    print(f"wrote {args.out / 'segment_cost.json'} and {args.out / 'segment_cost.png'}")


if __name__ == "__main__":
    main()
