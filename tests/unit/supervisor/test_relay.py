"""Relaying a worker's output: JSON lines become records, nothing blocks the worker."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest

from polyvox.supervisor.relay import LINE_LIMIT_BYTES, LogRelay


def relay() -> LogRelay:
    return LogRelay(worker_id="piper-0", engine="piper")


def test_a_json_line_becomes_a_record_with_the_worker_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    line = {
        "time": "2026-01-02T03:04:05.250+00:00",
        "level": "WARNING",
        "logger": "polyvox.worker.servicer",
        "message": "50% done",
        "request_id": "req-9",
        "model": "en_US-joe-medium",
        "exception": "Traceback: boom",
    }
    with caplog.at_level(logging.INFO):
        relay().emit("stderr", json.dumps(line).encode() + b"\n")
    (item,) = caplog.records
    assert item.name == "polyvox.worker.servicer"
    assert item.levelno == logging.WARNING
    assert item.getMessage() == "50% done"
    assert (item.request_id, item.model) == ("req-9", "en_US-joe-medium")  # type: ignore[attr-defined]
    assert (item.worker_id, item.engine) == ("piper-0", "piper")  # type: ignore[attr-defined]
    assert item.exc_text == "Traceback: boom"
    assert item.created == pytest.approx(1767323045.25)


@pytest.mark.parametrize(
    ("stream", "level"), [("stdout", logging.INFO), ("stderr", logging.WARNING)]
)
def test_other_lines_are_relayed_as_they_are(
    caplog: pytest.LogCaptureFixture, stream: str, level: int
) -> None:
    with caplog.at_level(logging.INFO):
        for line in (b"espeak: odd \xff bytes\n", b"{not json}\n", b'{"no": "message"}\n', b"\n"):
            relay().emit(stream, line)
    assert [r.getMessage() for r in caplog.records] == [
        "espeak: odd \ufffd bytes",
        "{not json}",
        '{"no": "message"}',
    ]
    assert {r.levelno for r in caplog.records} == {level}
    assert {r.name for r in caplog.records} == {"polyvox.worker.output"}


def test_records_below_the_level_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    line = {"level": "DEBUG", "logger": "polyvox.worker.x", "message": "chatter"}
    with caplog.at_level(logging.INFO):
        relay().emit("stderr", json.dumps(line).encode())
    assert not caplog.records


async def spawn(code: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT_BYTES,
    )  # fmt: skip


async def test_a_flood_is_dropped_and_counted_never_blocking_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = 200_000  # megabytes: far more than a pipe buffer holds
    small = LogRelay(worker_id="w", engine="e", max_pending=5)
    process = await spawn(f"import sys\nfor i in range({lines}): print('line', i)")
    with caplog.at_level(logging.INFO, logger="polyvox.worker.output"):
        small.attach(process)
        # Bounded wait: a blocked writer would never exit.
        assert await asyncio.wait_for(process.wait(), 60) == 0
        await small.drain(timeout_s=30)
    relayed = [r for r in caplog.records if r.name == "polyvox.worker.output"]
    assert small.dropped > 0
    assert len(relayed) + small.dropped == lines
    await small.close()


async def test_an_overlong_line_is_counted_and_the_next_ones_still_arrive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = LINE_LIMIT_BYTES * 3
    process = await spawn(
        f"import sys\nsys.stderr.write('x' * {big} + '\\n')\nsys.stderr.write('after\\n')"
    )
    watcher = relay()
    with caplog.at_level(logging.INFO):
        watcher.attach(process)
        await process.wait()
        await watcher.drain(timeout_s=30)
    assert watcher.dropped >= 1
    assert "after" in [r.getMessage() for r in caplog.records]
    await watcher.close()
