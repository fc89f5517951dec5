"""Pipecat (``pipecat-ai``) as its users run it against Polyvox: its OpenAITTSService,
OpenAISTTService and OpenAIRealtimeSTTService in small pipelines with real audio.

pipecat-ai cannot join the development environment (it needs protobuf<7; Polyvox
pins >=7), so it gets an environment of its own, built with uv on first use and
kept under the test home (as the supervisor keeps engine environments), and runs
tests/support/pipecat_client.py as a client process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from polyvox.supervisor.environments import _find_uv
from support.servers import Gateway, polyvox_test_home
from support.speech import decode_pcm, transcribe, word_error_rate

from .conftest import RATE, Speak

#: Exact, so every run and host tests the same Pipecat.
PIPECAT = "pipecat-ai[openai]==1.14.0"
CLIENT = Path(__file__).parents[2] / "support" / "pipecat_client.py"
SPEECH = "Good morning, my friend, how are you today?"


async def _run(*command: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{output.decode(errors='replace')[-3000:]}")


async def pipecat_python() -> Path:
    """The interpreter of Pipecat's environment, built once per requirement set."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256(f"{PIPECAT} {version}".encode()).hexdigest()[:12]
    home = polyvox_test_home() / "clients" / f"pipecat-{key}"
    python = home / "bin" / "python"
    if (home / ".complete").exists() and python.exists():
        return python
    building = home.with_name(home.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    uv = _find_uv()
    await _run(uv, "venv", "--python", version, str(building))
    await _run(uv, "pip", "install", "--python", str(building / "bin" / "python"), PIPECAT)
    (building / ".complete").write_text(PIPECAT)
    shutil.rmtree(home, ignore_errors=True)
    # Built aside, then moved: a run stopped half-way never leaves a half environment
    # that looks complete. Only bin/python is used, and it finds its packages through
    # pyvenv.cfg beside it, wherever the folder is.
    building.rename(home)
    return python


async def test_pipecat_services_speak_and_transcribe_through_polyvox(
    rt_gateway: Gateway, speak_pcm: Speak, tmp_path: Path
) -> None:
    python = await pipecat_python()
    speech = tmp_path / "speech.pcm"
    speech.write_bytes(await speak_pcm(SPEECH))
    process = await asyncio.create_subprocess_exec(
        str(python), str(CLIENT), rt_gateway.url, str(speech), str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, errors = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, errors.decode(errors="replace")[-3000:]
    result = json.loads(output.decode().strip().splitlines()[-1])

    tts = result["tts"]
    assert tts["errors"] == []
    assert tts["sample_rate"] == RATE
    spoken = decode_pcm((tmp_path / "tts.pcm").read_bytes(), RATE)
    assert spoken.duration_s > 1.0
    assert word_error_rate(tts["text"], transcribe(spoken)) <= 0.25
    for service in ("stt", "realtime_stt"):
        assert result[service]["errors"] == [], service
        (text,) = result[service]["texts"]
        assert word_error_rate(SPEECH, text) <= 0.25, (service, text)
