"""A worker started by hand reads its lifecycle from the environment."""

from __future__ import annotations

import pytest

from polyvox.worker.settings import WorkerSettings


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
