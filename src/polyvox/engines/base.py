"""The engine interface every speech engine adapter implements.

An engine knows which models it has and how to load one; a loaded model turns
one text segment into float32 audio at its native rate. Engines import their
heavy libraries lazily (inside ``load``) so the gateway can read an engine's
requirements without having those libraries installed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import numpy as np


class Capability(StrEnum):
    TTS = "tts"
    STT = "stt"


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    id: str
    language: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model an engine can load; ``voices[0]`` is its default voice."""

    id: str
    voices: tuple[VoiceInfo, ...]
    native_sample_rate_hz: int
    languages: tuple[str, ...]
    capability: Capability = Capability.TTS

    @property
    def default_voice(self) -> VoiceInfo:
        return self.voices[0]

    def voice_ids(self) -> list[str]:
        return [voice.id for voice in self.voices]


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """Per-request settings; never stored on the shared model object."""

    text: str
    voice: str
    speed: float = 1.0
    options: Mapping[str, str] = field(default_factory=dict)


class LoadedModel(ABC):
    """A model resident in a worker; the model manager only needs ``info`` and ``close``."""

    info: ModelInfo

    def close(self) -> None:  # noqa: B027 - optional hook, most models need nothing
        """Release what ``load`` acquired."""


class SpeechModel(LoadedModel):
    """A loaded text-to-speech model. Thread-compatible: one call at a time per model."""

    @abstractmethod
    def synthesize(self, request: SynthesisRequest) -> Iterator[np.ndarray]:
        """Yield mono float32 chunks in [-1, 1] at ``info.native_sample_rate_hz``."""


class Engine(ABC):
    """Adapter for one speech library. Subclasses register in ``polyvox.engines``."""

    name: ClassVar[str]
    #: PEP 508 requirements of the engine's own environment (beyond polyvox core).
    requirements: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[tuple[Capability, ...]] = (Capability.TTS,)

    def __init__(
        self,
        *,
        options: Mapping[str, str] | None = None,
        device: str = "cpu",
        threads_per_inference: int | None = None,
    ) -> None:
        self.options = dict(options or {})
        self.device = device
        #: CPU threads one inference may use (None: the library's default, all cores).
        self.threads_per_inference = threads_per_inference

    @abstractmethod
    def version(self) -> str:
        """Version of the underlying library, for Describe."""

    @abstractmethod
    def list_models(self) -> list[ModelInfo]:
        """Models this engine can load in the current environment."""

    @abstractmethod
    def load(self, model_id: str) -> LoadedModel:
        """Load a model (blocking; called off the event loop)."""
