"""What gateway and workers both mean by a model, a voice, audio and a transcript.

Plain dataclasses, free of grpc and protobuf: engines, the worker and the gateway all
use them, and :mod:`polyvox.contract.codec` maps them to and from the wire. Times in
transcripts are seconds from the start of the stream's audio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class Capability(StrEnum):
    TTS = "tts"
    STT = "stt"
    #: Voice activity detection (speech start/stop events) on streamed audio.
    VAD = "vad"


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    id: str
    #: BCP 47 tags of the languages the voice reads, the one it speaks best first.
    languages: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The voice's main language (``und`` when it declares none)."""
        return self.languages[0] if self.languages else "und"


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
    #: Phoneme alphabets a segment may be spoken from instead of its text ("ipa");
    #: empty: text only.
    phoneme_alphabets: tuple[str, ...] = ()

    @property
    def default_voice(self) -> VoiceInfo:
        return self.voices[0]

    def voice_ids(self) -> list[str]:
        return [voice.id for voice in self.voices]


# --- synthesis ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SynthesisConfig:
    """Per-stream synthesis settings, sent first on a Synthesize stream."""

    model_id: str
    #: A voice of the model (or a blend); empty: the model's default voice.
    voice: str = ""
    speed: float = 1.0
    options: Mapping[str, str] = field(default_factory=dict)
    #: Correlates the worker's log lines with the gateway's request.
    request_id: str = ""
    #: A first turn that finds the worker full waits for a slot instead of being
    #: refused (a conversation bound to this worker).
    wait_for_slot: bool = False
    #: Send a :class:`WordTiming` for each word spoken, where the engine knows them.
    word_timings: bool = False


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono float32 samples in [-1, 1] of one segment, at ``sample_rate_hz``."""

    segment_index: int
    samples: np.ndarray
    sample_rate_hz: int

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate_hz


@dataclass(frozen=True, slots=True)
class SegmentEnd:
    """All audio of a segment has been sent."""

    segment_index: int
    num_samples: int


@dataclass(frozen=True, slots=True)
class WordTiming:
    """Where one word of a segment is spoken.

    ``text_start``/``text_end`` are code points into the segment's text;
    ``start_sample``/``end_sample`` count samples from the start of the segment's
    audio, at its chunks' rate. Within a segment, starts never decrease.
    """

    segment_index: int
    text_start: int
    text_end: int
    start_sample: int
    end_sample: int


SynthesisEvent = AudioChunk | SegmentEnd | WordTiming


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment's text and, where the voice reads several languages, the one it is in
    (BCP 47): the engine reads it with that language's front end. SSML may set a voice
    and speed for one segment, and phonemes to speak instead of its text."""

    text: str
    language: str | None = None
    #: A voice of the stream's model for this segment only; None: the stream's.
    voice: str | None = None
    #: Speaking rate for this segment only; None: the stream's.
    speed: float | None = None
    #: Phonemes spoken instead of ``text`` (in ``phoneme_alphabet``, one the model
    #: lists); ``text`` is still what word timings point into.
    phonemes: str | None = None
    phoneme_alphabet: str | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """In a stream's segments: nothing more for now. Once what came before is spoken,
    the stream holds no work slot and no model until its next segment."""


#: The one Pause there is.
PAUSE = Pause()


# --- transcription -----------------------------------------------------------------


class TurnDetection(StrEnum):
    """Who ends an utterance of a streaming transcription."""

    #: A long enough silence (``VadConfig.silence_duration_ms``); a commit ends one early.
    VOICE_ACTIVITY = "voice_activity"
    #: Only the client, with :class:`TranscriptionCommit`.
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Voice activity detection settings of one streaming transcription."""

    #: Speech probability, 0 to 1, at or above which a window counts as speech.
    threshold: float = 0.5
    #: Audio before the detected start of speech that belongs to the utterance.
    prefix_padding_ms: int = 100
    #: Silence that ends an utterance.
    silence_duration_ms: int = 500
    #: Audio after the last speech that belongs to the utterance.
    suffix_padding_ms: int = 100


@dataclass(frozen=True, slots=True)
class TranscriptionConfig:
    """Per-stream transcription settings, sent first on a Transcribe stream."""

    model_id: str
    #: ISO 639-1 code; None: let the model detect it.
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    word_timestamps: bool = False
    #: Batch mode: decode only what voice activity detection calls speech.
    vad_filter: bool = False
    #: VAD events and partial/final transcripts while audio arrives, instead of batch.
    streaming: bool = False
    request_id: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    #: Streaming mode: voice activity detection (None: the worker's defaults).
    vad: VadConfig | None = None
    turn_detection: TurnDetection = TurnDetection.VOICE_ACTIVITY
    #: Streaming mode: decode an utterance from the moment silence begins in it, so
    #: its final is ready once the silence is confirmed (discarded if speech resumes).
    speculative: bool = False
    #: Streaming mode: partial transcripts while an utterance is spoken.
    partials: bool = True


@dataclass(frozen=True, slots=True)
class TranscriptionCommit:
    """End the utterance here (streaming mode); one final with this ``id`` answers."""

    #: Chosen by the client, echoed by the final; not 0.
    id: int


@dataclass(frozen=True, slots=True)
class TranscriptionClear:
    """Drop the audio since the last utterance ended (streaming mode); no final answers."""


#: What a client sends on a Transcribe stream after its config (audio: mono float32).
TranscriptionInput = np.ndarray | TranscriptionCommit | TranscriptionClear


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
    #: The :class:`TranscriptionCommit` this final answers; 0 when voice activity
    #: detection (or the end of audio) ended the utterance.
    commit_id: int = 0


#: Everything a Transcribe stream yields.
TranscriptEvent = TranscriptSegment | SpeechEvent | TranscriptUpdate | TranscriptionInfo


def transcript_text(segments: tuple[TranscriptSegment, ...] | list[TranscriptSegment]) -> str:
    """Join segment texts the way Whisper writes them (each segment starts with a space)."""
    return "".join(segment.text for segment in segments).strip()


# --- what a worker says about itself -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResidentModelInfo:
    model_id: str
    loaded_at_s: float
    last_used_at_s: float
    in_flight: int
    #: When the model becomes evictable for idleness; 0 when it never will as is.
    expires_at_s: float


@dataclass(frozen=True, slots=True)
class WorkerStats:
    """Load and model-lifecycle figures; counters restart with the worker process."""

    queue_depth: int = 0
    inference_running: int = 0
    model_loads_total: int = 0
    model_load_seconds_total: float = 0.0
    evictions_total: int = 0
    memory_rss_bytes: int = 0


@dataclass(frozen=True, slots=True)
class WorkerDescription:
    """A worker's answer to Describe: what it serves and how busy it is."""

    engine: str
    engine_version: str
    models: tuple[ModelInfo, ...]
    resident: tuple[ResidentModelInfo, ...] = ()
    device: str = "cpu"
    #: Streams working now (synthesizing or decoding): what ``capacity`` bounds.
    in_flight: int = 0
    capacity: int = 0
    #: Streams open now, working or idle (a quiet WebSocket session): what
    #: ``max_sessions`` bounds.
    sessions: int = 0
    max_sessions: int = 0
    pid: int = 0
    runtime: Mapping[str, str] = field(default_factory=dict)
    started_at_s: float = 0.0
    loading: tuple[str, ...] = ()
    stats: WorkerStats = WorkerStats()
    capabilities: tuple[Capability, ...] = ()

    def is_resident(self, model_id: str) -> bool:
        return any(resident.model_id == model_id for resident in self.resident)
