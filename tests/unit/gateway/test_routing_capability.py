"""Speech-to-text models route only to STT routes, text-to-speech models only to TTS routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyvox.config import Settings
from polyvox.engines.base import Capability, ModelInfo, VoiceInfo
from polyvox.errors import InvalidArgument, NotFound, Unavailable
from polyvox.gateway.routing import Router
from polyvox.gateway.worker_client import WorkerDescription
from polyvox.supervisor.process import WorkerProcess, WorkerSpec, WorkerState

JOE = ModelInfo("joe", (VoiceInfo("joe", "en-US"),), 22050, ("en-US",))
TINY = ModelInfo("tiny.en", (), 16000, ("en",), capability=Capability.STT)


def worker(engine: str, model: ModelInfo | None) -> WorkerProcess:
    process = WorkerProcess(
        WorkerSpec(worker_id=f"{engine}-0", engine=engine, python=Path("python"), address="unix:///x"),
        start_timeout_s=1, stop_timeout_s=1, backoff_initial_s=1, backoff_max_s=1,
    )  # fmt: skip
    if model is not None:
        process.state = WorkerState.UP
        process.description = WorkerDescription(
            engine=engine, engine_version="1", models=(model,), resident=(), device="cpu",
            in_flight=0, capacity=1, pid=1, runtime={}, started_at_s=0,
        )  # fmt: skip
    return process


def router(*workers: WorkerProcess, **settings: object) -> Router:
    settings = {"model_aliases": {"tts-1": "piper/joe"}, **settings}
    config = Settings(config=None, **settings)  # type: ignore[arg-type]
    return Router(config, {w.spec.worker_id: w for w in workers})


def test_whisper_1_is_a_builtin_alias_once_whisper_serves_it() -> None:
    routes = router(worker("piper", JOE), worker("whisper", TINY))
    assert routes.resolve("whisper-1", capability=Capability.STT).native_id == "whisper/tiny.en"
    assert routes.aliases()["whisper-1"] == "whisper/tiny.en"
    assert "whisper-1" not in router(worker("piper", JOE)).aliases()


def test_configured_alias_wins_over_the_builtin() -> None:
    routes = router(worker("whisper", TINY), model_aliases={"whisper-1": "whisper/other"})
    with pytest.raises(NotFound):
        routes.resolve("whisper-1")


def test_a_model_of_the_other_kind_is_a_clear_400() -> None:
    routes = router(worker("piper", JOE), worker("whisper", TINY))
    with pytest.raises(InvalidArgument, match=r"speech-to-text model.*/v1/audio/transcriptions"):
        routes.resolve("whisper-1", capability=Capability.TTS)
    with pytest.raises(
        InvalidArgument, match=r"speech-to-text models: whisper-1, whisper/tiny\.en"
    ):
        routes.resolve("tts-1", capability=Capability.STT)


def test_an_engine_whose_environment_is_being_built_is_unavailable() -> None:
    routes = router(worker("piper", JOE), engines={"piper": {}, "whisper": {}})
    with pytest.raises(Unavailable, match="whisper worker is still starting"):
        routes.resolve("whisper-1")
