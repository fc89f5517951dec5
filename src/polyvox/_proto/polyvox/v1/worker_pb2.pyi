from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_TTS: _ClassVar[Capability]
    CAPABILITY_STT: _ClassVar[Capability]
    CAPABILITY_VAD: _ClassVar[Capability]

class SampleFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLE_FORMAT_UNSPECIFIED: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_F32LE: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_S16LE: _ClassVar[SampleFormat]

class TurnDetection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TURN_DETECTION_VOICE_ACTIVITY: _ClassVar[TurnDetection]
    TURN_DETECTION_CLIENT: _ClassVar[TurnDetection]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_TTS: Capability
CAPABILITY_STT: Capability
CAPABILITY_VAD: Capability
SAMPLE_FORMAT_UNSPECIFIED: SampleFormat
SAMPLE_FORMAT_F32LE: SampleFormat
SAMPLE_FORMAT_S16LE: SampleFormat
TURN_DETECTION_VOICE_ACTIVITY: TurnDetection
TURN_DETECTION_CLIENT: TurnDetection

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Voice(_message.Message):
    __slots__ = ("id", "labels", "languages")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    id: str
    labels: _containers.ScalarMap[str, str]
    languages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., languages: _Optional[_Iterable[str]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "voices", "native_sample_rate_hz", "languages", "capability", "voice_blending", "phoneme_alphabets")
    ID_FIELD_NUMBER: _ClassVar[int]
    VOICES_FIELD_NUMBER: _ClassVar[int]
    NATIVE_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    VOICE_BLENDING_FIELD_NUMBER: _ClassVar[int]
    PHONEME_ALPHABETS_FIELD_NUMBER: _ClassVar[int]
    id: str
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    native_sample_rate_hz: int
    languages: _containers.RepeatedScalarFieldContainer[str]
    capability: Capability
    voice_blending: bool
    phoneme_alphabets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ..., native_sample_rate_hz: _Optional[int] = ..., languages: _Optional[_Iterable[str]] = ..., capability: _Optional[_Union[Capability, str]] = ..., voice_blending: _Optional[bool] = ..., phoneme_alphabets: _Optional[_Iterable[str]] = ...) -> None: ...

class ResidentModel(_message.Message):
    __slots__ = ("model_id", "loaded_at_s", "last_used_at_s", "in_flight", "expires_at_s")
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_S_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_S_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_S_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    loaded_at_s: float
    last_used_at_s: float
    in_flight: int
    expires_at_s: float
    def __init__(self, model_id: _Optional[str] = ..., loaded_at_s: _Optional[float] = ..., last_used_at_s: _Optional[float] = ..., in_flight: _Optional[int] = ..., expires_at_s: _Optional[float] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("engine", "engine_version", "capabilities", "models", "resident", "device", "in_flight", "capacity", "pid", "runtime", "started_at_s", "loading", "stats", "sessions", "max_sessions")
    class RuntimeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    RESIDENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_S_FIELD_NUMBER: _ClassVar[int]
    LOADING_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    engine: str
    engine_version: str
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    resident: _containers.RepeatedCompositeFieldContainer[ResidentModel]
    device: str
    in_flight: int
    capacity: int
    pid: int
    runtime: _containers.ScalarMap[str, str]
    started_at_s: float
    loading: _containers.RepeatedScalarFieldContainer[str]
    stats: WorkerStats
    sessions: int
    max_sessions: int
    def __init__(self, engine: _Optional[str] = ..., engine_version: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., resident: _Optional[_Iterable[_Union[ResidentModel, _Mapping]]] = ..., device: _Optional[str] = ..., in_flight: _Optional[int] = ..., capacity: _Optional[int] = ..., pid: _Optional[int] = ..., runtime: _Optional[_Mapping[str, str]] = ..., started_at_s: _Optional[float] = ..., loading: _Optional[_Iterable[str]] = ..., stats: _Optional[_Union[WorkerStats, _Mapping]] = ..., sessions: _Optional[int] = ..., max_sessions: _Optional[int] = ...) -> None: ...

class WorkerStats(_message.Message):
    __slots__ = ("queue_depth", "inference_running", "model_loads_total", "model_load_seconds_total", "evictions_total", "memory_rss_bytes")
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_RUNNING_FIELD_NUMBER: _ClassVar[int]
    MODEL_LOADS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MODEL_LOAD_SECONDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MEMORY_RSS_BYTES_FIELD_NUMBER: _ClassVar[int]
    queue_depth: int
    inference_running: int
    model_loads_total: int
    model_load_seconds_total: float
    evictions_total: int
    memory_rss_bytes: int
    def __init__(self, queue_depth: _Optional[int] = ..., inference_running: _Optional[int] = ..., model_loads_total: _Optional[int] = ..., model_load_seconds_total: _Optional[float] = ..., evictions_total: _Optional[int] = ..., memory_rss_bytes: _Optional[int] = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class LoadResponse(_message.Message):
    __slots__ = ("load_duration_s",)
    LOAD_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    load_duration_s: float
    def __init__(self, load_duration_s: _Optional[float] = ...) -> None: ...

class UnloadRequest(_message.Message):
    __slots__ = ("model_id",)
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    def __init__(self, model_id: _Optional[str] = ...) -> None: ...

class UnloadResponse(_message.Message):
    __slots__ = ("unloaded",)
    UNLOADED_FIELD_NUMBER: _ClassVar[int]
    unloaded: bool
    def __init__(self, unloaded: _Optional[bool] = ...) -> None: ...

class SynthesisConfig(_message.Message):
    __slots__ = ("model_id", "voice", "speed", "options", "request_id", "wait_for_slot", "word_timings")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_SLOT_FIELD_NUMBER: _ClassVar[int]
    WORD_TIMINGS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    voice: str
    speed: float
    options: _containers.ScalarMap[str, str]
    request_id: str
    wait_for_slot: bool
    word_timings: bool
    def __init__(self, model_id: _Optional[str] = ..., voice: _Optional[str] = ..., speed: _Optional[float] = ..., options: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., wait_for_slot: _Optional[bool] = ..., word_timings: _Optional[bool] = ...) -> None: ...

class TextSegment(_message.Message):
    __slots__ = ("index", "text", "language", "voice", "speed", "phonemes", "phoneme_alphabet")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    SPEED_FIELD_NUMBER: _ClassVar[int]
    PHONEMES_FIELD_NUMBER: _ClassVar[int]
    PHONEME_ALPHABET_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    language: str
    voice: str
    speed: float
    phonemes: str
    phoneme_alphabet: str
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., language: _Optional[str] = ..., voice: _Optional[str] = ..., speed: _Optional[float] = ..., phonemes: _Optional[str] = ..., phoneme_alphabet: _Optional[str] = ...) -> None: ...

class EndOfInput(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Pause(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SynthesizeIn(_message.Message):
    __slots__ = ("config", "segment", "end", "pause")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PAUSE_FIELD_NUMBER: _ClassVar[int]
    config: SynthesisConfig
    segment: TextSegment
    end: EndOfInput
    pause: Pause
    def __init__(self, config: _Optional[_Union[SynthesisConfig, _Mapping]] = ..., segment: _Optional[_Union[TextSegment, _Mapping]] = ..., end: _Optional[_Union[EndOfInput, _Mapping]] = ..., pause: _Optional[_Union[Pause, _Mapping]] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("segment_index", "samples", "sample_rate_hz", "sample_format", "sample_width_bytes", "channels")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_WIDTH_BYTES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    samples: bytes
    sample_rate_hz: int
    sample_format: SampleFormat
    sample_width_bytes: int
    channels: int
    def __init__(self, segment_index: _Optional[int] = ..., samples: _Optional[bytes] = ..., sample_rate_hz: _Optional[int] = ..., sample_format: _Optional[_Union[SampleFormat, str]] = ..., sample_width_bytes: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class WordTiming(_message.Message):
    __slots__ = ("segment_index", "text_start", "text_end", "start_sample", "end_sample")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_START_FIELD_NUMBER: _ClassVar[int]
    TEXT_END_FIELD_NUMBER: _ClassVar[int]
    START_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    END_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    text_start: int
    text_end: int
    start_sample: int
    end_sample: int
    def __init__(self, segment_index: _Optional[int] = ..., text_start: _Optional[int] = ..., text_end: _Optional[int] = ..., start_sample: _Optional[int] = ..., end_sample: _Optional[int] = ...) -> None: ...

class SegmentEnd(_message.Message):
    __slots__ = ("segment_index", "num_samples")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    NUM_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    num_samples: int
    def __init__(self, segment_index: _Optional[int] = ..., num_samples: _Optional[int] = ...) -> None: ...

class SynthesizeOut(_message.Message):
    __slots__ = ("audio", "segment_end", "word")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_END_FIELD_NUMBER: _ClassVar[int]
    WORD_FIELD_NUMBER: _ClassVar[int]
    audio: AudioChunk
    segment_end: SegmentEnd
    word: WordTiming
    def __init__(self, audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., segment_end: _Optional[_Union[SegmentEnd, _Mapping]] = ..., word: _Optional[_Union[WordTiming, _Mapping]] = ...) -> None: ...

class TranscriptionConfig(_message.Message):
    __slots__ = ("model_id", "language", "prompt", "temperature", "word_timestamps", "vad_filter", "streaming", "request_id", "options", "vad", "turn_detection", "speculative", "no_partials")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    WORD_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    VAD_FILTER_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VAD_FIELD_NUMBER: _ClassVar[int]
    TURN_DETECTION_FIELD_NUMBER: _ClassVar[int]
    SPECULATIVE_FIELD_NUMBER: _ClassVar[int]
    NO_PARTIALS_FIELD_NUMBER: _ClassVar[int]
    model_id: str
    language: str
    prompt: str
    temperature: float
    word_timestamps: bool
    vad_filter: bool
    streaming: bool
    request_id: str
    options: _containers.ScalarMap[str, str]
    vad: VadConfig
    turn_detection: TurnDetection
    speculative: bool
    no_partials: bool
    def __init__(self, model_id: _Optional[str] = ..., language: _Optional[str] = ..., prompt: _Optional[str] = ..., temperature: _Optional[float] = ..., word_timestamps: _Optional[bool] = ..., vad_filter: _Optional[bool] = ..., streaming: _Optional[bool] = ..., request_id: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ..., vad: _Optional[_Union[VadConfig, _Mapping]] = ..., turn_detection: _Optional[_Union[TurnDetection, str]] = ..., speculative: _Optional[bool] = ..., no_partials: _Optional[bool] = ...) -> None: ...

class VadConfig(_message.Message):
    __slots__ = ("threshold", "prefix_padding_ms", "silence_duration_ms", "suffix_padding_ms")
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PREFIX_PADDING_MS_FIELD_NUMBER: _ClassVar[int]
    SILENCE_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    SUFFIX_PADDING_MS_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int
    suffix_padding_ms: int
    def __init__(self, threshold: _Optional[float] = ..., prefix_padding_ms: _Optional[int] = ..., silence_duration_ms: _Optional[int] = ..., suffix_padding_ms: _Optional[int] = ...) -> None: ...

class Commit(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class Clear(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TranscribeIn(_message.Message):
    __slots__ = ("config", "audio", "end", "commit", "clear")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    config: TranscriptionConfig
    audio: AudioChunk
    end: EndOfInput
    commit: Commit
    clear: Clear
    def __init__(self, config: _Optional[_Union[TranscriptionConfig, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., end: _Optional[_Union[EndOfInput, _Mapping]] = ..., commit: _Optional[_Union[Commit, _Mapping]] = ..., clear: _Optional[_Union[Clear, _Mapping]] = ...) -> None: ...

class TranscriptWord(_message.Message):
    __slots__ = ("start_s", "end_s", "word", "probability")
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    WORD_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    start_s: float
    end_s: float
    word: str
    probability: float
    def __init__(self, start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., word: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...

class TranscriptSegment(_message.Message):
    __slots__ = ("id", "start_s", "end_s", "text", "avg_logprob", "compression_ratio", "no_speech_prob", "temperature", "tokens", "words", "seek")
    ID_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    AVG_LOGPROB_FIELD_NUMBER: _ClassVar[int]
    COMPRESSION_RATIO_FIELD_NUMBER: _ClassVar[int]
    NO_SPEECH_PROB_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    SEEK_FIELD_NUMBER: _ClassVar[int]
    id: int
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    temperature: float
    tokens: _containers.RepeatedScalarFieldContainer[int]
    words: _containers.RepeatedCompositeFieldContainer[TranscriptWord]
    seek: int
    def __init__(self, id: _Optional[int] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., text: _Optional[str] = ..., avg_logprob: _Optional[float] = ..., compression_ratio: _Optional[float] = ..., no_speech_prob: _Optional[float] = ..., temperature: _Optional[float] = ..., tokens: _Optional[_Iterable[int]] = ..., words: _Optional[_Iterable[_Union[TranscriptWord, _Mapping]]] = ..., seek: _Optional[int] = ...) -> None: ...

class SpeechEvent(_message.Message):
    __slots__ = ("kind", "time_s")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[SpeechEvent.Kind]
        KIND_STARTED: _ClassVar[SpeechEvent.Kind]
        KIND_STOPPED: _ClassVar[SpeechEvent.Kind]
    KIND_UNSPECIFIED: SpeechEvent.Kind
    KIND_STARTED: SpeechEvent.Kind
    KIND_STOPPED: SpeechEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    TIME_S_FIELD_NUMBER: _ClassVar[int]
    kind: SpeechEvent.Kind
    time_s: float
    def __init__(self, kind: _Optional[_Union[SpeechEvent.Kind, str]] = ..., time_s: _Optional[float] = ...) -> None: ...

class TranscriptUpdate(_message.Message):
    __slots__ = ("utterance_index", "final", "text", "start_s", "end_s", "segments", "commit_id")
    UTTERANCE_INDEX_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_S_FIELD_NUMBER: _ClassVar[int]
    END_S_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_ID_FIELD_NUMBER: _ClassVar[int]
    utterance_index: int
    final: bool
    text: str
    start_s: float
    end_s: float
    segments: _containers.RepeatedCompositeFieldContainer[TranscriptSegment]
    commit_id: int
    def __init__(self, utterance_index: _Optional[int] = ..., final: _Optional[bool] = ..., text: _Optional[str] = ..., start_s: _Optional[float] = ..., end_s: _Optional[float] = ..., segments: _Optional[_Iterable[_Union[TranscriptSegment, _Mapping]]] = ..., commit_id: _Optional[int] = ...) -> None: ...

class TranscriptionInfo(_message.Message):
    __slots__ = ("language", "language_probability", "duration_s", "duration_after_vad_s")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    DURATION_AFTER_VAD_S_FIELD_NUMBER: _ClassVar[int]
    language: str
    language_probability: float
    duration_s: float
    duration_after_vad_s: float
    def __init__(self, language: _Optional[str] = ..., language_probability: _Optional[float] = ..., duration_s: _Optional[float] = ..., duration_after_vad_s: _Optional[float] = ...) -> None: ...

class TranscribeOut(_message.Message):
    __slots__ = ("segment", "speech", "transcript", "info")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    segment: TranscriptSegment
    speech: SpeechEvent
    transcript: TranscriptUpdate
    info: TranscriptionInfo
    def __init__(self, segment: _Optional[_Union[TranscriptSegment, _Mapping]] = ..., speech: _Optional[_Union[SpeechEvent, _Mapping]] = ..., transcript: _Optional[_Union[TranscriptUpdate, _Mapping]] = ..., info: _Optional[_Union[TranscriptionInfo, _Mapping]] = ...) -> None: ...
