"""Model and voice resolution against workers' Describe answers."""

from __future__ import annotations

import pytest

from polyvox.config import Settings
from polyvox.contract.types import ModelInfo, ResidentModelInfo, VoiceInfo, WorkerDescription
from polyvox.errors import InvalidArgument, NotFound, Unavailable
from polyvox.gateway.routing import Router
from support.handles import StaticRegistry, StaticWorker

MULTI = ModelInfo(
    id="multi",
    voices=(VoiceInfo("amy", ("en-US",)), VoiceInfo("bob", ("en-US",))),
    native_sample_rate_hz=22050,
    languages=("en-US",),
)


def worker(
    state: str = "up",
    *,
    described: bool = True,
    worker_id: str = "piper-0",
    resident: bool = False,
) -> StaticWorker:
    handle = StaticWorker(worker_id=worker_id, engine="piper", state=state)
    if described:
        resident_models = (ResidentModelInfo("multi", 0, 0, 0, 0),) if resident else ()
        handle.description = WorkerDescription(
            engine="piper", engine_version="1", models=(MULTI,), resident=resident_models
        )
    return handle


def router(handle: StaticWorker, **settings: object) -> Router:
    return Router(
        Settings(config=None, model_aliases={"tts-1": "piper/multi"}, **settings),  # type: ignore[arg-type]
        StaticRegistry([handle]),
    )


def test_alias_and_native_id_resolve_to_the_worker() -> None:
    process = worker()
    assert router(process).resolve("tts-1").worker is process
    assert router(process).resolve("piper/multi").model is MULTI


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(NotFound, match=r"available models: gpt-4o-mini-tts, piper/multi, tts-1"):
        router(worker()).resolve("tts-2")


@pytest.mark.parametrize(
    "name", ["gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-03-20", "gpt-4o-mini-tts-2025-12-15"]
)
def test_openai_tts_names_and_snapshots_serve_what_tts_1_does(name: str) -> None:
    assert router(worker()).resolve(name).native_id == "piper/multi"


def test_a_configured_alias_beats_the_family() -> None:
    aliases = {"tts-1": "nowhere/x", "gpt-4o-mini-tts": "piper/multi"}
    routes = Router(Settings(config=None, model_aliases=aliases), StaticRegistry([worker()]))
    assert routes.resolve("gpt-4o-mini-tts").native_id == "piper/multi"
    with pytest.raises(NotFound):
        routes.resolve("gpt-4o-mini-tts-2025-03-20")


def test_a_name_that_only_looks_like_a_snapshot_is_unknown() -> None:
    with pytest.raises(NotFound):
        router(worker()).resolve("gpt-4o-mini-tts-latest")


@pytest.mark.parametrize("state", ["restarting", "starting", "crash_looping"])
def test_model_on_a_worker_that_is_down_is_unavailable(state: str) -> None:
    with pytest.raises(Unavailable, match=state):
        router(worker(state)).resolve("tts-1")


def test_engine_still_starting_is_unavailable_not_missing() -> None:
    with pytest.raises(Unavailable, match="still starting"):
        router(worker("starting", described=False)).resolve("piper/anything")


def test_an_engine_that_could_not_be_provisioned_says_why() -> None:
    registry = StaticRegistry([worker()], failed_engines={"kokoro": "uv failed: no wheel"})
    routes = Router(Settings(config=None), registry)
    with pytest.raises(Unavailable, match="kokoro engine could not be started: uv failed"):
        routes.resolve("kokoro/kokoro-82m-int8")


def test_voice_resolution() -> None:
    routes = router(worker(), voice_aliases={"nova": "bob", "echo": "nobody"})
    assert routes.resolve_voice(MULTI, "amy") == "amy"
    assert routes.resolve_voice(MULTI, "nova") == "bob"  # configured alias
    assert routes.resolve_voice(MULTI, "echo") == "amy"  # alias to a missing voice: default
    assert routes.resolve_voice(MULTI, "alloy") == "amy"  # unmapped OpenAI name: default
    for name in ("marin", "cedar", "ballad", "verse"):  # every OpenAI voice, newest too
        assert routes.resolve_voice(MULTI, name) == "amy"
    with pytest.raises(InvalidArgument, match="valid voices: amy, bob"):
        routes.resolve_voice(MULTI, "carol")


def test_replicas_prefer_the_model_resident_then_the_fewest_segments_in_flight() -> None:
    cold = worker(worker_id="piper-0")
    warm_busy = worker(worker_id="piper-1", resident=True)
    warm_idle = worker(worker_id="piper-2", resident=True)
    down = worker("restarting", worker_id="piper-3", resident=True)
    warm_busy.load = 3
    warm_idle.load = 1
    routes = Router(Settings(config=None), StaticRegistry([cold, warm_busy, warm_idle, down]))
    assert routes.resolve("piper/multi").worker is warm_idle
    # A retry leaves out the replica that refused it.
    assert routes.resolve("piper/multi", exclude={"piper-2"}).worker is warm_busy
    warm_idle.load = 5
    assert routes.resolve("piper/multi").worker is warm_busy
    # Nobody has it resident: the least busy replica loads it.
    for w in (warm_busy, warm_idle):
        w.description = cold.description
    assert routes.resolve("piper/multi").worker is cold
