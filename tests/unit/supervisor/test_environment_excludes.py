"""Engine environments can leave out packages a requirement depends on (uv --excludes)."""

from __future__ import annotations

import subprocess
from importlib.metadata import requires
from pathlib import Path

from polyvox.engines.whisper import WhisperEngine
from polyvox.supervisor.environments import EnvironmentBuilder, EnvironmentSpec, environment_key

TARGET = ["-e", "/src/polyvox"]


def test_no_excludes_keeps_the_key_of_existing_environments() -> None:
    spec = EnvironmentSpec(engine="piper", requirements=("piper-tts>=1.3",))
    same = EnvironmentSpec(engine="piper", requirements=("piper-tts>=1.3",), excludes=())
    excluding = EnvironmentSpec(
        engine="piper", requirements=("piper-tts>=1.3",), excludes=("torch",)
    )
    assert environment_key(spec, TARGET) == environment_key(same, TARGET)
    assert environment_key(excluding, TARGET) != environment_key(spec, TARGET)


def test_whisper_never_installs_torch() -> None:
    assert {"torch", "torchaudio"} <= set(WhisperEngine.excluded_requirements)
    extra = [r for r in requires("polyvox") or [] if f"extra == '{WhisperEngine.extra}'" in r]
    assert any(r.startswith("silero-vad") for r in extra)


def test_real_build_leaves_excluded_dependencies_out(tmp_path: Path) -> None:
    # silero-vad declares torch as a dependency; its ONNX file needs none of it.
    spec = EnvironmentSpec(
        engine="probe", requirements=("silero-vad==6.2.3",), excludes=("torch", "torchaudio")
    )
    python = EnvironmentBuilder(home=tmp_path).ensure(spec, install_target=[])

    listing = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(sorted(d.name for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "silero-vad" in listing or "silero_vad" in listing
    assert "torch" not in listing
