"""Worker memory across load → synthesize → evict, for every installed engine.

Two views, each engine measured in its own fresh process:

- **direct**: the engine in a bare process; RSS after load, after one synthesis,
  after closing the model (objects freed, ``gc.collect``), and after ``malloc_trim``.
  The gap between the last two is heap glibc keeps unless asked: it is why the
  worker trims after every eviction instead of recycling its process.
- **served**: a real ``polyvox worker`` process driven over gRPC (Load, Synthesize,
  Unload), RSS read from /proc: what an operator sees.

    uv run python bench/memory.py [--engines piper,kokoro] [--out bench/results/memory.json]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = "Memory is measured after loading, after speaking this sentence, and after eviction."


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _first_tts_model(engine: object) -> tuple[str, str]:
    from polyvox.engines.base import Capability, Engine

    assert isinstance(engine, Engine)
    for info in engine.list_models():
        if info.capability is Capability.TTS:
            return info.id, info.default_voice.id
    raise LookupError("no TTS model")


def direct(engine_name: str) -> dict[str, float]:
    """Run in a child process: one engine, in-process, no gRPC."""
    from polyvox.engines.base import SpeechModel, SynthesisRequest
    from polyvox.engines.registry import engine_class

    figures = {"process start": rss_mib()}
    engine = engine_class(engine_name)(threads_per_inference=os.cpu_count())
    model_id, voice = _first_tts_model(engine)
    figures["engine imported"] = rss_mib()
    model = engine.load(model_id)
    figures["after load"] = rss_mib()
    assert isinstance(model, SpeechModel)
    for _ in model.synthesize(SynthesisRequest(text=TEXT, voice=voice)):
        pass
    figures["after synthesis"] = rss_mib()
    model.close()
    del model
    gc.collect()
    figures["after close + gc"] = rss_mib()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    figures["after malloc_trim"] = rss_mib()
    return figures


async def served(engine_name: str, workdir: Path) -> dict[str, float]:
    from polyvox.contract.client import WorkerClient
    from polyvox.contract.types import SynthesisConfig
    from polyvox.engines.registry import engine_class

    model_id, voice = _first_tts_model(engine_class(engine_name)())
    address = f"unix://{workdir / f'{engine_name}.sock'}"
    env = {**os.environ, "POLYVOX_WORKER_LIFECYCLE": json.dumps({"warmup": False})}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "polyvox", "worker", "--engine", engine_name, "--listen", address,
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = WorkerClient(address)
    try:
        for _ in range(600):
            try:
                if await client.health(timeout_s=1.0):
                    break
            except Exception:
                await asyncio.sleep(0.1)
        figures = {"worker idle": rss_mib(process.pid)}
        await client.load(model_id)
        figures["after load"] = rss_mib(process.pid)
        settings = SynthesisConfig(model_id=model_id, voice=voice)
        async for _ in client.synthesize(settings, [TEXT]):
            pass
        figures["after synthesis"] = rss_mib(process.pid)
        await client.unload(model_id)
        await asyncio.sleep(0.2)
        figures["after unload"] = rss_mib(process.pid)
        return figures
    finally:
        await client.close()
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


def installed_engines() -> list[str]:
    from polyvox.engines.registry import engine_class

    found = []
    for entry in entry_points(group="polyvox.engines"):
        try:
            _first_tts_model(engine_class(entry.name)())
        except Exception:
            continue
        found.append(entry.name)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", help="comma-separated; default: every installed TTS engine")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "memory.json")
    parser.add_argument("--direct-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.direct_child:
        print(json.dumps(direct(args.direct_child)))
        return
    engines = args.engines.split(",") if args.engines else installed_engines()
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in engines:
            child = subprocess.run(
                [sys.executable, __file__, "--direct-child", name],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[name] = {
                "direct": json.loads(child.stdout.splitlines()[-1]),
                "served": asyncio.run(served(name, Path(scratch))),
            }
    for name, views in results.items():
        for view, figures in views.items():
            print(f"\n{name} ({view}), RSS in MiB")
            for stage, mib in figures.items():
                print(f"  {stage:<22} {mib:8.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
