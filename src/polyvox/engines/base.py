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
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from polyvox.engines.transcript import (
    SpeechEvent,
    TranscriptionInfo,
    TranscriptionRequest,
    TranscriptSegment,
    VadParameters,
)
from polyvox.errors import InvalidArgument


class Capability(StrEnum):
    TTS = "tts"
    STT = "stt"
    #: Voice activity detection (speech start/stop events) on streamed audio.
    VAD = "vad"


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
    #: Voices may be blends ("a(2)+b(1)", see :mod:`polyvox.voices`).
    voice_blending: bool = False

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
    #: A listener is waiting for this request's first audio: deliver about this many
    #: seconds of it as a chunk of its own, as soon as possible. A hint; engines that
    #: cannot cut an inference ignore it.
    first_chunk_s: float | None = None


@runtime_checkable
class KnowsItsEnd(Protocol):
    """An audio iterator that can tell, after each chunk, whether another will come.

    The worker then queues a stream's next step at its playback deadline and skips
    the step that would only find the iterator exhausted."""

    @property
    def finished(self) -> bool: ...


class LoadedModel(ABC):
    """A model resident in a worker; the model manager only needs ``info`` and ``close``."""

    info: ModelInfo

    def close(self) -> None:  # noqa: B027 - optional hook, most models need nothing
        """Release what ``load`` acquired."""

    def warmup(self) -> None:  # noqa: B027 - optional hook
        """Run one short inference so the first request doesn't pay for lazy init."""


class SpeechModel(LoadedModel):
    """A loaded text-to-speech model. Thread-compatible: one call at a time per model."""

    #: Text spoken by ``warmup``; a model for a non-Latin language may override it.
    warmup_text: ClassVar[str] = "Hello there."

    @abstractmethod
    def synthesize(self, request: SynthesisRequest) -> Iterator[np.ndarray]:
        """Yield mono float32 chunks in [-1, 1] at ``info.native_sample_rate_hz``."""

    def warmup(self) -> None:
        request = SynthesisRequest(text=self.warmup_text, voice=self.info.default_voice.id)
        for _ in self.synthesize(request):
            pass


class VoiceActivityDetector(ABC):
    """Per-stream voice activity state: feed audio in order, get boundary events."""

    @property
    @abstractmethod
    def in_speech(self) -> bool:
        """Whether the audio pushed so far ends inside speech."""

    @abstractmethod
    def push(self, samples: np.ndarray) -> list[SpeechEvent]:
        """Feed mono float32 at the model's rate; return the boundaries it completed."""

    @abstractmethod
    def flush(self) -> list[SpeechEvent]:
        """End of audio: close an open stretch of speech."""


class TranscriptionModel(LoadedModel):
    """A loaded speech-to-text model. Thread-compatible: one call at a time per stream."""

    @abstractmethod
    def transcribe(
        self, samples: np.ndarray, request: TranscriptionRequest
    ) -> tuple[Iterator[TranscriptSegment], TranscriptionInfo]:
        """Transcribe mono float32 at ``info.native_sample_rate_hz``.

        Segments are decoded lazily, a window per ``next()``, so the worker's
        scheduler can interleave other streams' steps between them.
        """

    def voice_activity(self, params: VadParameters) -> VoiceActivityDetector:
        """A fresh detector for one stream (streaming mode needs one)."""
        raise InvalidArgument(f"model {self.info.id!r} has no voice activity detection")

    def warmup(self) -> None:
        silence = np.zeros(self.info.native_sample_rate_hz, dtype=np.float32)
        language = self.info.languages[0] if self.info.languages else None
        segments, _ = self.transcribe(silence, TranscriptionRequest(language=language))
        for _ in segments:
            pass


class Engine(ABC):
    """Adapter for one speech library. Subclasses register in ``polyvox.engines``."""

    name: ClassVar[str]
    #: PEP 508 requirements of the engine's own environment (beyond polyvox core).
    requirements: ClassVar[tuple[str, ...]] = ()
    #: Package names never installed in its environment, even where a requirement
    #: depends on them (uv's ``--excludes``), e.g. torch for a package whose ONNX file
    #: is all the engine uses.
    excluded_requirements: ClassVar[tuple[str, ...]] = ()
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
