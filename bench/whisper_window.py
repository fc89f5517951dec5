"""Whisper's encoder window cut to the audio: decode time and word error rate.

Piper (joe) speaks 46 sentences (Harvard lists, voice-agent requests and one-word
turns, 0.3 to 7 s) at three speeds; every other clip gets 0.5 s of silence before,
0.25 s after and a little noise. Each clip is transcribed in this process by the
packaged Whisper tiny.en (int8, beam 1, every core), three ways:

- ``full``: Whisper's fixed 30 s window, what faster-whisper does (the baseline);
- ``short, unchecked``: the window cut to the audio plus the margin, nothing else;
- ``short (served)``: what the engine does: the cut window, and the full one again
  when that transcript repeats itself (engines/whisper_window.py).

Prints, per way: mean word error rate, transcripts that look like a decoder loop (for
the unchecked way: how often the served one decodes twice), and decode
time p50/p95 with its ratio to the full window's; writes whisper_window.json.

    PYTHONPATH=tests uv run python bench/whisper_window.py [--margin-s 5] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from polyvox.contract.types import transcript_text
from polyvox.engines.base import SynthesisRequest, TimedChunk, TranscriptionRequest
from polyvox.engines.piper import PiperEngine
from polyvox.engines.whisper import WhisperEngine
from polyvox.engines.whisper_window import looks_repeated
from support.speech import word_error_rate

SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The stale smell of old beer lingers.",
    "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.",
    "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.",
    "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.",
    "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.",
    "What joy there is in living.",
    "Hello.",
    "Yes, please.",
    "Okay, thanks.",
    "Yes?",
    "No?",
    "No.",
    "Sure.",
    "Stop.",
    "Thanks.",
    "Could you book me a table for two at seven tonight, please?",
    "I think the weather tomorrow will be cold and windy, so bring a coat.",
    "What time does the last train to the city leave on Sundays?",
    "Please remind me to call my sister after lunch.",
    "Can you turn the lights off in the kitchen and lock the front door?",
    "My flight lands at half past nine, so pick me up at the airport around ten.",
    "The quarterly report shows revenue up eight percent, driven mostly by the new "
    "subscription plans in Europe and Asia.",
]
SPEEDS = (1.0, 0.8, 1.25)
RATE_HZ = 16_000


def clips() -> list[tuple[str, np.ndarray]]:
    piper = PiperEngine().load("en_US-joe-medium")
    voice = piper.info.default_voice.id
    made = []
    for speed in SPEEDS:
        for i, text in enumerate(SENTENCES):
            chunks = piper.synthesize(SynthesisRequest(text=text, voice=voice, speed=speed))
            pieces = [c.samples if isinstance(c, TimedChunk) else c for c in chunks]
            audio = np.concatenate([np.asarray(p).reshape(-1) for p in pieces])
            audio = soxr.resample(audio, piper.info.native_sample_rate_hz, RATE_HZ)
            if i % 2 == 0:
                padded = np.concatenate(
                    [np.zeros(RATE_HZ // 2), audio, np.zeros(RATE_HZ // 4)]
                ).astype(np.float32)
                noise = np.random.default_rng(i).normal(0, 0.003, padded.size)
                audio = (padded + noise).astype(np.float32)
            made.append((text, audio.astype(np.float32)))
    return made


def measure(name: str, transcribe: Any, made: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    errors, times, repeated = [], [], 0
    for text, audio in made:
        started = time.perf_counter()
        heard = transcribe(audio)
        times.append(time.perf_counter() - started)
        errors.append(word_error_rate(text, heard))
        repeated += looks_repeated(heard, audio.size / RATE_HZ)
    ordered = sorted(times)
    return {
        "way": name,
        "clips": len(made),
        "wer_mean": statistics.fmean(errors),
        "repeated": repeated,
        "decode_p50_s": statistics.median(times),
        "decode_p95_s": ordered[round(0.95 * (len(ordered) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--margin-s", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    made = clips()
    request = TranscriptionRequest(language="en", options={"beam_size": "1"})

    def engine(margin_s: float) -> Any:
        whisper = WhisperEngine(options={"window_margin_s": str(margin_s)})
        return whisper.load(next(iter(m.id for m in whisper.list_models())))

    full, short = engine(30.0), engine(args.margin_s)
    raw = short._model  # the cut window with no check: what the check guards against

    def unchecked(audio: np.ndarray) -> str:
        def decode() -> str:
            segments, _ = raw.transcribe(audio, language="en", beam_size=1, vad_filter=False)
            return " ".join(s.text for s in segments)

        return str(raw.in_short_window(decode))

    def served(model: Any) -> Any:
        return lambda audio: transcript_text(tuple(model.transcribe(audio, request)[0]))

    for warm in (served(full), served(short)):
        warm(made[0][1])
    results = [
        measure("full", served(full), made),
        measure("short, unchecked", unchecked, made),
        measure("short (served)", served(short), made),
    ]
    base = results[0]["decode_p50_s"]
    print(f"margin {args.margin_s:.1f} s, {len(made)} clips")
    print(f"{'way':<18}{'WER':>7}{'repeats':>9}{'p50 ms':>8}{'p95 ms':>8}{'p50 / full':>12}")
    for r in results:
        r["p50_over_full"] = r["decode_p50_s"] / base
        print(
            f"{r['way']:<18}{r['wer_mean']:>7.3f}{r['repeated']:>9}"
            f"{r['decode_p50_s'] * 1000:>8.0f}{r['decode_p95_s'] * 1000:>8.0f}"
            f"{r['p50_over_full']:>12.2f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "whisper_window.json").write_text(
        json.dumps({"margin_s": args.margin_s, "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
