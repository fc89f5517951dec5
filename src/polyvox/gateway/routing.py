"""Route a requested model name to the worker that serves it, and resolve voices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from polyvox.config import OPENAI_VOICES, Settings
from polyvox.engines.base import ModelInfo
from polyvox.errors import InvalidArgument, NotFound, Unavailable
from polyvox.supervisor.process import WorkerProcess, WorkerState


@dataclass(frozen=True, slots=True)
class Route:
    native_id: str
    model: ModelInfo
    worker: WorkerProcess


class Router:
    def __init__(self, settings: Settings, workers: Mapping[str, WorkerProcess]) -> None:
        self._settings = settings
        self._workers = workers

    def catalog(self) -> dict[str, tuple[ModelInfo, WorkerProcess]]:
        """Every known model by native id (``engine/model``), from the workers' Describe."""
        found: dict[str, tuple[ModelInfo, WorkerProcess]] = {}
        for worker in self._workers.values():
            if worker.description is None:
                continue
            for model in worker.description.models:
                found.setdefault(f"{worker.spec.engine}/{model.id}", (model, worker))
        return found

    def native_id(self, name: str) -> str:
        return self._settings.model_aliases.get(name, name)

    def resolve(self, name: str) -> Route:
        """Find the worker for ``name`` (an alias or a native id) that can serve it now."""
        native_id = self.native_id(name)
        catalog = self.catalog()
        if native_id not in catalog:
            engine = native_id.partition("/")[0]
            if any(
                w.spec.engine == engine and w.description is None for w in self._workers.values()
            ):
                raise Unavailable(f"the {engine} worker is still starting; retry shortly")
            known = sorted({*self._settings.model_aliases, *catalog})
            raise NotFound(f"model {name!r} does not exist; available models: {', '.join(known)}")
        model, worker = catalog[native_id]
        if worker.state is not WorkerState.UP:
            raise Unavailable(f"the worker for {native_id} is {worker.state.value}; retry shortly")
        return Route(native_id=native_id, model=model, worker=worker)

    def resolve_voice(self, model: ModelInfo, voice: str) -> str:
        """A native voice of the model, an OpenAI voice name mapped to one, or a clear 400."""
        voices = model.voice_ids()
        if voice in voices:
            return voice
        if voice in OPENAI_VOICES:
            mapped = self._settings.voice_aliases.get(voice)
            return mapped if mapped in voices else model.default_voice.id
        raise InvalidArgument(
            f"voice {voice!r} is not available for model {model.id!r}; valid voices: "
            f"{', '.join(voices)} (or an OpenAI voice name: {', '.join(OPENAI_VOICES)})"
        )
