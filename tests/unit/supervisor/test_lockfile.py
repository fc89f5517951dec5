"""Engine environments keep to the lock's exact versions (uv export of their extra)."""

from __future__ import annotations

from pathlib import Path

import pytest

import polyvox
from polyvox.config import EngineSettings, Settings
from polyvox.engines.registry import engine_class
from polyvox.supervisor import lockfile
from polyvox.supervisor.environments import EnvironmentSpec, _find_uv
from polyvox.supervisor.supervisor import Supervisor

REPO_ROOT = Path(__file__).resolve().parents[3]


def locked_version(package: str) -> str:
    """The version uv.lock holds for ``package`` (read straight from the file)."""
    lines = (REPO_ROOT / "uv.lock").read_text().splitlines()
    at = lines.index(f'name = "{package}"')
    return lines[at + 1].split('"')[1]


@pytest.mark.parametrize(
    ("extra", "package"), [("piper", "piper-tts"), ("whisper", "faster-whisper")]
)
def test_pins_are_the_locked_versions_of_core_and_the_extra(extra: str, package: str) -> None:
    pins = lockfile.locked_pins(extra, _find_uv())
    assert f"{package}=={locked_version(package)}" in pins
    assert f"grpcio=={locked_version('grpcio')}" in pins  # polyvox's core comes with it
    assert not any(pin.startswith(("fastapi==", "pytest==")) for pin in pins)  # not gateway, dev


def test_an_installed_wheel_has_no_lock_and_follows_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lib" / "site-packages" / "polyvox"
    package.mkdir(parents=True)
    monkeypatch.setattr(polyvox, "__file__", str(package / "__init__.py"))
    assert lockfile.locked_pins.__wrapped__("piper", _find_uv()) == ()


def specs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[EnvironmentSpec]:
    built: list[EnvironmentSpec] = []
    supervisor = Supervisor(settings)

    def ensure(spec: EnvironmentSpec, *, install_target: list[str]) -> Path:
        built.append(spec)
        return tmp_path / "venv" / "bin" / "python"

    monkeypatch.setattr(supervisor._builder, "ensure", ensure)
    for name, engine in settings.engines.items():
        supervisor._interpreter(name, engine)
    return built


def test_a_stock_engine_keeps_to_the_lock_one_with_its_own_requirements_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(
        config=None,
        home=tmp_path,
        engines={"piper": EngineSettings(requirements=["numpy<2"]), "whisper": EngineSettings()},
    )
    piper, whisper = specs(settings, monkeypatch, tmp_path)
    assert piper.constraints == ()  # numpy<2 was never resolved by the lock
    assert piper.requirements == ("numpy<2",)
    assert f"faster-whisper=={locked_version('faster-whisper')}" in whisper.constraints
    assert whisper.excludes == engine_class("whisper").excluded_requirements
