"""Helpers for checking the deployment files offline (no Docker, no cluster here)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer.main

from polyvox.cli import app
from polyvox.config import Settings
from polyvox.worker.settings import ENV_PREFIX, WorkerSettings

ROOT = Path(__file__).resolve().parents[3]


def tool(name: str) -> str:
    """A binary a dev dependency ships (kubectl, hadolint), beside this interpreter."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is missing: `uv sync` installs it (a dev dependency)"
    return found


def is_setting(variable: str) -> bool:
    """Whether ``variable`` is read by a gateway or a worker (nested keys: ``__``)."""
    name = variable.split("__", 1)[0]
    if name in ("POLYVOX_LOG_FORMAT", "POLYVOX_LOG_LEVEL", "POLYVOX_CONFIG"):
        return True
    if name.startswith(ENV_PREFIX):
        return name.removeprefix(ENV_PREFIX).lower() in WorkerSettings.model_fields
    return name.removeprefix("POLYVOX_").lower() in Settings.model_fields


def unknown_flags(argv: list[str]) -> list[str]:
    """Flags in a ``polyvox COMMAND ...`` line that the command does not have."""
    assert argv[0] == "polyvox", argv
    command = typer.main.get_command(app).commands[argv[1]]  # type: ignore[attr-defined]
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    return [arg for arg in argv[2:] if arg.startswith("--") and arg.split("=")[0] not in known]
