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

class SampleFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAMPLE_FORMAT_UNSPECIFIED: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_F32LE: _ClassVar[SampleFormat]
    SAMPLE_FORMAT_S16LE: _ClassVar[SampleFormat]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_TTS: Capability
CAPABILITY_STT: Capability
SAMPLE_FORMAT_UNSPECIFIED: SampleFormat
SAMPLE_FORMAT_F32LE: SampleFormat
SAMPLE_FORMAT_S16LE: SampleFormat

class DescribeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Voice(_message.Message):
    __slots__ = ("id", "language", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    id: str
    language: str
    labels: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., language: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("id", "voices", "native_sample_rate_hz", "languages", "capability")
    ID_FIELD_NUMBER: _ClassVar[int]
    VOICES_FIELD_NUMBER: _ClassVar[int]
    NATIVE_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    voices: _containers.RepeatedCompositeFieldContainer[Voice]
    native_sample_rate_hz: int
    languages: _containers.RepeatedScalarFieldContainer[str]
    capability: Capability
    def __init__(self, id: _Optional[str] = ..., voices: _Optional[_Iterable[_Union[Voice, _Mapping]]] = ..., native_sample_rate_hz: _Optional[int] = ..., languages: _Optional[_Iterable[str]] = ..., capability: _Optional[_Union[Capability, str]] = ...) -> None: ...

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
    __slots__ = ("engine", "engine_version", "capabilities", "models", "resident", "device", "in_flight", "capacity", "pid", "runtime", "started_at_s")
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
    def __init__(self, engine: _Optional[str] = ..., engine_version: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., resident: _Optional[_Iterable[_Union[ResidentModel, _Mapping]]] = ..., device: _Optional[str] = ..., in_flight: _Optional[int] = ..., capacity: _Optional[int] = ..., pid: _Optional[int] = ..., runtime: _Optional[_Mapping[str, str]] = ..., started_at_s: _Optional[float] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("status",)
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[HealthResponse.Status]
        STATUS_SERVING: _ClassVar[HealthResponse.Status]
        STATUS_DRAINING: _ClassVar[HealthResponse.Status]
    STATUS_UNSPECIFIED: HealthResponse.Status
    STATUS_SERVING: HealthResponse.Status
    STATUS_DRAINING: HealthResponse.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: HealthResponse.Status
    def __init__(self, status: _Optional[_Union[HealthResponse.Status, str]] = ...) -> None: ...

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
    __slots__ = ("model_id", "voice", "speed", "options", "request_id")
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
    model_id: str
    voice: str
    speed: float
    options: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, model_id: _Optional[str] = ..., voice: _Optional[str] = ..., speed: _Optional[float] = ..., options: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class TextSegment(_message.Message):
    __slots__ = ("index", "text")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class EndOfInput(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SynthesizeIn(_message.Message):
    __slots__ = ("config", "segment", "end")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    config: SynthesisConfig
    segment: TextSegment
    end: EndOfInput
    def __init__(self, config: _Optional[_Union[SynthesisConfig, _Mapping]] = ..., segment: _Optional[_Union[TextSegment, _Mapping]] = ..., end: _Optional[_Union[EndOfInput, _Mapping]] = ...) -> None: ...

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

class SegmentEnd(_message.Message):
    __slots__ = ("segment_index", "num_samples")
    SEGMENT_INDEX_FIELD_NUMBER: _ClassVar[int]
    NUM_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    segment_index: int
    num_samples: int
    def __init__(self, segment_index: _Optional[int] = ..., num_samples: _Optional[int] = ...) -> None: ...

class SynthesizeOut(_message.Message):
    __slots__ = ("audio", "segment_end")
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_END_FIELD_NUMBER: _ClassVar[int]
    audio: AudioChunk
    segment_end: SegmentEnd
    def __init__(self, audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., segment_end: _Optional[_Union[SegmentEnd, _Mapping]] = ...) -> None: ...
