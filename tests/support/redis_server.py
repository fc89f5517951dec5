"""A real Redis (Debian's redis-server, installed by `make test`) for the cluster tests:
started on a free port, stopped and started again on the same port by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import redis.asyncio as redis


class RedisServer:
    def __init__(self, *, port: int, bind: Sequence[str], workdir: Path) -> None:
        self.port = port
        self.bind = tuple(bind)
        self._workdir = workdir
        self._process: asyncio.subprocess.Process | None = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"redis://{host}:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url())

    async def start(self, timeout_s: float = 10.0) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is missing: `make test` installs it (Debian)")
        self._workdir.mkdir(parents=True, exist_ok=True)
        log = (self._workdir / "redis.log").open("ab")
        # No persistence: a restarted Redis comes back empty, as after a crash.
        self._process = await asyncio.create_subprocess_exec(
            executable, "--port", str(self.port), "--bind", *self.bind,
            "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--dir", str(self._workdir),
            stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout_s
        client = self.client()
        try:
            while True:
                with contextlib.suppress(redis.ConnectionError):
                    if await client.ping():
                        return
                if self._process.returncode is not None or time.monotonic() > deadline:
                    text = (self._workdir / "redis.log").read_text(errors="replace")
                    raise RuntimeError(f"redis-server did not start:\n{text[-2000:]}")
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
