"""Relay a worker's stdout and stderr into the gateway's log, tagged with its id and engine.

The supervisor starts workers with ``--log-format json``: each of their lines
becomes a log record here with the worker's time, level, logger, message and
request context, and then comes out in the gateway's own format (text or JSON),
so one stream holds both sides of every request. Lines that are not JSON (a native
library printing, a crash before logging was set up) are relayed as they are:
stdout at INFO, stderr at WARNING.

A worker must never block on a full pipe because the gateway is slow to log:
readers drain the pipes into a bounded queue as fast as lines arrive, and when
the queue is full a line is dropped and counted (``dropped``, exported as a metric).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime

from polyvox.logs import CONTEXT_FIELDS

#: Longest line read whole; a longer one is cut there (see ``StreamReader`` limits).
LINE_LIMIT_BYTES = 256 * 1024
#: Lines waiting to be logged; past this, new lines are dropped.
_MAX_PENDING_LINES = 2000

_RAW_LOGGER = "polyvox.worker.output"
_RAW_LEVEL = {"stdout": logging.INFO, "stderr": logging.WARNING}


class LogRelay:
    """Reads one worker process's pipes (again after each restart) and logs their lines."""

    def __init__(self, *, worker_id: str, engine: str, max_pending: int = _MAX_PENDING_LINES):
        self.worker_id = worker_id
        self.engine = engine
        #: Lines dropped because the queue was full, over the relay's life.
        self.dropped = 0
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(max_pending)
        self._readers: set[asyncio.Task[None]] = set()
        self._emitter: asyncio.Task[None] | None = None

    def attach(self, process: asyncio.subprocess.Process) -> None:
        """Start relaying a (re)started process's pipes."""
        for name, stream in (("stdout", process.stdout), ("stderr", process.stderr)):
            if stream is not None:
                task = asyncio.create_task(self._read(name, stream), name=f"relay-{name}")
                self._readers.add(task)
                task.add_done_callback(self._readers.discard)
        if self._emitter is None or self._emitter.done():
            self._emitter = asyncio.create_task(self._emit_all(), name="relay-emit")

    async def drain(self, timeout_s: float) -> None:
        """Wait for the pipes to reach EOF and their lines to be logged (process exited)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                if self._readers:
                    await asyncio.wait(set(self._readers))
                await self._queue.join()

    async def close(self) -> None:
        tasks = [*self._readers, *([self._emitter] if self._emitter else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, name: str, stream: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await stream.readline()
            except ValueError:
                # Over LINE_LIMIT_BYTES: asyncio discards the buffered part; count it.
                self.dropped += 1
                continue
            if not line:
                return
            try:
                self._queue.put_nowait((name, line))
            except asyncio.QueueFull:
                self.dropped += 1

    async def _emit_all(self) -> None:
        while True:
            name, line = await self._queue.get()
            try:
                self.emit(name, line)
            except Exception:
                logging.getLogger(__name__).exception("could not relay a worker log line")
            finally:
                self._queue.task_done()

    def emit(self, stream: str, line: bytes) -> None:
        """Log one line read from the worker's ``stream`` (``stdout`` or ``stderr``)."""
        text = line.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.strip():
            return
        record = self._record_from_json(text) or logging.LogRecord(
            _RAW_LOGGER, _RAW_LEVEL.get(stream, logging.INFO), "", 0, text, None, None
        )
        record.worker_id = self.worker_id
        record.engine = self.engine
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)

    def _record_from_json(self, text: str) -> logging.LogRecord | None:
        if not text.startswith("{"):
            return None
        try:
            payload = json.loads(text)
        except ValueError:
            return None
        if not isinstance(payload, dict) or "message" not in payload:
            return None
        level = logging.getLevelName(str(payload.get("level", "INFO")).upper())
        record = logging.LogRecord(
            str(payload.get("logger") or _RAW_LOGGER),
            level if isinstance(level, int) else logging.INFO,
            "", 0, str(payload["message"]), None, None,
        )  # fmt: skip
        with contextlib.suppress(TypeError, ValueError):
            created = datetime.fromisoformat(str(payload.get("time"))).timestamp()
            record.created = created
            record.msecs = (created - int(created)) * 1000
        for key in CONTEXT_FIELDS:
            if payload.get(key):
                setattr(record, key, str(payload[key]))
        if payload.get("exception"):
            record.exc_text = str(payload["exception"])
        return record
