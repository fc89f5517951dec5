"""Cold start of `make serve`: seconds to /readyz 200 and to the first audio.

Three cases, measured in one run so they compare: a fresh machine (empty uv cache,
no engine environment), a fresh POLYVOX_HOME with a warm uv cache, and a start
with the engine environment already built. Prints a table and writes JSON.

    uv run python bench/cold_start.py [--out bench/results/cold_start.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(home: Path, uv_cache: Path | None, timeout_s: float = 900) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "POLYVOX_HOME": str(home), "POLYVOX_PORT": str(port)}
    if uv_cache is not None:
        env["UV_CACHE_DIR"] = str(uv_cache)
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        ["make", "serve"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ready_s = _wait_ready(url, started, timeout_s)
        response = httpx.post(
            f"{url}/v1/audio/speech",
            json={"model": "tts-1", "voice": "alloy", "input": "Hello world."},
            timeout=60,
        )
        response.raise_for_status()
        return {"ready_s": ready_s, "first_audio_s": time.perf_counter() - started}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _wait_ready(url: str, started: float, timeout_s: float) -> float:
    while time.perf_counter() - started < timeout_s:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cold_start.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        results = {
            "fresh machine (empty uv cache, env not built)": measure(
                scratch_dir / "home-a", scratch_dir / "uv-cache"
            ),
            "env not built (warm uv cache)": measure(scratch_dir / "home-b", None),
            "env already built": measure(scratch_dir / "home-b", None),
        }
    print(f"{'case':48} {'ready (s)':>10} {'first audio (s)':>16}")
    for case, figures in results.items():
        print(f"{case:48} {figures['ready_s']:10.1f} {figures['first_audio_s']:16.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
