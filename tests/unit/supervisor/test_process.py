"""Supervision of one worker process: failed starts, crash loops, a stop it ignores.

The workers here are real processes: a command that cannot start, and one that
answers grpc.health.v1 (tests/support/health_only_worker.py) for a while.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from polyvox.supervisor.process import (
    CRASH_LOOP_AFTER,
    Backoff,
    WorkerProcess,
    WorkerSpec,
    WorkerState,
)

HEALTH_ONLY = Path(__file__).parents[2] / "support" / "health_only_worker.py"
#: Tiny waits, so loops turn fast; the assertions are on states and counts.
FAST = Backoff(initial_s=0.01, max_s=0.05)


async def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Poll (bounded: a bug fails instead of hanging); not a timing assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition never held")
        await asyncio.sleep(0.01)


def process(
    tmp_path: Path, *command: str, stable_after_s: float = 30.0, stop_timeout_s: float = 10.0
) -> WorkerProcess:
    address = f"unix://{tmp_path / 'w.sock'}"
    spec = WorkerSpec(
        worker_id="w-0",
        engine="w",
        address=address,
        command=tuple(part.replace("ADDRESS", address) for part in command),
        environment={"PYTHONPATH": ":".join(sys.path)},
    )
    return WorkerProcess(
        spec,
        start_timeout_s=30,
        stop_timeout_s=stop_timeout_s,
        backoff=FAST,
        stable_after_s=stable_after_s,
    )


def test_backoff_doubles_up_to_its_maximum() -> None:
    backoff = Backoff(initial_s=0.5, max_s=30)
    assert [backoff.delay_s(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [0.5, 1, 2, 4, 30, 30, 30]


async def test_a_command_that_cannot_be_spawned_is_still_supervised(tmp_path: Path) -> None:
    worker = process(tmp_path, str(tmp_path / "no-such-python"), "-m", "polyvox", "worker")
    worker.start()
    try:
        await until(lambda: worker.failures >= CRASH_LOOP_AFTER + 1)
        assert worker.state is WorkerState.CRASH_LOOPING
        assert "could not start" in (worker.last_error or "")
        assert "no-such-python" in (worker.last_error or "")
    finally:
        await worker.stop()
    assert worker.state is WorkerState.STOPPED


async def test_a_worker_that_fails_while_starting_backs_off_more_each_time(
    tmp_path: Path,
) -> None:
    worker = process(tmp_path, sys.executable, "-c", "import sys; sys.exit(2)")
    worker.start()
    try:
        await until(lambda: worker.failures >= 5)
        # Its count of failures in a row never resets: it never stayed up.
        assert worker.state is WorkerState.CRASH_LOOPING
        assert "exited with code 2 while starting" in (worker.last_error or "")
        assert worker.restarts >= 4
        assert worker.up_since_s is None
    finally:
        await worker.stop()


async def test_a_worker_that_crashes_soon_after_each_start_is_crash_looping(
    tmp_path: Path,
) -> None:
    worker = process(tmp_path, sys.executable, str(HEALTH_ONLY), "ADDRESS", "0.2")
    worker.start()
    try:
        await until(lambda: worker.state is WorkerState.UP)
        await until(lambda: worker.failures >= CRASH_LOOP_AFTER)
        assert worker.state in (WorkerState.CRASH_LOOPING, WorkerState.UP)
        assert "exited with code 3" in (worker.last_error or "")
    finally:
        await worker.stop()


async def test_a_worker_that_stays_up_long_enough_starts_counting_afresh(
    tmp_path: Path,
) -> None:
    worker = process(
        tmp_path, sys.executable, str(HEALTH_ONLY), "ADDRESS", "1.0", stable_after_s=0.1
    )
    worker.start()
    try:
        await until(lambda: worker.restarts >= 3)
        # Each run lasted longer than stable_after_s: each crash is the first in a row.
        assert worker.failures == 1
        assert worker.state is not WorkerState.CRASH_LOOPING
    finally:
        await worker.stop()


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_stop_timeout(
    tmp_path: Path,
) -> None:
    worker = process(
        tmp_path, sys.executable, str(HEALTH_ONLY), "ADDRESS", "600", "--ignore-sigterm",
        stop_timeout_s=0.5,
    )  # fmt: skip
    worker.start()
    await until(lambda: worker.state is WorkerState.UP)
    pid = worker.pid
    await worker.stop()
    assert worker.state is WorkerState.STOPPED
    assert worker._process is not None
    assert worker._process.returncode == -9  # SIGKILL, after SIGTERM was ignored
    assert pid is not None


@pytest.mark.parametrize("lifetime_s", ["600"])
async def test_stop_ends_a_healthy_worker_with_sigterm(tmp_path: Path, lifetime_s: str) -> None:
    worker = process(tmp_path, sys.executable, str(HEALTH_ONLY), "ADDRESS", lifetime_s)
    worker.start()
    await until(worker.up.is_set)
    await worker.stop()
    assert worker._process is not None
    assert worker._process.returncode == -15
