"""An engine's interpreter: its environment built (or reused) the one way Polyvox does it.

The supervisor calls this for its local workers and ``polyvox worker`` for itself (on
another host, or in an image build), so an engine's environment on any host holds the
same stack: polyvox's extra of the engine at the lock's exact versions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from polyvox.engines.registry import engine_class
from polyvox.supervisor.environments import (
    EnvironmentBuilder,
    EnvironmentSpec,
    polyvox_install_target,
)
from polyvox.supervisor.lockfile import locked_pins
from polyvox.worker.settings import Provisioning, WorkerSettings, worker_environment


def engine_interpreter(
    builder: EnvironmentBuilder, name: str, provisioning: Provisioning
) -> tuple[Path, Path | None]:
    """Build (or reuse) engine ``name``'s environment; return its python and its directory
    (None for ``env: shared``: this interpreter). Blocking: minutes on a first build."""
    if provisioning.env == "shared":
        return Path(sys.executable), None
    cls = engine_class(name)
    requirements = (*cls.requirements, *provisioning.requirements)
    # The lock's exact versions, unless the engine's config asks for packages of its
    # own: the lock never resolved those (numpy<2 conflicts with its onnx), so such
    # an environment is resolved from ranges.
    pins = () if provisioning.requirements else locked_pins(cls.extra, builder.uv_bin)
    spec = EnvironmentSpec(
        engine=name,
        requirements=requirements,
        excludes=cls.excluded_requirements,
        constraints=pins,
        **({"python_version": provisioning.python} if provisioning.python else {}),
    )
    python = builder.ensure(spec, install_target=polyvox_install_target(cls.extra))
    return python, python.parent.parent


def exec_worker(
    settings: WorkerSettings, *, python: Path, venv: Path | None, environment: Mapping[str, str]
) -> None:
    """Replace this process with the same worker in its engine's environment: same pid (an
    orchestrator's signals reach the worker), same settings (every field travels as a
    POLYVOX_WORKER_* variable, as the supervisor passes them). Does not return."""
    inside = settings.model_copy(update={"in_environment": True})
    env = {**os.environ, **worker_environment(inside), **environment}
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    os.execve(python, [str(python), "-m", "polyvox", "worker"], env)
