"""Registry records: what a worker writes is what a gateway reads; anything else is a
BadRecord that names what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from polyvox.contract.record import SCHEMA, BadRecord, WorkerRecord, parse_record, worker_key
from polyvox.contract.types import (
    ModelInfo,
    ResidentModelInfo,
    VoiceInfo,
    WorkerDescription,
    WorkerStats,
)

DESCRIPTION = WorkerDescription(
    engine="piper",
    engine_version="1.3.0",
    models=(
        ModelInfo(
            id="en_US-joe-medium",
            voices=(VoiceInfo(id="joe", languages=("en-US",), labels={"gender": "male"}),),
            native_sample_rate_hz=22050,
            languages=("en-US",),
        ),
    ),
    resident=(ResidentModelInfo("en_US-joe-medium", 10.0, 12.0, 1, 0.0),),
    in_flight=1,
    capacity=16,
    sessions=2,
    max_sessions=4096,
    pid=42,
    started_at_s=5.0,
    loading=("other",),
    stats=WorkerStats(queue_depth=3, model_loads_total=1, memory_rss_bytes=1000),
)
RECORD = WorkerRecord(
    worker_id="piper@10.0.0.2:50051",
    engine="piper",
    address="tcp://10.0.0.2:50051",
    tls=True,
    polyvox_version="0.1.0",
    instance="abc",
    heartbeat_at_s=100.5,
    ttl_s=5.0,
    description=DESCRIPTION,
)


def test_a_record_round_trips() -> None:
    parsed = parse_record(RECORD.to_json())
    assert parsed.description.runtime == {}
    assert parsed == RECORD


def test_a_record_is_readable_json_under_its_workers_key() -> None:
    data = json.loads(RECORD.to_json())
    assert data["schema"] == SCHEMA
    assert data["description"]["resident"][0]["model_id"] == "en_US-joe-medium"
    assert worker_key("polyvox", RECORD.worker_id) == "polyvox:worker:piper@10.0.0.2:50051"


def test_fields_a_newer_worker_adds_are_ignored() -> None:
    data = json.loads(RECORD.to_json())
    data["zone"] = "eu-1"
    data["description"]["future_field"] = 1
    assert parse_record(json.dumps(data)) == RECORD


def _changed(**changes: Any) -> bytes:
    data = json.loads(RECORD.to_json())
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not JSON"),
        (_changed(schema="polyvox.registry.v0"), "schema"),
        (_changed(worker_id=None), "worker_id"),
        (_changed(worker_id=""), "must not be empty"),
        (_changed(engine=7), "engine"),
        (_changed(address="ftp://host"), "unsupported address"),
        (_changed(address="tcp://host"), "host and port"),
        (_changed(ttl_s=-1), "positive"),
        (_changed(ttl_s=True), "ttl_s"),
        (_changed(description="x"), "not a JSON object"),
        (_changed(description={"engine": "piper", "models": "many"}), "WorkerInfo"),
        (_changed(engine="kokoro"), "registered as 'kokoro'"),
        (_changed(description={"engine": "piper"}), "offers no model"),
    ],
)
def test_a_bad_record_says_what_is_wrong(raw: bytes, why: str) -> None:
    with pytest.raises(BadRecord, match=why):
        parse_record(raw)
