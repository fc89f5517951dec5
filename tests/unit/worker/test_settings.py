"""Worker settings: one model, handed to a worker through its environment, every field."""

from __future__ import annotations

import pytest

from polyvox.config import EngineSettings
from polyvox.worker.settings import (
    LifecycleSettings,
    WorkerSettings,
    WorkerTuning,
    worker_environment,
)

#: A value unlike the default for every field, so a field that does not travel fails.
EVERYTHING_SET = WorkerSettings(
    engine="kokoro", listen="tcp://0.0.0.0:7070", worker_id="kokoro-3", exit_with_parent=True,
    device="cuda:1", options={"cache_dir": "/srv/k", "x": "y"}, preload=["a", "b"],
    lifecycle=LifecycleSettings(ttl_s=None, min_residency_s=1.5, evict_check_interval_s=2.5,
                                resident_cap=7, max_parallel_loads=3, warmup=False),
    capacity=3, max_sessions=12, max_realtime_load=None, inference_threads=2, busy_split_chars=0,
    first_chunk_ms=125,
    max_segment_chars=77, drain_timeout_s=0.5,
)  # fmt: skip


def test_every_field_is_set_in_the_round_trip_case() -> None:
    defaults = WorkerSettings()
    unchanged = [
        name
        for name in WorkerSettings.model_fields
        if getattr(EVERYTHING_SET, name) == getattr(defaults, name)
    ]
    assert unchanged == []


def test_every_field_reaches_the_worker_through_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in worker_environment(EVERYTHING_SET).items():
        monkeypatch.setenv(name, value)
    assert WorkerSettings() == EVERYTHING_SET


def test_an_engines_config_becomes_its_workers_settings() -> None:
    engine = EngineSettings(
        capacity=5, max_sessions=9, preload=["m"], lifecycle=LifecycleSettings(ttl_s=5),
        requirements=["numpy<2"], replicas=2,
    )  # fmt: skip
    settings = WorkerSettings.for_engine(engine, engine="piper", listen="unix:///s", worker_id="p")
    for name in WorkerTuning.model_fields:
        assert getattr(settings, name) == getattr(engine, name), name
    assert (settings.engine, settings.listen, settings.worker_id) == ("piper", "unix:///s", "p")


def test_lifecycle_from_json_and_from_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_WORKER_LIFECYCLE", '{"ttl_s": 60, "resident_cap": 2}')
    settings = WorkerSettings()
    assert settings.lifecycle.ttl_s == 60
    assert settings.lifecycle.resident_cap == 2
    monkeypatch.delenv("POLYVOX_WORKER_LIFECYCLE")
    monkeypatch.setenv("POLYVOX_WORKER_LIFECYCLE__MIN_RESIDENCY_S", "5")
    monkeypatch.setenv("POLYVOX_WORKER_LIFECYCLE__WARMUP", "false")
    settings = WorkerSettings()
    assert settings.lifecycle.min_residency_s == 5
    assert settings.lifecycle.warmup is False
    assert settings.lifecycle.ttl_s == 300  # untouched fields keep their defaults
