"""The engine interface every speech engine adapter implements.

An engine knows which models it has and how to load one; a loaded model turns
one text segment into float32 audio at its native rate. Engines import their
heavy libraries lazily (inside ``load``) so the gateway can read an engine's
requirements without having those libraries installed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from polyvox.contract.types import (
    Capability,
    ModelInfo,
    SpeechEvent,
    TranscriptionInfo,
    TranscriptSegment,
)
from polyvox.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """Per-request settings; never stored on the shared model object."""

    text: str
    voice: str
    speed: float = 1.0
    options: Mapping[str, str] = field(default_factory=dict)
    #: The language the text is in (BCP 47, one of the voice's); None: the engine
    #: decides. An engine with several front ends reads the text with this one's.
    language: str | None = None
    #: A listener is waiting for this request's first audio: deliver about this many
    #: seconds of it as a chunk of its own, as soon as possible. A hint; engines that
    #: cannot cut an inference ignore it.
    first_chunk_s: float | None = None
    #: Speak these phonemes instead of reading ``text`` (SSML ``<phoneme>``), written in
    #: ``phoneme_alphabet``, one of ``ModelInfo.phoneme_alphabets``; ``text`` is what
    #: word marks point into.
    phonemes: str | None = None
    phoneme_alphabet: str | None = None
    #: The client wants word timings: an engine that can tell where words are spoken
    #: yields :class:`TimedChunk` s with :class:`WordMark` s (others ignore it).
    word_timings: bool = False


@dataclass(frozen=True, slots=True)
class WordMark:
    """Where one word of a request's text is spoken.

    ``text_start``/``text_end``: code points into ``SynthesisRequest.text``;
    ``start_sample``/``end_sample``: samples from the start of the request's audio (all
    of its chunks), at the model's native rate.
    """

    text_start: int
    text_end: int
    start_sample: int
    end_sample: int


@dataclass(frozen=True, slots=True)
class TimedChunk:
    """A chunk of audio and the words an engine reports with it.

    What an engine that knows word timings yields in place of a bare array. Its words
    come in order over the whole request (starts never decrease), each no later than
    the chunk in which its audio ends: an engine that knows a sentence's durations
    before decoding it (Piper, Kokoro) reports them all with the sentence's first chunk.
    """

    samples: np.ndarray
    words: tuple[WordMark, ...] = ()


#: What a speech model's iterator yields: audio alone, or audio with word marks.
EngineChunk = np.ndarray | TimedChunk


@dataclass(frozen=True, slots=True)
class TranscriptionRequest:
    """Per-request settings; never stored on the shared model object."""

    #: ISO 639-1 code; None: let the model detect it.
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    #: Decode only what voice activity detection calls speech.
    vad_filter: bool = False
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VadParameters:
    """How voice activity detection decides where speech starts and stops."""

    #: Speech probability at or above which a window counts as speech.
    threshold: float = 0.5
    #: Silence that ends a stretch of speech, in ms.
    min_silence_ms: int = 500
    #: Margin added before a start and after a stop, in ms.
    speech_pad_ms: int = 100
    #: Stretches of speech shorter than this are dropped by ``speech_spans``, in ms.
    min_speech_ms: int = 250
    #: Margin added before a start, in ms, when it differs from ``speech_pad_ms``
    #: (the Realtime API's ``prefix_padding_ms``); None: ``speech_pad_ms``.
    start_pad_ms: int | None = None


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
    #: Whether two calls into the model may run at once (on different threads). The
    #: worker enforces one call at a time otherwise, however many inference threads it
    #: has: most engines share state between calls (espeak-ng's phonemizer is global).
    concurrent_calls: ClassVar[bool] = False

    def close(self) -> None:  # noqa: B027 - optional hook, most models need nothing
        """Release what ``load`` acquired."""

    def warmup(self) -> None:  # noqa: B027 - optional hook
        """Run one short inference so the first request doesn't pay for lazy init."""


class SpeechModel(LoadedModel):
    """A loaded text-to-speech model. Thread-compatible: one call at a time per model."""

    #: Text spoken by ``warmup``; a model for a non-Latin language may override it.
    warmup_text: ClassVar[str] = "Hello there."

    @abstractmethod
    def synthesize(self, request: SynthesisRequest) -> Iterator[EngineChunk]:
        """Yield mono float32 chunks in [-1, 1] at ``info.native_sample_rate_hz``, as
        arrays or, with the words they carry, :class:`TimedChunk` s."""

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

    @property
    @abstractmethod
    def silence_started_s(self) -> float | None:
        """Inside speech, where the silence that may end it began (stream seconds): set
        from the first window below the detector's silence level until speech resumes
        (then None again) or the silence ends the stretch. None outside speech.

        A streaming transcription starts decoding here, so that the transcript is
        ready when the silence has lasted long enough to end the utterance."""

    @abstractmethod
    def restart(self) -> None:
        """Forget the speech in progress (the client ended the utterance): audio from
        here on starts a new stretch, reaching back no further than this point."""


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

    def preview_request(self, request: TranscriptionRequest) -> TranscriptionRequest:
        """Settings for a partial transcript of an utterance still being spoken: a
        preview, decoded often, so the cheapest settings that read it well."""
        return replace(request, word_timestamps=False, vad_filter=False)

    def warmup(self) -> None:
        silence = np.zeros(self.info.native_sample_rate_hz, dtype=np.float32)
        language = self.info.languages[0] if self.info.languages else None
        segments, _ = self.transcribe(silence, TranscriptionRequest(language=language))
        for _ in segments:
            pass


class Engine(ABC):
    """Adapter for one speech library. Subclasses register in ``polyvox.engines``."""

    name: ClassVar[str]
    #: The optional dependencies of polyvox (a pyproject.toml extra, e.g. "piper") its
    #: environment installs: where a built-in engine's requirements are written, once.
    extra: ClassVar[str | None] = None
    #: PEP 508 requirements of its environment beyond polyvox (and ``extra``): for an
    #: engine shipped as a package of its own, that package.
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
