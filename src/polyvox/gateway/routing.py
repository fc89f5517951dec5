"""Route a requested model name to a worker that serves it, and resolve voices."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from polyvox.config import OPENAI_VOICES, Settings
from polyvox.contract.types import Capability, ModelInfo
from polyvox.errors import InvalidArgument, NotFound, Unavailable
from polyvox.gateway.registry import WorkerHandle, WorkerRegistry
from polyvox.voices import is_blend, resolve_blend

#: OpenAI model names served without configuration when their target is; a
#: ``model_aliases`` entry of the same name wins.
BUILTIN_ALIASES = {"whisper-1": "whisper/tiny.en"}
#: OpenAI's newer model names, with their dated snapshots (``gpt-4o-mini-tts-2025-12-15``),
#: are served by the model an older name points to (``tts-1``, ``whisper-1``): agent
#: frameworks send these by default. Where the older name is an alias, so are these.
OPENAI_MODEL_FAMILIES = {
    "gpt-4o-mini-tts": "tts-1",
    "gpt-4o-transcribe": "whisper-1",
    "gpt-4o-mini-transcribe": "whisper-1",
    # Pipecat's default transcription model.
    "gpt-transcribe": "whisper-1",
    # What Pipecat's realtime transcription asks for.
    "gpt-realtime-whisper": "whisper-1",
}
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_KIND = {Capability.TTS: "text-to-speech", Capability.STT: "speech-to-text"}
_ROUTE = {Capability.TTS: "/v1/audio/speech", Capability.STT: "/v1/audio/transcriptions"}


@dataclass(frozen=True, slots=True)
class Route:
    native_id: str
    model: ModelInfo
    worker: WorkerHandle


def _preference(model_id: str) -> Callable[[WorkerHandle], tuple[int, int, str]]:
    """Sort key for replicas: those with the model resident first, then those loading it
    (a request shares the load running there instead of starting another), then the
    least busy; ties go by worker id, so every gateway of a cluster picks alike.

    Room is not judged here: what a gateway knows of another gateway's streams is a
    heartbeat old, and a worker's capacity shrinks when it runs slow, so a stale count
    would send requests away from the worker holding their model. The worker itself
    says whether it has room: a full one refuses the new stream at once and the next
    replica in this order is tried (gateway/admission.py)."""

    def key(worker: WorkerHandle) -> tuple[int, int, str]:
        description = worker.description
        if description is not None and description.is_resident(model_id):
            rank = 0
        elif description is not None and model_id in description.loading:
            rank = 1
        else:
            rank = 2
        return (rank, worker.load, worker.worker_id)

    return key


class Router:
    def __init__(
        self, settings: Settings, registry: WorkerRegistry, *, local_workers: bool = True
    ) -> None:
        self._settings = settings
        self._registry = registry
        #: Whether configured engines start here (else they come from a registry).
        self._local_workers = local_workers

    def catalog(self) -> dict[str, tuple[ModelInfo, WorkerHandle]]:
        """Every known model by native id (``engine/model``), from the workers' Describe."""
        found: dict[str, tuple[ModelInfo, WorkerHandle]] = {}
        for worker in self._registry.workers():
            if worker.description is None:
                continue
            for model in worker.description.models:
                found.setdefault(f"{worker.engine}/{model.id}", (model, worker))
        return found

    def workers_for(self, native_id: str) -> list[WorkerHandle]:
        """Every worker (replica) whose engine offers ``native_id``, whatever its state."""
        engine, _, model_id = native_id.partition("/")
        return [
            worker
            for worker in self._registry.workers()
            if worker.engine == engine
            and worker.description is not None
            and any(model.id == model_id for model in worker.description.models)
        ]

    def tts_voices(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Every text-to-speech voice served, as (model, voice) → the languages it reads;
        a model is named with its aliases ("kokoro/kokoro-82m-int8 (tts-1-hd)")."""
        aliases: dict[str, list[str]] = {}
        for alias, target in sorted(self.aliases().items()):
            aliases.setdefault(target, []).append(alias)
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        for native_id, (model, _) in sorted(self.catalog().items()):
            if model.capability is not Capability.TTS:
                continue
            names = aliases.get(native_id)
            label = f"{native_id} ({', '.join(names)})" if names else native_id
            for voice in model.voices:
                found[label, voice.id] = voice.languages or model.languages
        return found

    def native_id(self, name: str) -> str:
        """The native id ``name`` stands for: a configured alias, a built-in one, an
        OpenAI model family (snapshots too) through its older name, or ``name`` itself."""
        if (target := self._alias(name)) is not None:
            return target
        family = OPENAI_MODEL_FAMILIES.get(_SNAPSHOT.sub("", name))
        if family is not None and name not in self.catalog():
            return self._alias(family) or name
        return name

    def _alias(self, name: str) -> str | None:
        return self._settings.model_aliases.get(name) or BUILTIN_ALIASES.get(name)

    def aliases(self) -> dict[str, str]:
        """Configured aliases, plus the built-in ones and OpenAI's model families whose
        model is served (snapshots of a family are not listed)."""
        catalog = self.catalog()
        builtin = {alias: target for alias, target in BUILTIN_ALIASES.items() if target in catalog}
        configured = {**builtin, **self._settings.model_aliases}
        families = {
            family: configured[older]
            for family, older in OPENAI_MODEL_FAMILIES.items()
            if older in configured and configured[older] in catalog
        }
        return {**families, **configured}

    def resolve(
        self,
        name: str,
        *,
        capability: Capability | None = None,
        exclude: Collection[str] = (),
    ) -> Route:
        """Find the worker for ``name`` (an alias or a native id) that can serve it now,
        other than the worker ids in ``exclude``; with ``capability``, a model of
        another kind is a clear 400."""
        native_id = self.native_id(name)
        catalog = self.catalog()
        if native_id not in catalog:
            raise self._missing(name, native_id, catalog)
        model, _ = catalog[native_id]
        if capability is not None and model.capability is not capability:
            raise InvalidArgument(self._wrong_kind(name, model, capability))
        replicas = self.workers_for(native_id)
        up = [w for w in replicas if w.serving and w.worker_id not in exclude]
        if not up:
            states = ", ".join(sorted({worker.state for worker in replicas}))
            raise Unavailable(f"no worker for {native_id} is up ({states}); retry shortly")
        return Route(native_id=native_id, model=model, worker=min(up, key=_preference(model.id)))

    def _missing(
        self, name: str, native_id: str, catalog: dict[str, tuple[ModelInfo, WorkerHandle]]
    ) -> Exception:
        engine = native_id.partition("/")[0]
        if (why := self._registry.failed_engines.get(engine)) is not None:
            return Unavailable(f"the {engine} engine could not be started: {why}")
        engine_workers = [w for w in self._registry.workers() if w.engine == engine]
        # A configured engine with no worker described yet is still being built or started.
        if any(w.description is None for w in engine_workers) or (
            engine in self._settings.engines and not engine_workers
        ):
            if not self._local_workers:
                return Unavailable(f"no {engine} worker is registered now; retry shortly")
            return Unavailable(f"the {engine} worker is still starting; retry shortly")
        known = sorted({*self.aliases(), *catalog})
        return NotFound(f"model {name!r} does not exist; available models: {', '.join(known)}")

    def _wrong_kind(self, name: str, model: ModelInfo, wanted: Capability) -> str:
        fitting = [
            alias
            for alias, target in self.aliases().items()
            if (found := self.catalog().get(target)) and found[0].capability is wanted
        ]
        fitting += [n for n, (m, _) in self.catalog().items() if m.capability is wanted]
        kind = _KIND.get(model.capability, str(model.capability))
        return (
            f"model {name!r} is a {kind} model: use it with "
            f"{_ROUTE.get(model.capability, 'another route')}; {_KIND[wanted]} models: "
            f"{', '.join(sorted(fitting)) or 'none'}"
        )

    def resolve_voice(self, model: ModelInfo, voice: str) -> str:
        """A native voice of the model, an OpenAI voice name mapped to one, or a clear 400."""
        voices = model.voice_ids()
        if voice in voices:
            return voice
        if is_blend(voice):
            return str(resolve_blend(model, voice))
        if voice in OPENAI_VOICES:
            mapped = self._settings.voice_aliases.get(voice)
            return mapped if mapped in voices else model.default_voice.id
        raise InvalidArgument(
            f"voice {voice!r} is not available for model {model.id!r}; valid voices: "
            f"{', '.join(voices)} (or an OpenAI voice name: {', '.join(OPENAI_VOICES)})"
        )
