"""First audio of HTTP speech requests with and without hundreds of idle WebSocket sessions.

Voice agents hold a session per conversation and are silent most of the time; such
sessions must not slow (or refuse) anyone else. Starts `polyvox serve` (Piper joe in
the gateway's environment), then alternates rounds: one client's sequential requests
with no sessions open (the baseline), and the same requests while ``--sessions``
WebSocket sessions are open, each having said "Hi." and gone quiet.

    PYTHONPATH=tests uv run python bench/sessions.py [--sessions 200] [--rounds 3]
                                                     [--requests 10] [--out bench/results]

Prints first-audio p50/p95 of each side and their ratio (goal: at most 2x), and writes
sessions.json and sessions.png.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from support.servers import Gateway, run_gateway
from support.ws import greet, speech_ws_url

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "We will meet at the train station after lunch.",
    "It is raining again today.",
    "Please call me back tomorrow morning, when you have a moment to talk.",
]
#: Sessions greet this many at a time (a worker lets 16 streams work at once).
_GREETING_BATCH = 8
_SETTLE_S = 2.0


async def first_audio_s(client: httpx.AsyncClient, text: str) -> float:
    body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm"}
    started = time.perf_counter()
    first: float | None = None
    async with client.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - started
    assert first is not None, "no audio"
    return first


async def round_of_requests(gateway: Gateway, count: int) -> list[float]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
        return [await first_audio_s(client, SENTENCES[n % len(SENTENCES)]) for n in range(count)]


async def loaded_round(gateway: Gateway, sessions: int, count: int) -> list[float]:
    url = speech_ws_url(gateway)
    async with contextlib.AsyncExitStack() as stack:
        open_sessions = [
            await stack.enter_async_context(websockets.connect(url, max_queue=None))
            for _ in range(sessions)
        ]
        for start in range(0, sessions, _GREETING_BATCH):
            await asyncio.gather(
                *(greet(ws) for ws in open_sessions[start : start + _GREETING_BATCH])
            )
        await asyncio.sleep(_SETTLE_S)
        return await round_of_requests(gateway, count)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "requests": len(values),
        "first_audio_p50_ms": statistics.median(values) * 1000,
        "first_audio_p95_ms": percentile(values, 0.95) * 1000,
    }


def plot(baseline: list[float], loaded: list[float], sessions: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.boxplot([[v * 1000 for v in baseline], [v * 1000 for v in loaded]])
    ax.set_xticks([1, 2], ["no sessions", f"{sessions} idle sessions"])
    ax.set_ylabel("first audio (ms)")
    ax.set_title("HTTP speech first audio, Piper, one client")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "engines": {"piper": {"env": "shared", "preload": ["en_US-joe-medium"]}}
    }
    baseline: list[float] = []
    loaded: list[float] = []
    with tempfile.TemporaryDirectory() as workdir:
        async with run_gateway(config, workdir=Path(workdir)) as gateway:
            await round_of_requests(gateway, 3)  # warm up both paths
            for _ in range(args.rounds):
                await asyncio.sleep(_SETTLE_S)
                baseline += await round_of_requests(gateway, args.requests)
                loaded += await loaded_round(gateway, args.sessions, args.requests)
    results = {
        "sessions": args.sessions,
        "no_sessions": summary(baseline),
        "idle_sessions": summary(loaded),
        "ratio_p50": statistics.median(loaded) / statistics.median(baseline),
        "ratio_p95": percentile(loaded, 0.95) / percentile(baseline, 0.95),
        "goal_ratio_p50": 2.0,
    }
    print(f"{'side':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for side in ("no_sessions", "idle_sessions"):
        row = results[side]
        label = side if side == "no_sessions" else f"{args.sessions} idle sessions"
        print(
            f"{label:<22}{row['requests']:>9}{row['first_audio_p50_ms']:>9.1f}"
            f"{row['first_audio_p95_ms']:>9.1f}"
        )
    print(
        f"ratio p50 {results['ratio_p50']:.2f}x, p95 {results['ratio_p95']:.2f}x (goal p50 <= 2x)"
    )
    (args.out / "sessions.json").write_text(json.dumps(results, indent=2))
    plot(baseline, loaded, args.sessions, args.out / "sessions.png")


if __name__ == "__main__":
    asyncio.run(main())
