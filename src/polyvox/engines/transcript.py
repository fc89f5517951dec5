"""Speech-to-text results and voice activity events, shared by workers and the gateway.

Plain dataclasses: the worker's servicer and the gateway's worker client map them
to and from protobuf; everything else uses these. Times are seconds from the start
of the stream's audio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Word:
    start_s: float
    end_s: float
    #: The word with its leading space, as the model wrote it.
    word: str
    probability: float


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    id: int
    start_s: float
    end_s: float
    text: str
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    temperature: float = 0.0
    tokens: tuple[int, ...] = ()
    words: tuple[Word, ...] = ()
    #: Start of the window it was decoded in, in 10 ms frames (Whisper's seek).
    seek: int = 0

    def shifted(self, offset_s: float, *, id: int | None = None) -> TranscriptSegment:
        """The same segment with times moved by ``offset_s`` (and optionally renumbered)."""
        words = tuple(
            Word(w.start_s + offset_s, w.end_s + offset_s, w.word, w.probability)
            for w in self.words
        )
        return TranscriptSegment(
            id=self.id if id is None else id,
            start_s=self.start_s + offset_s,
            end_s=self.end_s + offset_s,
            text=self.text,
            avg_logprob=self.avg_logprob,
            compression_ratio=self.compression_ratio,
            no_speech_prob=self.no_speech_prob,
            temperature=self.temperature,
            tokens=self.tokens,
            words=words,
            seek=self.seek + round(offset_s * 100),
        )


@dataclass(frozen=True, slots=True)
class TranscriptionInfo:
    language: str
    language_probability: float
    #: Seconds of audio received.
    duration_s: float
    #: Seconds of audio the model decoded (less than duration_s after a VAD filter).
    duration_after_vad_s: float


class SpeechEventKind(StrEnum):
    STARTED = "speech.started"
    STOPPED = "speech.stopped"


@dataclass(frozen=True, slots=True)
class SpeechEvent:
    """Voice activity detection crossed a boundary at ``time_s`` (padded by its margin)."""

    kind: SpeechEventKind
    time_s: float


@dataclass(frozen=True, slots=True)
class TranscriptUpdate:
    """One utterance's transcript in streaming mode: partial while spoken, then final."""

    utterance_index: int
    final: bool
    text: str
    start_s: float
    end_s: float
    #: The final transcript's segments; empty for a partial one.
    segments: tuple[TranscriptSegment, ...] = ()


#: Everything a Transcribe stream yields.
TranscriptEvent = TranscriptSegment | SpeechEvent | TranscriptUpdate | TranscriptionInfo


def transcript_text(segments: tuple[TranscriptSegment, ...] | list[TranscriptSegment]) -> str:
    """Join segment texts the way Whisper writes them (each segment starts with a space)."""
    return "".join(segment.text for segment in segments).strip()
