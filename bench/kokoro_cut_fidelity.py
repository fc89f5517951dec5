"""How close Kokoro's cut decode comes to the whole decode, and what each choice costs.

For the first segment the gateway cuts from each of 20 Harvard sentences (and for the
whole sentences), in this process, on the packaged int8 model:

- the int8 graph's own noise: the whole decode against the whole decode of an input
  perturbed by 1e-6 (relative), the floor no cut can go under;
- the cut as shipped (first chunk from a window with balanced statistics), and
  variants: plain statistics, more leading silence or context decoded.

Figures: magnitude-spectrum SNR (dB; phase ignored, as the int8 noise moves
waveforms far more than spectra) of the first chunk and of the whole segment against
the whole decode, after lining the two up by kokoro-onnx's trim hop; the first
chunk's level against the same stretch of the whole decode; the frames decoded
before the first audio, as a share of the unit's. Deterministic: no timing.

    PYTHONPATH=tests uv run python bench/kokoro_cut_fidelity.py [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from polyvox.engines import kokoro_decode, kokoro_stream
from polyvox.engines.base import SynthesisRequest
from polyvox.engines.kokoro import MODEL_ID, KokoroEngine
from polyvox.text.segment import Segmenter

VOICE = "jf_alpha"
FIRST_S = 0.35
HARVARD = [
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
]  # fmt: skip
#: Variants: (name, module constants to set, plain statistics).
VARIANTS: list[tuple[str, dict[str, int], bool]] = [
    ("as shipped", {}, False),
    ("plain statistics", {}, True),
    ("8 lead frames", {"LEAD_FRAMES": 8}, False),
    ("10 context frames", {"RIGHT_CONTEXT_FRAMES": 10}, False),
]
TRIM_HOP = 512


def magnitude_snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    def magnitudes(audio: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(audio, 512)[::128]
        return np.abs(np.fft.rfft(frames * np.hanning(512), axis=1))

    ref, out = magnitudes(reference), magnitudes(other)
    return float(10 * np.log10((ref**2).sum() / max(float(((ref - out) ** 2).sum()), 1e-20)))


def aligned(whole: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both, shifted by the trim hops (at most two) that line them up best."""

    def pair(lag: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = (whole[lag:], cut) if lag >= 0 else (whole, cut[-lag:])
        size = min(a.size, b.size)
        return a[:size], b[:size]

    lags = range(-2 * TRIM_HOP, 2 * TRIM_HOP + 1, TRIM_HOP)
    best = min(lags, key=lambda lag: float(np.square(np.subtract(*pair(lag))).sum()))
    return pair(best)


@contextmanager
def variant(constants: dict[str, int], plain: bool) -> Iterator[None]:
    saved = {name: getattr(kokoro_stream, name) for name in constants}
    balanced = kokoro_stream.balanced
    try:
        for name, value in constants.items():
            setattr(kokoro_stream, name, value)
        if plain:
            kokoro_stream.balanced = lambda _, start, stop: kokoro_decode.Window(start, stop)
        yield
    finally:
        for name, value in saved.items():
            setattr(kokoro_stream, name, value)
        kokoro_stream.balanced = balanced


def noise_floor_db(model: Any, text: str) -> float:
    """The whole decode against the whole decode of frame features moved by 1e-6."""
    halves = model._halves
    dtypes = model._input_dtypes
    unit = model._units(text, "en-us", VOICE, model._styles[VOICE], 1.0)[0]
    tokens_input = "input_ids" if "input_ids" in dtypes else "tokens"
    features = kokoro_decode.encode(halves, unit, dtypes, tokens_input)
    noise = np.random.default_rng(0).standard_normal(features.frames.shape)
    moved = replace(features, frames=(features.frames * (1 + 1e-6 * noise)).astype(np.float32))
    window = kokoro_decode.Window(0, features.size)
    style_dtype = dtypes[halves.style_input]
    a = kokoro_decode.decode(halves, unit, features, window, style_dtype)
    b = kokoro_decode.decode(halves, unit, moved, window, style_dtype)
    return magnitude_snr_db(a, b)


def measure(model: Any, text: str) -> dict[str, float]:
    frames: list[tuple[int, int]] = []
    decode = kokoro_stream.decode

    def counting(halves: Any, unit: Any, features: Any, window: Any, dtype: Any) -> np.ndarray:
        frames.append((window.stop - window.start, features.size))
        return decode(halves, unit, features, window, dtype)

    (whole,) = model.synthesize(SynthesisRequest(text, VOICE))
    kokoro_stream.decode = counting
    try:
        chunks = list(model.synthesize(SynthesisRequest(text, VOICE, first_chunk_s=FIRST_S)))
    finally:
        kokoro_stream.decode = decode
    reference, cut = aligned(whole, np.concatenate(chunks))
    edge = chunks[0].size
    level = 10 * np.log10((cut[:edge] ** 2).mean() / (reference[:edge] ** 2).mean())
    return {
        "first_chunk_snr_db": magnitude_snr_db(reference[:edge], cut[:edge]),
        "segment_snr_db": magnitude_snr_db(reference, cut),
        "first_chunk_level_db": float(level),
        "frames_before_first_audio": frames[0][0] / frames[0][1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = KokoroEngine(threads_per_inference=2).load(MODEL_ID)
    segmenter = Segmenter()
    texts = {
        "first segments": [segmenter.split(text)[0] for text in HARVARD],
        "sentences": HARVARD,
    }
    floor = [noise_floor_db(model, text) for text in HARVARD]
    print(f"int8 noise floor (1e-6 perturbation): median {statistics.median(floor):.1f} dB, "
          f"min {min(floor):.1f} dB")  # fmt: skip
    results: dict[str, Any] = {"noise_floor_db": floor, "variants": {}}
    print(f"{'variant':18} {'texts':15} {'first SNR med':>13} {'p10':>5} {'min':>5} "
          f"{'level mean':>10} {'min':>5} {'max':>5} {'segment SNR':>11} "
          f"{'frames':>6}")  # fmt: skip
    for name, constants, plain in VARIANTS:
        with variant(constants, plain):
            for kind, group in texts.items():
                rows = [measure(model, text) for text in group]
                column = {key: [row[key] for row in rows] for key in rows[0]}
                results["variants"][f"{name} / {kind}"] = column
                first, level = column["first_chunk_snr_db"], column["first_chunk_level_db"]
                print(f"{name:18} {kind:15} {statistics.median(first):13.1f} "
                      f"{np.percentile(first, 10):5.1f} {min(first):5.1f} "
                      f"{statistics.mean(level):+10.1f} {min(level):+5.1f} {max(level):+5.1f} "
                      f"{statistics.median(column['segment_snr_db']):11.1f} "
                      f"{statistics.mean(column['frames_before_first_audio']):6.2f}")  # fmt: skip
    (args.out / "kokoro_cut_fidelity.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / 'kokoro_cut_fidelity.json'}")


if __name__ == "__main__":
    main()
