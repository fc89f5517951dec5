"""A worker's record in the registry: what a gateway needs to route to a worker it has
never spoken to. Written by the worker (worker/registration.py), read by gateways
(gateway/registry/redis.py); both sides of this module are protobuf-free.

Key ``<prefix>:worker:<worker_id>``, value a JSON object::

    {"schema": "polyvox.registry.v1", "worker_id": "piper@10.0.0.2:50051",
     "engine": "piper", "address": "tcp://10.0.0.2:50051", "tls": true,
     "polyvox_version": "0.1.0", "instance": "<hex, new at every process start>",
     "heartbeat_at_s": 1767225600.5, "ttl_s": 5.0,
     "description": {<Describe's WorkerInfo in protobuf JSON: models and voices,
                      resident models, capacity, streams in flight, device...>}}

The key's TTL (``ttl_s``) is refreshed by every heartbeat; Redis deletes the record of
a worker that stopped beating.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from polyvox.addresses import grpc_target
from polyvox.contract import codec
from polyvox.contract.types import WorkerDescription

SCHEMA = "polyvox.registry.v1"


class BadRecord(ValueError):
    """A registry value that is not a worker record this gateway can use."""


def worker_key(prefix: str, worker_id: str) -> str:
    return f"{prefix}:worker:{worker_id}"


def worker_key_pattern(prefix: str) -> str:
    """The SCAN pattern matching every worker key under ``prefix``."""
    return f"{prefix}:worker:*"


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    worker_id: str
    engine: str
    #: Where gateways dial it (``tcp://host:port``, or ``unix://`` on the same host).
    address: str
    #: Whether it serves TLS at that address.
    tls: bool
    polyvox_version: str
    #: New at every process start: tells a restarted worker from its predecessor.
    instance: str
    #: The worker's clock at this heartbeat (Unix seconds); informative, never compared
    #: across hosts (expiry is Redis's key TTL).
    heartbeat_at_s: float
    ttl_s: float
    description: WorkerDescription

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "schema": SCHEMA,
                "worker_id": self.worker_id,
                "engine": self.engine,
                "address": self.address,
                "tls": self.tls,
                "polyvox_version": self.polyvox_version,
                "instance": self.instance,
                "heartbeat_at_s": self.heartbeat_at_s,
                "ttl_s": self.ttl_s,
                "description": codec.description_to_json(self.description),
            },
            separators=(",", ":"),
        ).encode()


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRecord(f"field {name!r} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def parse_record(raw: bytes | str) -> WorkerRecord:
    """Read one registry value; raise :class:`BadRecord` naming what is wrong with it."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRecord(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRecord("not a JSON object")
    if data.get("schema") != SCHEMA:
        raise BadRecord(f"schema is {data.get('schema')!r}, not {SCHEMA!r}")
    worker_id = _field(data, "worker_id", str)
    engine = _field(data, "engine", str)
    address = _field(data, "address", str)
    if not worker_id or not engine:
        raise BadRecord("worker_id and engine must not be empty")
    try:
        grpc_target(address)
    except ValueError as exc:
        raise BadRecord(str(exc)) from None
    ttl_s = float(_field(data, "ttl_s", (int, float)))
    if not math.isfinite(ttl_s) or ttl_s <= 0:
        raise BadRecord(f"ttl_s must be a positive number, not {ttl_s}")
    try:
        description = codec.description_from_json(data.get("description"))
    except ValueError as exc:
        raise BadRecord(str(exc)) from None
    if description.engine != engine:
        raise BadRecord(f"describes engine {description.engine!r}, registered as {engine!r}")
    if not description.models:
        raise BadRecord("offers no model")
    return WorkerRecord(
        worker_id=worker_id,
        engine=engine,
        address=address,
        tls=bool(data.get("tls", False)),
        polyvox_version=str(data.get("polyvox_version", "")),
        instance=str(data.get("instance", "")),
        heartbeat_at_s=float(data.get("heartbeat_at_s") or 0.0),
        ttl_s=ttl_s,
        description=description,
    )
