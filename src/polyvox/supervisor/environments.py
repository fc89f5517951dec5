"""Per-engine Python environments, built with uv and reused while unchanged.

Engines pin stacks that cannot share one interpreter (numpy 1 vs 2, different torch
and CUDA builds), so every engine's worker runs in its own virtual environment. An
environment is named after a hash of everything that goes into it; a marker file,
written last, says it is complete, so a later start reuses it without calling uv.
Building is blocking (it can take minutes): the async supervisor runs
:meth:`EnvironmentBuilder.ensure` in a thread.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

import polyvox
from polyvox.supervisor.lockfile import source_checkout

logger = logging.getLogger(__name__)

MARKER_NAME = ".polyvox-env.json"
"""File inside an environment that says it is complete; written after everything else."""

_TAIL_LINES = 40
"""How many of uv's last output lines an :class:`EnvironmentBuildError` carries."""

_DESCRIPTION_CHARS = 60
"""uv lines are cut to this length in the progress row so the elapsed time stays visible."""

_ENGINE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _running_python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class EnvironmentSpec:
    """What one engine's environment must hold.

    ``requirements`` are PEP 508 strings, e.g. ``("piper-tts>=1.3", "numpy<2")``.
    ``python_version`` is what ``uv venv --python`` gets ("3.11"); it defaults to the
    gateway's own major.minor so the worker speaks the same pickles and wheels tags.
    ``excludes`` are package names uv leaves out even when a requirement depends on
    them (``uv pip install --excludes``), e.g. ``("torch",)``.
    """

    engine: str
    requirements: tuple[str, ...] = ()
    python_version: str = field(default_factory=_running_python_version)
    excludes: tuple[str, ...] = ()
    #: Exact versions the install keeps to (``name==version`` lines, from the lock).
    constraints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The engine name becomes a directory name: refuse anything that could escape
        # the envs folder or collide after path normalisation.
        if not _ENGINE_NAME.fullmatch(self.engine):
            raise ValueError(f"engine name {self.engine!r} is not a valid directory name")
        # A list would make the frozen dataclass unhashable and the key depend on type.
        object.__setattr__(self, "requirements", tuple(self.requirements))
        object.__setattr__(self, "excludes", tuple(self.excludes))
        object.__setattr__(self, "constraints", tuple(self.constraints))


class EnvironmentBuildError(RuntimeError):
    """uv failed while building an engine's environment.

    Carries the engine, the command that failed and the tail of uv's output, because
    uv's resolver message (which package, which version conflict) is what a user needs.
    """

    def __init__(self, *, engine: str, command: Sequence[str], output_tail: str) -> None:
        self.engine = engine
        self.command = list(command)
        self.output_tail = output_tail
        super().__init__(
            f"building the environment for engine {engine!r} failed\n"
            f"command: {' '.join(self.command)}\n"
            f"uv output (last lines):\n{output_tail}"
        )


def polyvox_install_target(extra: str | None = None) -> list[str]:
    """Return the uv arguments that install polyvox itself (with ``extra``, an engine's
    optional dependencies) into an engine environment.

    From a source checkout the worker must run the same code as the gateway, so the
    checkout is installed editable; from an installed wheel, the same released version.
    """
    suffix = f"[{extra}]" if extra else ""
    checkout = source_checkout()
    if checkout is not None:
        return ["-e", f"{checkout}{suffix}"]
    return [f"polyvox{suffix}=={polyvox.__version__}"]


def _normalize_requirement(requirement: str) -> str:
    return " ".join(requirement.split())


def _core_dependencies() -> list[str]:
    """polyvox's own requirements, less extras, as the running installation declares them."""
    try:
        declared = importlib.metadata.requires("polyvox") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return sorted(r for r in declared if "extra ==" not in r)


def environment_key(spec: EnvironmentSpec, install_target: Sequence[str]) -> str:
    """Return a 16-hex-digit key naming the environment ``spec`` plus ``install_target`` build.

    Requirement order and spacing do not matter; any change in requirements, Python
    version, install target or polyvox version gives a new key, hence a new environment.
    """
    inputs = {
        "requirements": sorted(_normalize_requirement(r) for r in spec.requirements),
        "python_version": spec.python_version,
        "install_target": list(install_target),
        "polyvox_version": polyvox.__version__,
        # An editable install keeps the version while core dependencies change.
        "core_dependencies": _core_dependencies(),
    }
    if spec.excludes:
        # Only when set, so environments built before excludes existed keep their key.
        inputs["excludes"] = sorted(spec.excludes)
    if spec.constraints:
        # A new lock is a new stack, hence a new environment.
        inputs["constraints"] = sorted(spec.constraints)
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _find_uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        pass
    else:
        with contextlib.suppress(FileNotFoundError):
            return str(find_uv_bin())
    found = shutil.which("uv")
    if found is None:
        raise FileNotFoundError(
            "uv is needed to build engine environments but was not found: install "
            "polyvox with the 'gateway' extra (it depends on uv) or put uv on PATH"
        )
    return found


def _uv_environment() -> dict[str, str]:
    """Return the environment uv runs with: the gateway's, minus its VIRTUAL_ENV.

    With VIRTUAL_ENV set, uv may act on the gateway's own venv instead of the
    engine's; it is read here, at call time, never at import time.
    """
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return env


def _is_complete(env_dir: Path, key: str) -> bool:
    try:
        marker = json.loads((env_dir / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    # The interpreter is a symlink to a base Python that may have been removed since.
    return marker.get("key") == key and (env_dir / "bin" / "python").exists()


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path`` so concurrent gateways build an env once."""
    with lock_path.open("a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process building the environment (%s)", lock_path)
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _base_python_version(env_dir: Path) -> str | None:
    """Read the full interpreter version uv recorded in pyvenv.cfg (for the marker)."""
    try:
        lines = (env_dir / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip() in ("version_info", "version"):
            return value.strip()
    return None


class EnvironmentBuilder:
    """Builds and reuses engine environments under ``home / "envs"``.

    ``home`` is POLYVOX_HOME (default ``~/.cache/polyvox``), resolved by the caller's
    config; ``uv_bin`` defaults to the uv shipped with the ``uv`` package, then PATH.
    """

    def __init__(
        self,
        *,
        home: Path,
        uv_bin: str | None = None,
        console: Console | None = None,
    ) -> None:
        self._envs_dir = Path(home) / "envs"
        self._uv_bin = uv_bin if uv_bin is not None else _find_uv()
        # Progress goes to stderr: stdout may carry a server's own output or JSON logs.
        self._console = console if console is not None else Console(stderr=True)

    @property
    def uv_bin(self) -> str:
        return self._uv_bin

    def env_dir(self, spec: EnvironmentSpec, install_target: Sequence[str]) -> Path:
        """Return where the environment for ``spec`` lives (it may not exist yet)."""
        return self._envs_dir / f"{spec.engine}-{environment_key(spec, install_target)}"

    def ensure(self, spec: EnvironmentSpec, *, install_target: list[str] | None = None) -> Path:
        """Return the Python interpreter of ``spec``'s environment, building it if needed.

        ``install_target`` overrides how polyvox itself is installed (default:
        :func:`polyvox_install_target`); ``[]`` installs only the requirements.
        Raises :class:`EnvironmentBuildError` when uv fails; no partial env remains.
        """
        target = polyvox_install_target() if install_target is None else list(install_target)
        key = environment_key(spec, target)
        env_dir = self.env_dir(spec, target)
        python = env_dir / "bin" / "python"
        if _is_complete(env_dir, key):
            logger.debug("reusing environment %s for engine %s", env_dir, spec.engine)
            return python
        self._envs_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(self._envs_dir / f"{env_dir.name}.lock"):
            # Another process may have finished the build while this one waited.
            if _is_complete(env_dir, key):
                logger.debug("environment %s was built meanwhile; reusing it", env_dir)
                return python
            started = time.monotonic()
            try:
                self._build(spec, target, env_dir)
                self._write_marker(spec, target, key, env_dir)
            except BaseException:
                shutil.rmtree(env_dir, ignore_errors=True)
                raise
        logger.info(
            "built environment %s for engine %s in %.1f s",
            env_dir,
            spec.engine,
            time.monotonic() - started,
        )
        return python

    def _build(self, spec: EnvironmentSpec, target: list[str], env_dir: Path) -> None:
        if env_dir.exists():
            logger.info("removing incomplete environment %s", env_dir)
            shutil.rmtree(env_dir)
        packages = [*target, *spec.requirements]
        columns = (
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self._console) as progress:
            self._run_stage(
                progress,
                spec.engine,
                f"creating environment for {spec.engine}",
                [self._uv_bin, "venv", "--python", spec.python_version, str(env_dir)],
            )
            if not packages:
                return
            count = len(spec.requirements)
            plural = "" if count == 1 else "s"
            excludes: list[str] = []
            if spec.excludes:
                excludes_file = env_dir / "polyvox-excludes.txt"
                excludes_file.write_text("\n".join(spec.excludes) + "\n", encoding="utf-8")
                excludes = ["--excludes", str(excludes_file)]
            if spec.constraints:
                pins = env_dir / "polyvox-constraints.txt"
                pins.write_text("\n".join(spec.constraints) + "\n", encoding="utf-8")
                excludes += ["--constraint", str(pins)]
            self._run_stage(
                progress,
                spec.engine,
                f"installing {count} requirement{plural}" if count else "installing polyvox",
                [
                    self._uv_bin,
                    "pip",
                    "install",
                    "--python",
                    str(env_dir / "bin" / "python"),
                    *excludes,
                    *packages,
                ],
            )

    def _run_stage(self, progress: Progress, engine: str, stage: str, command: list[str]) -> None:
        """Run one uv command as one progress row, streaming its latest line into the row."""
        task = progress.add_task(escape(stage), total=1)
        logger.info("%s: %s", stage, " ".join(command))
        try:
            tail = self._stream_uv(command, progress, task, stage, engine)
        except EnvironmentBuildError:
            progress.update(task, description=f"[red]{escape(stage)} failed[/red]")
            raise
        progress.update(task, description=escape(stage), completed=1)
        logger.debug("%s done; last uv output: %s", stage, tail[-1] if tail else "")

    def _stream_uv(
        self,
        command: list[str],
        progress: Progress,
        task: TaskID,
        stage: str,
        engine: str,
    ) -> list[str]:
        """Run ``command``, relaying its output line by line; return its last lines."""
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        try:
            # stdout is folded into stderr: uv reports progress and errors on stderr,
            # and one pipe read line by line cannot deadlock on the other filling up.
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=_uv_environment(),
                # Away from the gateway's working directory, so uv does not pick up the
                # gateway project's pyproject.toml or uv.toml as configuration.
                cwd=self._envs_dir,
            )
        except OSError as exc:
            raise EnvironmentBuildError(
                engine=engine, command=command, output_tail=str(exc)
            ) from exc
        with proc:
            try:
                assert proc.stdout is not None  # set by stdout=PIPE; narrows the type
                for raw in proc.stdout:
                    line = raw.rstrip()
                    if not line:
                        continue
                    tail.append(line)
                    logger.debug("uv: %s", line)
                    latest = escape(line[:_DESCRIPTION_CHARS])
                    progress.update(task, description=f"{escape(stage)} [dim]{latest}[/dim]")
            except BaseException:
                proc.kill()
                raise
            returncode = proc.wait()
        if returncode != 0:
            raise EnvironmentBuildError(engine=engine, command=command, output_tail="\n".join(tail))
        return list(tail)

    def _write_marker(
        self, spec: EnvironmentSpec, target: list[str], key: str, env_dir: Path
    ) -> None:
        """Write the completion marker, atomically, as the very last step of a build."""
        marker = {
            "key": key,
            "engine": spec.engine,
            "requirements": list(spec.requirements),
            "excludes": list(spec.excludes),
            "install_target": target,
            "python_version": spec.python_version,
            "python_full_version": _base_python_version(env_dir),
            "polyvox_version": polyvox.__version__,
            "created_at": datetime.now(UTC).isoformat(),
        }
        tmp = env_dir / f"{MARKER_NAME}.tmp"
        tmp.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, env_dir / MARKER_NAME)
