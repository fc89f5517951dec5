"""Exact versions for an engine's environment, resolved from the project's lock.

An engine's requirements are written once, as an extra of polyvox's pyproject.toml
(``polyvox[piper]``). Installed from ranges, two hosts building the same environment a
week apart could get different stacks; so the environment is installed with the lock's
exact versions as constraints (``uv export`` of that extra). An engine whose config adds
requirements of its own (``numpy<2``) is resolved from ranges: the lock never saw them.
From an installed wheel (no lock at hand) the ranges are all there is.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import tomllib
from pathlib import Path

import polyvox

logger = logging.getLogger(__name__)


def source_checkout() -> Path | None:
    """The polyvox source tree this code runs from (with its pyproject.toml), if any.

    The first pyproject.toml above the package decides: a checkout holds the package in
    src/polyvox or polyvox; a virtual environment inside some other project does not.
    """
    package_dir = Path(polyvox.__file__).resolve().parent
    for candidate in package_dir.parents:
        pyproject = candidate / "pyproject.toml"
        if not pyproject.is_file():
            continue
        in_tree = package_dir in (candidate / "src" / "polyvox", candidate / "polyvox")
        if in_tree and _project_name(pyproject) == "polyvox":
            return candidate
        return None
    return None


def _project_name(pyproject: Path) -> str | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = data.get("project")
    return project.get("name") if isinstance(project, dict) else None


@functools.cache
def locked_pins(extra: str | None, uv_bin: str) -> tuple[str, ...]:
    """``name==version`` lines (with markers) of polyvox's core and ``extra`` in the lock;
    empty when there is no checkout with a lock."""
    checkout = source_checkout()
    if checkout is None or not (checkout / "uv.lock").is_file():
        logger.info("no uv.lock beside polyvox: engine environments follow version ranges")
        return ()
    command = [
        uv_bin, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes",
        "--no-header", "--no-annotate", "--project", str(checkout),
        *(["--extra", extra] if extra else []),
    ]  # fmt: skip
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("could not read the lock (%s): engine environments follow ranges", exc)
        return ()
    lines = (line.strip() for line in output.stdout.splitlines())
    return tuple(line for line in lines if line and not line.startswith(("#", "-")))
