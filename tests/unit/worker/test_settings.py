"""Worker settings: one model, handed to a worker through its environment, every field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

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
    first_chunk_ms=125, newcomer_slack_ms=90,
    max_segment_chars=77, drain_timeout_s=0.5,
    env="shared", requirements=["numpy<2"], python="3.12", home=Path("/srv/polyvox"),
    in_environment=True, advertise="tcp://10.1.2.3:7070", health_listen="tcp://0.0.0.0:7071",
    registry="redis://r:6379/1", registry_prefix="pv", heartbeat_interval_s=0.25,
    registry_ttl_s=3.0, registry_poll_interval_s=0.2,
    link_token=SecretStr("s3cret"), tls_ca_file=Path("/ca.pem"), tls_cert_file=Path("/c.pem"),
    tls_key_file=Path("/k.pem"), tls_server_name="polyvox-worker", trusted_network=True,
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


@pytest.mark.parametrize(
    "listen",
    ["tcp://0.0.0.0:7070", "tcp://10.1.2.3:7070", "tcp://[::]:7070", "tcp://worker.example:1"],
)
def test_a_worker_beyond_loopback_refuses_an_unsecured_link(listen: str) -> None:
    with pytest.raises(ValidationError, match="needs a secured link"):
        WorkerSettings(listen=listen)
    # Any of the three makes it acceptable.
    WorkerSettings(listen=listen, link_token=SecretStr("t"))
    mutual = {"tls_ca_file": Path("/ca"), "tls_cert_file": Path("/c"), "tls_key_file": Path("/k")}
    WorkerSettings(listen=listen, **mutual)
    WorkerSettings(listen=listen, trusted_network=True)
    # TLS without client certificates encrypts, but lets anyone call.
    with pytest.raises(ValidationError, match="needs a secured link"):
        WorkerSettings(listen=listen, tls_cert_file=Path("/c"), tls_key_file=Path("/k"))


@pytest.mark.parametrize(
    "listen",
    ["unix:///run/w.sock", "tcp://127.0.0.1:7070", "tcp://[::1]:7070", "tcp://localhost:1"],
)
def test_a_worker_on_loopback_needs_no_secured_link(listen: str) -> None:
    WorkerSettings(listen=listen)


def test_a_worker_on_every_interface_must_say_where_it_is_reached() -> None:
    settings = WorkerSettings(
        listen="tcp://0.0.0.0:7070", registry="redis://r", trusted_network=True
    )
    with pytest.raises(ValueError, match="advertise"):
        settings.advertised()
    settings.advertise = "tcp://10.1.2.3:7070"
    assert settings.effective_worker_id() == "piper@10.1.2.3:7070"


def test_a_ttl_shorter_than_two_heartbeats_is_refused() -> None:
    with pytest.raises(ValidationError, match="twice"):
        WorkerSettings(heartbeat_interval_s=2.0, registry_ttl_s=3.0)
