"""Speech-to-text models route only to STT routes, text-to-speech models only to TTS routes."""

from __future__ import annotations

import pytest

from polyvox.config import Settings
from polyvox.contract.types import Capability, ModelInfo, VoiceInfo, WorkerDescription
from polyvox.errors import InvalidArgument, NotFound, Unavailable
from polyvox.gateway.routing import Router
from support.handles import StaticRegistry, StaticWorker

JOE = ModelInfo("joe", (VoiceInfo("joe", ("en-US",)),), 22050, ("en-US",))
TINY = ModelInfo("tiny.en", (), 16000, ("en",), capability=Capability.STT)


def worker(engine: str, model: ModelInfo | None) -> StaticWorker:
    handle = StaticWorker(worker_id=f"{engine}-0", engine=engine, state="starting")
    if model is not None:
        handle.state = "up"
        handle.description = WorkerDescription(engine=engine, engine_version="1", models=(model,))
    return handle


def router(*workers: StaticWorker, **settings: object) -> Router:
    settings = {"model_aliases": {"tts-1": "piper/joe"}, **settings}
    config = Settings(config=None, **settings)  # type: ignore[arg-type]
    return Router(config, StaticRegistry(workers))


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
        InvalidArgument,
        match=r"speech-to-text models: gpt-4o-mini-transcribe, gpt-4o-transcribe, "
        r"gpt-realtime-whisper, gpt-transcribe, whisper-1, whisper/tiny\.en",
    ):
        routes.resolve("tts-1", capability=Capability.STT)


@pytest.mark.parametrize(
    "name",
    [
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-4o-transcribe-2025-03-20",
        "gpt-realtime-whisper",
        "gpt-transcribe",
    ],
)
def test_openai_transcription_names_serve_what_whisper_1_does(name: str) -> None:
    routes = router(worker("piper", JOE), worker("whisper", TINY))
    assert routes.resolve(name, capability=Capability.STT).native_id == "whisper/tiny.en"


def test_an_engine_whose_environment_is_being_built_is_unavailable() -> None:
    routes = router(worker("piper", JOE), engines={"piper": {}, "whisper": {}})
    with pytest.raises(Unavailable, match="whisper worker is still starting"):
        routes.resolve("whisper-1")
