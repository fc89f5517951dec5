"""The cluster registry: workers on any host, found in Redis (see contract/record.py).

Every gateway reads the same records, so any number of them route alike. Liveness is
Redis's: a worker's key expires when its heartbeats stop, and a gateway drops a worker
whose record is gone. Expiry counts only while Redis is reachable: while a gateway
cannot read Redis it keeps routing to the workers it last knew (``/health`` and
``polyvox_registry_up`` say so), and once it reads Redis again a worker it knew is kept
for one more TTL even without a record, because the worker could not beat while Redis
was away (or Redis came back empty); it is dropped only if its record is still missing
after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.exceptions import RedisError

from polyvox.contract.client import WorkerClient
from polyvox.contract.link import LinkCredentials
from polyvox.contract.record import (
    BadRecord,
    WorkerRecord,
    parse_record,
    worker_key,
    worker_key_pattern,
)
from polyvox.contract.types import WorkerDescription
from polyvox.errors import PolyvoxError

logger = logging.getLogger(__name__)

#: Longest wait for one worker's Describe when /health asks for a fresh one.
DESCRIBE_TIMEOUT_S = 2.0
#: Redis calls give up after this long; the registry then counts as unreachable.
_REDIS_TIMEOUT_S = 1.0
#: Keys asked for per SCAN step.
_SCAN_COUNT = 500


class RemoteWorker:
    """A worker known from its registry record, reached over its advertised address."""

    def __init__(
        self,
        record: WorkerRecord,
        *,
        credentials: LinkCredentials,
        on_stream_end: Callable[[str], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.record = record
        self._clock = clock
        engine = record.engine
        self.client = WorkerClient(
            record.address,
            credentials=credentials,
            tls=record.tls,
            on_stream_end=(lambda: on_stream_end(engine)) if on_stream_end else None,
        )
        self._record_at = clock()
        #: A Describe asked directly (/health), fresher than the record for a moment.
        self._described: WorkerDescription | None = None
        self._described_at = float("-inf")
        self.last_error: str | None = None
        #: Not in the registry's latest read, and kept only for the grace after an outage.
        self.missing = False

    @property
    def worker_id(self) -> str:
        return self.record.worker_id

    @property
    def engine(self) -> str:
        return self.record.engine

    @property
    def address(self) -> str:
        return self.record.address

    @property
    def state(self) -> str:
        if self.client.unreachable:
            return "unreachable"
        return "unconfirmed" if self.missing else "up"

    @property
    def serving(self) -> bool:
        # A worker whose connection just failed is passed over until it answers again
        # (the channel keeps retrying), so traffic moves before its record expires.
        return not self.client.unreachable

    @property
    def description(self) -> WorkerDescription:
        if self._described is not None and self._described_at > self._record_at:
            return self._described
        return self.record.description

    @property
    def load(self) -> int:
        """Streams working on it as it last reported (every gateway's), plus segments this
        gateway sent it since: other gateways' work is seen a heartbeat late, ours at once."""
        return self.description.in_flight + self.client.segments_in_flight

    @property
    def restarts(self) -> int:
        return 0  # restarts are its orchestrator's business; a restart is a new record

    @property
    def pid(self) -> int | None:
        return self.description.pid or None

    @property
    def up_since_s(self) -> float | None:
        return self.description.started_at_s or None

    @property
    def log_lines_dropped(self) -> int:
        return 0

    def update(self, record: WorkerRecord) -> None:
        self.record = record
        self._record_at = self._clock()
        self.missing = False

    async def refresh(self) -> WorkerDescription | None:
        try:
            self._described = await self.client.describe(timeout_s=DESCRIBE_TIMEOUT_S)
        except PolyvoxError as exc:
            self.last_error = exc.message
        else:
            self._described_at = self._clock()
            self.last_error = None
        return self.description

    async def close(self) -> None:
        await self.client.close()


def redacted(url: str) -> str:
    """The registry URL without its password, for /health and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


class RedisRegistry:
    """Workers registered in Redis, re-read every ``poll_interval_s``."""

    def __init__(
        self,
        *,
        url: str,
        prefix: str,
        poll_interval_s: float,
        credentials: LinkCredentials,
        on_stream_end: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._redis = redis.Redis.from_url(
            url, socket_timeout=_REDIS_TIMEOUT_S, socket_connect_timeout=_REDIS_TIMEOUT_S
        )
        self._prefix = prefix
        self._poll_interval_s = poll_interval_s
        self._credentials = credentials
        self._on_stream_end = on_stream_end
        self._clock = clock
        self._workers: dict[str, RemoteWorker] = {}
        #: Dropped workers whose streams have not ended yet: closed once they have.
        self._retiring: list[RemoteWorker] = []
        self._poller: asyncio.Task[None] | None = None
        #: When the current stretch of successful reads began; None while unreachable.
        self._reachable_since: float | None = None
        self._unreachable_since: float | None = None
        self._last_contact: float | None = None
        self._last_error: str | None = None
        self.bad_records: dict[str, str] = {}
        self.duplicates: dict[str, str] = {}
        self._logged_bad: set[tuple[str, str]] = set()

    @property
    def reachable(self) -> bool:
        return self._reachable_since is not None

    @property
    def status(self) -> str:
        if self.reachable:
            return "running"
        if self._last_contact is None:
            return f"connecting to the registry ({self._last_error or 'no answer yet'})"
        return (
            f"registry unreachable ({self._last_error}); serving the "
            f"{len(self._workers)} last-known workers"
        )

    @property
    def failed_engines(self) -> dict[str, str]:
        return {}

    def workers(self) -> Sequence[RemoteWorker]:
        # Sorted: every gateway sees the same order, so ties route alike.
        return [self._workers[worker_id] for worker_id in sorted(self._workers)]

    def discovery(self) -> dict[str, Any]:
        now = self._clock()
        return {
            "url": redacted(self._url),
            "reachable": self.reachable,
            "seconds_since_contact": None
            if self._last_contact is None
            else round(now - self._last_contact, 3),
            "last_error": self._last_error,
            "workers": len(self._workers),
            "bad_records": dict(self.bad_records),
            "duplicates": dict(self.duplicates),
        }

    async def start(self) -> None:
        self._poller = asyncio.create_task(self._poll_loop(), name="registry-poll")

    async def _poll_loop(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self._poll_interval_s)

    async def poll(self) -> None:
        """Read every record once and update the workers; never raises."""
        try:
            keys = [
                key
                async for key in self._redis.scan_iter(
                    match=worker_key_pattern(self._prefix), count=_SCAN_COUNT
                )
            ]
            values = await self._redis.mget(keys) if keys else []
        except (RedisError, OSError) as exc:
            self._unreachable(exc)
        else:
            try:
                self._apply(dict(zip(keys, values, strict=True)))
            except Exception:
                logger.exception("applying the registry's records failed")
        await self._close_retired()

    def _unreachable(self, exc: BaseException) -> None:
        error = str(exc) or type(exc).__name__
        if self.reachable or self._unreachable_since is None:
            logger.warning(
                "registry %s unreachable (%s); serving the %d last-known workers",
                redacted(self._url), error, len(self._workers),
            )  # fmt: skip
            self._unreachable_since = self._clock()
        self._reachable_since = None
        self._last_error = error

    def _parse(self, values: dict[Any, Any]) -> dict[str, WorkerRecord]:
        records: dict[str, WorkerRecord] = {}
        self.bad_records = {}
        for raw_key, raw in values.items():
            key = raw_key.decode(errors="replace") if isinstance(raw_key, bytes) else raw_key
            if raw is None:
                continue  # expired between SCAN and MGET
            try:
                record = parse_record(raw)
                if key != worker_key(self._prefix, record.worker_id):
                    raise BadRecord(f"is stored under {key}, not under its worker id")
            except BadRecord as exc:
                self.bad_records[key] = str(exc)
                if (key, str(exc)) not in self._logged_bad:
                    self._logged_bad.add((key, str(exc)))
                    logger.warning("skipping registry record %s: %s", key, exc)
                continue
            records[record.worker_id] = record
        return records

    def _newest_per_address(self, records: dict[str, WorkerRecord]) -> dict[str, WorkerRecord]:
        """One worker per address: a worker restarted under a new id leaves its old record
        until that expires; the one that started last is the one answering there."""
        newest: dict[str, WorkerRecord] = {}
        for record in records.values():
            held = newest.get(record.address)
            order = (record.description.started_at_s, record.heartbeat_at_s, record.worker_id)
            if held is None or order > (
                held.description.started_at_s,
                held.heartbeat_at_s,
                held.worker_id,
            ):
                newest[record.address] = record
        live = {record.worker_id: record for record in newest.values()}
        self.duplicates = {
            worker_id: f"superseded by {newest[record.address].worker_id} at {record.address}"
            for worker_id, record in records.items()
            if worker_id not in live
        }
        return live

    def _apply(self, values: dict[Any, Any]) -> None:
        now = self._clock()
        if self._reachable_since is None:
            if self._unreachable_since is not None:
                logger.info("registry %s reachable again", redacted(self._url))
            self._reachable_since = now
            self._unreachable_since = None
        self._last_contact = now
        self._last_error = None
        records = self._parse(values)
        live = self._newest_per_address(records)
        for worker_id, record in live.items():
            handle = self._workers.get(worker_id)
            if handle is not None and (handle.address, handle.record.tls) == (
                record.address,
                record.tls,
            ):
                handle.update(record)
                continue
            if handle is not None:
                self._retire(handle)
            else:
                logger.info("worker %s (%s) at %s", worker_id, record.engine, record.address)
            self._workers[worker_id] = RemoteWorker(
                record,
                credentials=self._credentials,
                on_stream_end=self._on_stream_end,
                clock=self._clock,
            )
        for worker_id, handle in list(self._workers.items()):
            if worker_id in live:
                continue
            # Right after an outage a known worker may not have beaten yet: its record
            # gets one TTL of reachable time to come back.
            if worker_id not in records and now - self._reachable_since < handle.record.ttl_s:
                handle.missing = True
                continue
            why = "superseded" if worker_id in records else "its record expired or was removed"
            logger.info("dropping worker %s: %s", worker_id, why)
            del self._workers[worker_id]
            self._retire(handle)

    def _retire(self, handle: RemoteWorker) -> None:
        """Stop routing to ``handle`` now; close its channel once its streams have ended
        (a worker draining after deregistering finishes them)."""
        self._retiring.append(handle)

    async def _close_retired(self) -> None:
        done = [handle for handle in self._retiring if handle.client.streams_open == 0]
        self._retiring = [handle for handle in self._retiring if handle not in done]
        await asyncio.gather(*(handle.close() for handle in done), return_exceptions=True)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        handles = [*self._workers.values(), *self._retiring]
        await asyncio.gather(*(handle.close() for handle in handles), return_exceptions=True)
        await self._redis.aclose()
