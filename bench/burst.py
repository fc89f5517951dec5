"""A burst past capacity: 64 clients x 2 requests through the OpenAI SDK, with the line and
without it (today's behaviour before it: a full worker refuses at once).

Starts `polyvox serve` (Piper joe, the gateway's environment) with the engine's line
on (``queue.max_waiting`` 256), then off (0), and runs ``--rounds`` bursts in each, every
one between two measures of the served throughput at 4 clients: the burst's bound is
all its audio divided by their mean (the least time it can take), so a machine that
slows down or speeds up during a round moves the bound with it. Every client uses
the OpenAI SDK's defaults (2 retries on a 429). For each stream it records first audio,
total time and stall time: how far its audio fell behind real-time playback started at
its first audio.

    PYTHONPATH=tests uv run python bench/burst.py [--clients 64] [--requests 2]
        [--max-realtime-load 0.8|none] [--busy-split-chars 30] [--newcomer-slack-ms 100]
        [--rounds 3] [--line-only] [--out bench/results]

Prints successes, wall time (and its ratio to the throughput bound; the median round,
and every round's ratio), total-time and first-audio p50/p95 and stall figures per
mode (every round's streams together), and where the CPU went at 4 clients
and in the burst (the gateway's, its workers' and the clients' CPU seconds per second
of audio, and the cores busy on the whole machine); writes burst.json and burst.png.
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

import openai
from openai import AsyncOpenAI

from support.servers import run_gateway

TEXTS = [
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well. These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls. The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage.",
]
PCM_BYTES_PER_S = 24_000 * 2
_SETTLE_S = 2.0
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue  # gone meanwhile
    return found


def cpu_seconds(gateway_pid: int) -> dict[str, float]:
    """CPU seconds used so far: the gateway, its workers (its children), this process
    (the clients), and the machine's cores busy at all (from /proc/stat)."""
    cores = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    idle = int(cores[3]) + int(cores[4])  # idle + iowait
    return {
        "gateway": _process_cpu_s(gateway_pid),
        "workers": sum(_process_cpu_s(child) for child in _children(gateway_pid)),
        "clients": sum(os.times()[:2]),
        "machine": (sum(int(v) for v in cores[:8]) - idle) / _TICKS_PER_S,
    }


def cpu_per_audio_s(before: dict[str, float], after: dict[str, float], audio_s: float,
                    wall_s: float) -> dict[str, float]:  # fmt: skip
    """Each part's CPU seconds per second of audio, and the machine's busy cores."""
    used = {part: after[part] - before[part] for part in before}
    per_audio = {f"{part}_cpu_per_audio_s": used[part] / audio_s for part in used}
    return {**per_audio, "busy_cores": used["machine"] / wall_s}


@dataclass
class Stream:
    ok: bool
    first_audio_s: float
    total_s: float
    audio_s: float
    stall_s: float
    #: Seconds of audio received when the worst stall ended (where in the stream it was).
    stall_at_audio_s: float = 0.0
    error: str = ""


async def speak(client: AsyncOpenAI, text: str) -> Stream:
    started = time.perf_counter()
    first: float | None = None
    received = 0
    stall_s = 0.0
    stall_at_audio_s = 0.0
    try:
        async with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=text, response_format="pcm"
        ) as response:
            async for chunk in response.iter_bytes():
                now = time.perf_counter()
                if first is None:
                    first = now
                # Playback starts at the first audio: by now it wanted (now - first) s.
                behind_s = (now - first) - received / PCM_BYTES_PER_S
                if behind_s > stall_s:
                    stall_s, stall_at_audio_s = behind_s, received / PCM_BYTES_PER_S
                received += len(chunk)
    except openai.APIError as exc:
        failed_s = time.perf_counter() - started
        return Stream(False, 0.0, failed_s, 0.0, 0.0, error=type(exc).__name__)
    assert first is not None
    total_s = time.perf_counter() - started
    audio_s = received / PCM_BYTES_PER_S
    return Stream(True, first - started, total_s, audio_s, stall_s, stall_at_audio_s)


async def client_run(base_url: str, requests: int, offset: int) -> list[Stream]:
    async with AsyncOpenAI(base_url=base_url, api_key="unused") as client:  # default retries
        return [await speak(client, TEXTS[(offset + n) % len(TEXTS)]) for n in range(requests)]


async def burst(base_url: str, clients: int, requests: int) -> tuple[list[Stream], float]:
    started = time.perf_counter()
    runs = await asyncio.gather(*(client_run(base_url, requests, n) for n in range(clients)))
    return [stream for run in runs for stream in run], time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def summarize(streams: list[Stream], wall_s: float, bound_s: float | None) -> dict[str, Any]:
    ok = [s for s in streams if s.ok]
    return {
        "requests": len(streams),
        "succeeded": len(ok),
        "failed": len(streams) - len(ok),
        "errors": sorted({s.error for s in streams if not s.ok}),
        "wall_s": wall_s,
        "wall_over_bound": wall_s / bound_s if bound_s else None,
        "total_p50_s": statistics.median([s.total_s for s in ok]) if ok else None,
        "total_p95_s": percentile([s.total_s for s in ok], 0.95),
        "first_audio_p50_s": statistics.median([s.first_audio_s for s in ok]) if ok else None,
        "first_audio_p95_s": percentile([s.first_audio_s for s in ok], 0.95),
        "stall_p50_s": statistics.median([s.stall_s for s in ok]) if ok else None,
        "stall_max_s": max((s.stall_s for s in ok), default=0.0),
        "streams_that_stalled_over_100ms": sum(1 for s in ok if s.stall_s > 0.1),
        "audio_s": sum(s.audio_s for s in ok),
    }


async def measure(queue: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    config: dict[str, Any] = {
        "engines": {
            "piper": {
                "env": "shared",
                "preload": ["en_US-joe-medium"],
                "max_realtime_load": args.max_realtime_load,
                "newcomer_slack_ms": args.newcomer_slack_ms,
                "busy_split_chars": args.busy_split_chars,
            }
        },
        "queue": queue,
        "request_timeout_s": 600,
    }
    rounds = []
    with tempfile.TemporaryDirectory() as workdir:
        async with run_gateway(config, workdir=Path(workdir)) as gateway:
            base_url = f"{gateway.url}/v1"
            await burst(base_url, 2, 1)  # warm up
            for _ in range(args.rounds):
                rounds.append(await one_round(base_url, gateway.process.pid, args))
    return summarize_rounds(rounds)


async def at_four_clients(base_url: str, pid: int) -> tuple[float, dict[str, float]]:
    """Served throughput (audio s per s) at 4 clients x 4 requests, and its CPU."""
    await asyncio.sleep(_SETTLE_S)
    before = cpu_seconds(pid)
    four, wall_s = await burst(base_url, 4, 4)
    audio_s = sum(s.audio_s for s in four)
    return audio_s / wall_s, cpu_per_audio_s(before, cpu_seconds(pid), audio_s, wall_s)


async def one_round(base_url: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    """The burst between two measures of the throughput at 4 clients: their mean is its
    bound's rate, so a machine that slowed or sped up meanwhile moves both."""
    throughput_before, four_cpu = await at_four_clients(base_url, pid)
    await asyncio.sleep(_SETTLE_S)
    before = cpu_seconds(pid)
    streams, wall_s = await burst(base_url, args.clients, args.requests)
    burst_audio_s = sum(s.audio_s for s in streams if s.ok)
    burst_cpu = cpu_per_audio_s(before, cpu_seconds(pid), burst_audio_s, wall_s)
    throughput_after, _ = await at_four_clients(base_url, pid)
    throughput = (throughput_before + throughput_after) / 2
    # All the burst's audio (what every request would have had) at the served rate.
    expected_audio_s = burst_audio_s / max(1, sum(s.ok for s in streams)) * len(streams)
    bound_s = expected_audio_s / throughput
    return {
        "throughput_at_4_audio_s_per_s": [throughput_before, throughput_after],
        "bound_s": bound_s,
        "cpu_at_4": four_cpu,
        "cpu_in_burst": burst_cpu,
        **summarize(streams, wall_s, bound_s),
        "streams": [asdict(s) for s in streams],
    }


def summarize_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Every round's streams together; wall over bound and CPU from the median round."""
    median = sorted(rounds, key=lambda r: r["wall_over_bound"])[len(rounds) // 2]
    streams = [Stream(**s) for r in rounds for s in r["streams"]]
    pooled = summarize(streams, median["wall_s"], median["bound_s"])
    return {
        **pooled,
        "wall_over_bound_per_round": [r["wall_over_bound"] for r in rounds],
        "cpu_at_4": median["cpu_at_4"],
        "cpu_in_burst": median["cpu_in_burst"],
        "rounds": rounds,
        "streams": [asdict(s) for s in streams],
    }


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for mode, result in results.items():
        ok = [s for s in result["streams"] if s["ok"]]
        axes[0].hist([s["total_s"] for s in ok], bins=30, alpha=0.6, label=mode)
        axes[1].hist([s["stall_s"] * 1000 for s in ok], bins=30, alpha=0.6, label=mode)
    axes[0].set_xlabel("total time per request (s)")
    axes[1].set_xlabel("stall after first audio (ms)")
    for ax in axes:
        ax.legend()
    fig.suptitle("64 clients x 2 requests, Piper, OpenAI SDK")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2)
    parser.add_argument(
        "--max-realtime-load",
        type=lambda value: None if value == "none" else float(value),
        default=0.8,
        help="the worker's speed bound (engines.piper.max_realtime_load); none: capacity alone",
    )
    parser.add_argument(
        "--busy-split-chars",
        type=int,
        default=30,
        help="engines.piper.busy_split_chars (0: segments never cut while others speak)",
    )
    parser.add_argument(
        "--newcomer-slack-ms",
        type=int,
        default=100,
        help="engines.piper.newcomer_slack_ms (0: new streams let in whatever is due)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="bursts per mode, each between two 4-client runs"
    )
    parser.add_argument("--line-only", action="store_true", help="skip the run without the line")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"line on": await measure({"max_waiting": 256, "max_wait_s": 300}, args)}
    if not args.line_only:
        results["line off"] = await measure({"max_waiting": 0}, args)
    header = (
        f"{'mode':<10}{'ok':>6}{'wall s':>8}{'/bound':>8}{'total p50':>10}{'p95':>7}"
        f"{'first p50':>10}{'p95':>7}{'stall max':>10}{'>100ms':>7}"
    )
    print(header)
    for mode, r in results.items():
        print(
            f"{mode:<10}{r['succeeded']:>3}/{r['requests']:<3}{r['wall_s']:>7.1f}"
            f"{r['wall_over_bound']:>8.2f}{r['total_p50_s'] or 0:>10.2f}{r['total_p95_s']:>7.2f}"
            f"{r['first_audio_p50_s'] or 0:>10.2f}{r['first_audio_p95_s']:>7.2f}"
            f"{r['stall_max_s']:>10.2f}{r['streams_that_stalled_over_100ms']:>7}"
        )
    for mode, r in results.items():
        ratios = ", ".join(f"{ratio:.2f}" for ratio in r["wall_over_bound_per_round"])
        print(f"{mode}: wall / bound per round {ratios}")
    print("CPU seconds per second of audio (gateway / workers / clients), busy cores,")
    print("in the median round:")
    for mode, r in results.items():
        for phase in ("cpu_at_4", "cpu_in_burst"):
            c = r[phase]
            print(
                f"  {mode:<9} {phase[4:]:<9} {c['gateway_cpu_per_audio_s']:.3f} / "
                f"{c['workers_cpu_per_audio_s']:.3f} / {c['clients_cpu_per_audio_s']:.3f}, "
                f"{c['busy_cores']:.2f}"
            )
    (args.out / "burst.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "burst.png")


if __name__ == "__main__":
    asyncio.run(main())
