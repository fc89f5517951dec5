"""The contract's types to and from protobuf, in both directions.

Each message has a ``*_to_pb`` and a ``*_from_pb``; a round-trip test covers every
pair. Decoding is strict where a silent guess would mislead: an unknown capability
is dropped with a warning (a newer worker may know kinds of work this gateway does
not), never read as text-to-speech.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any, TypeVar

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message

from polyvox._proto.polyvox.v1 import worker_pb2 as pb
from polyvox.contract.types import (
    AudioChunk,
    Capability,
    ModelInfo,
    ResidentModelInfo,
    Segment,
    SegmentEnd,
    SpeechEvent,
    SpeechEventKind,
    SynthesisConfig,
    SynthesisEvent,
    TranscriptEvent,
    TranscriptionClear,
    TranscriptionCommit,
    TranscriptionConfig,
    TranscriptionInfo,
    TranscriptionInput,
    TranscriptSegment,
    TranscriptUpdate,
    TurnDetection,
    VadConfig,
    VoiceInfo,
    Word,
    WordTiming,
    WorkerDescription,
    WorkerStats,
)
from polyvox.errors import InvalidArgument

logger = logging.getLogger(__name__)

_CAPABILITY_PB = {
    Capability.TTS: pb.CAPABILITY_TTS,
    Capability.STT: pb.CAPABILITY_STT,
    Capability.VAD: pb.CAPABILITY_VAD,
}
_CAPABILITY: dict[int, Capability] = {value: key for key, value in _CAPABILITY_PB.items()}
_SPEECH_KIND_PB = {
    SpeechEventKind.STARTED: pb.SpeechEvent.KIND_STARTED,
    SpeechEventKind.STOPPED: pb.SpeechEvent.KIND_STOPPED,
}
_SPEECH_KIND = {value: key for key, value in _SPEECH_KIND_PB.items()}
MessageT = TypeVar("MessageT", bound=Message)
_TURN_DETECTION_PB = {
    TurnDetection.VOICE_ACTIVITY: pb.TURN_DETECTION_VOICE_ACTIVITY,
    TurnDetection.CLIENT: pb.TURN_DETECTION_CLIENT,
}
_TURN_DETECTION: dict[int, TurnDetection] = {
    value: key for key, value in _TURN_DETECTION_PB.items()
}
_SAMPLE_DTYPES: dict[int, np.dtype[Any]] = {
    pb.SAMPLE_FORMAT_F32LE: np.dtype("<f4"),
    pb.SAMPLE_FORMAT_S16LE: np.dtype("<i2"),
}


class UnknownCapability(ValueError):
    pass


def capability_from_pb(value: int) -> Capability:
    try:
        return _CAPABILITY[value]
    except KeyError:
        raise UnknownCapability(f"unknown capability {value}") from None


# --- models and workers ------------------------------------------------------------


def voice_to_pb(voice: VoiceInfo) -> pb.Voice:
    return pb.Voice(id=voice.id, languages=list(voice.languages), labels=dict(voice.labels))


def voice_from_pb(voice: pb.Voice) -> VoiceInfo:
    return VoiceInfo(id=voice.id, languages=tuple(voice.languages), labels=dict(voice.labels))


def model_to_pb(info: ModelInfo) -> pb.Model:
    return pb.Model(
        id=info.id,
        voices=[voice_to_pb(voice) for voice in info.voices],
        native_sample_rate_hz=info.native_sample_rate_hz,
        languages=list(info.languages),
        capability=_CAPABILITY_PB[info.capability],
        voice_blending=info.voice_blending,
        phoneme_alphabets=list(info.phoneme_alphabets),
    )


def model_from_pb(model: pb.Model) -> ModelInfo:
    """Raises :class:`UnknownCapability` for a kind of model this side does not know."""
    return ModelInfo(
        id=model.id,
        voices=tuple(voice_from_pb(voice) for voice in model.voices),
        native_sample_rate_hz=model.native_sample_rate_hz,
        languages=tuple(model.languages),
        capability=capability_from_pb(model.capability),
        voice_blending=model.voice_blending,
        phoneme_alphabets=tuple(model.phoneme_alphabets),
    )


# Flat messages whose fields are the dataclass's, name for name: copied field by field.
_FlatT = TypeVar("_FlatT", ResidentModelInfo, WorkerStats)


def _flat_to_pb(value: Any, message: type[MessageT]) -> MessageT:
    return message(**{f.name: getattr(value, f.name) for f in fields(value)})


def _flat_from_pb(message: Any, cls: type[_FlatT]) -> _FlatT:
    return cls(**{f.name: getattr(message, f.name) for f in fields(cls)})


def resident_to_pb(resident: ResidentModelInfo) -> pb.ResidentModel:
    return _flat_to_pb(resident, pb.ResidentModel)


def resident_from_pb(resident: pb.ResidentModel) -> ResidentModelInfo:
    return _flat_from_pb(resident, ResidentModelInfo)


def stats_to_pb(stats: WorkerStats) -> pb.WorkerStats:
    return _flat_to_pb(stats, pb.WorkerStats)


def stats_from_pb(stats: pb.WorkerStats) -> WorkerStats:
    return _flat_from_pb(stats, WorkerStats)


def description_to_pb(description: WorkerDescription) -> pb.WorkerInfo:
    return pb.WorkerInfo(
        engine=description.engine,
        engine_version=description.engine_version,
        capabilities=[_CAPABILITY_PB[c] for c in description.capabilities],
        models=[model_to_pb(model) for model in description.models],
        resident=[resident_to_pb(resident) for resident in description.resident],
        device=description.device,
        in_flight=description.in_flight,
        capacity=description.capacity,
        sessions=description.sessions,
        max_sessions=description.max_sessions,
        pid=description.pid,
        runtime=dict(description.runtime),
        started_at_s=description.started_at_s,
        loading=list(description.loading),
        stats=stats_to_pb(description.stats),
    )


def description_from_pb(info: pb.WorkerInfo) -> WorkerDescription:
    return WorkerDescription(
        engine=info.engine,
        engine_version=info.engine_version,
        capabilities=tuple(_known_capabilities(info)),
        models=tuple(_known_models(info)),
        resident=tuple(resident_from_pb(resident) for resident in info.resident),
        device=info.device,
        in_flight=info.in_flight,
        capacity=info.capacity,
        sessions=info.sessions,
        max_sessions=info.max_sessions,
        pid=info.pid,
        runtime=dict(info.runtime),
        started_at_s=info.started_at_s,
        loading=tuple(info.loading),
        stats=stats_from_pb(info.stats),
    )


def _known_capabilities(info: pb.WorkerInfo) -> list[Capability]:
    known = []
    for value in info.capabilities:
        try:
            known.append(capability_from_pb(value))
        except UnknownCapability:
            logger.warning("worker %s has an unknown capability %s; ignored", info.engine, value)
    return known


def _known_models(info: pb.WorkerInfo) -> list[ModelInfo]:
    known = []
    for model in info.models:
        try:
            known.append(model_from_pb(model))
        except UnknownCapability:
            logger.warning(
                "model %s/%s has an unknown capability %s; not served",
                info.engine, model.id, model.capability,
            )  # fmt: skip
    return known


# --- synthesis ---------------------------------------------------------------------


def synthesis_config_to_pb(config: SynthesisConfig) -> pb.SynthesizeIn:
    return pb.SynthesizeIn(
        config=pb.SynthesisConfig(
            model_id=config.model_id,
            voice=config.voice,
            speed=config.speed,
            options=dict(config.options),
            request_id=config.request_id,
            wait_for_slot=config.wait_for_slot,
            word_timings=config.word_timings,
        )
    )


def synthesis_config_from_pb(message: pb.SynthesizeIn) -> SynthesisConfig:
    """The config of a stream's first message; InvalidArgument when it is not one."""
    if message.WhichOneof("item") != "config":
        raise InvalidArgument("the first Synthesize message must be a config")
    config = message.config
    return SynthesisConfig(
        model_id=config.model_id,
        voice=config.voice,
        speed=config.speed,
        options=dict(config.options),
        request_id=config.request_id,
        wait_for_slot=config.wait_for_slot,
        word_timings=config.word_timings,
    )


def text_segment_to_pb(index: int, segment: Segment) -> pb.SynthesizeIn:
    return pb.SynthesizeIn(
        segment=pb.TextSegment(
            index=index,
            text=segment.text,
            language=segment.language or "",
            voice=segment.voice or "",
            speed=segment.speed or 0.0,
            phonemes=segment.phonemes or "",
            phoneme_alphabet=segment.phoneme_alphabet or "",
        )
    )


def text_segment_from_pb(segment: pb.TextSegment) -> tuple[int, Segment]:
    """A segment's index and contents; empty fields are the stream's defaults."""
    return segment.index, Segment(
        text=segment.text,
        language=segment.language or None,
        voice=segment.voice or None,
        speed=segment.speed or None,
        phonemes=segment.phonemes or None,
        phoneme_alphabet=segment.phoneme_alphabet or None,
    )


END_OF_SYNTHESIS_INPUT = pb.SynthesizeIn(end=pb.EndOfInput())
PAUSE_MESSAGE = pb.SynthesizeIn(pause=pb.Pause())


def audio_chunk_to_pb(chunk: AudioChunk) -> pb.AudioChunk:
    return pb.AudioChunk(
        segment_index=chunk.segment_index,
        samples=np.asarray(chunk.samples, dtype="<f4").tobytes(),
        sample_rate_hz=chunk.sample_rate_hz,
        sample_format=pb.SAMPLE_FORMAT_F32LE,
        sample_width_bytes=4,
        channels=1,
    )


def audio_chunk_from_pb(chunk: pb.AudioChunk) -> AudioChunk:
    """Mono float32 from f32le or s16le samples; InvalidArgument for anything else."""
    dtype = _SAMPLE_DTYPES.get(chunk.sample_format)
    if dtype is None:
        raise InvalidArgument("audio must be f32le or s16le samples")
    if chunk.channels > 1:
        raise InvalidArgument(f"audio must be mono; got {chunk.channels} channels")
    if len(chunk.samples) % dtype.itemsize:
        raise InvalidArgument(
            f"audio bytes are not a whole number of {dtype.itemsize}-byte samples"
        )
    samples = np.frombuffer(chunk.samples, dtype=dtype)
    if dtype.kind == "i":
        samples = samples.astype(np.float32) / 32768.0
    return AudioChunk(
        chunk.segment_index, samples.astype(np.float32, copy=False), chunk.sample_rate_hz
    )


def synthesis_event_to_pb(event: SynthesisEvent) -> pb.SynthesizeOut:
    if isinstance(event, AudioChunk):
        return pb.SynthesizeOut(audio=audio_chunk_to_pb(event))
    if isinstance(event, WordTiming):
        return pb.SynthesizeOut(
            word=pb.WordTiming(
                segment_index=event.segment_index,
                text_start=event.text_start,
                text_end=event.text_end,
                start_sample=event.start_sample,
                end_sample=event.end_sample,
            )
        )
    return pb.SynthesizeOut(
        segment_end=pb.SegmentEnd(segment_index=event.segment_index, num_samples=event.num_samples)
    )


def synthesis_event_from_pb(out: pb.SynthesizeOut) -> SynthesisEvent:
    kind = out.WhichOneof("item")
    if kind == "audio":
        return audio_chunk_from_pb(out.audio)
    if kind == "word":
        word = out.word
        return WordTiming(
            word.segment_index, word.text_start, word.text_end, word.start_sample, word.end_sample
        )
    return SegmentEnd(out.segment_end.segment_index, out.segment_end.num_samples)


# --- transcription -----------------------------------------------------------------


def vad_config_to_pb(vad: VadConfig) -> pb.VadConfig:
    return pb.VadConfig(
        threshold=vad.threshold,
        prefix_padding_ms=vad.prefix_padding_ms,
        silence_duration_ms=vad.silence_duration_ms,
        suffix_padding_ms=vad.suffix_padding_ms,
    )


def vad_config_from_pb(vad: pb.VadConfig) -> VadConfig:
    # float32 on the wire: 0.6 comes back as 0.6000000238; six digits are plenty.
    return VadConfig(
        threshold=round(vad.threshold, 6),
        prefix_padding_ms=vad.prefix_padding_ms,
        silence_duration_ms=vad.silence_duration_ms,
        suffix_padding_ms=vad.suffix_padding_ms,
    )


def transcription_config_to_pb(config: TranscriptionConfig) -> pb.TranscribeIn:
    message = pb.TranscriptionConfig(
        model_id=config.model_id,
        language=config.language or "",
        prompt=config.prompt or "",
        temperature=config.temperature,
        word_timestamps=config.word_timestamps,
        vad_filter=config.vad_filter,
        streaming=config.streaming,
        request_id=config.request_id,
        options=dict(config.options),
        turn_detection=_TURN_DETECTION_PB[config.turn_detection],
        speculative=config.speculative,
        no_partials=not config.partials,
    )
    if config.vad is not None:
        message.vad.CopyFrom(vad_config_to_pb(config.vad))
    return pb.TranscribeIn(config=message)


def transcription_config_from_pb(message: pb.TranscribeIn) -> TranscriptionConfig:
    """The config of a stream's first message; InvalidArgument when it is not one."""
    if message.WhichOneof("item") != "config":
        raise InvalidArgument("the first Transcribe message must be a config")
    config = message.config
    return TranscriptionConfig(
        model_id=config.model_id,
        language=config.language or None,
        prompt=config.prompt or None,
        temperature=config.temperature,
        word_timestamps=config.word_timestamps,
        vad_filter=config.vad_filter,
        streaming=config.streaming,
        request_id=config.request_id,
        options=dict(config.options),
        vad=vad_config_from_pb(config.vad) if config.HasField("vad") else None,
        turn_detection=_turn_detection_from_pb(config.turn_detection),
        speculative=config.speculative,
        partials=not config.no_partials,
    )


def _turn_detection_from_pb(value: int) -> TurnDetection:
    try:
        return _TURN_DETECTION[value]
    except KeyError:
        raise InvalidArgument(f"unknown turn detection {value}") from None


def transcription_audio_to_pb(samples: np.ndarray, sample_rate_hz: int) -> pb.TranscribeIn:
    return pb.TranscribeIn(audio=audio_chunk_to_pb(AudioChunk(0, samples, sample_rate_hz)))


def transcription_control_to_pb(item: TranscriptionCommit | TranscriptionClear) -> pb.TranscribeIn:
    """A Commit or Clear message (streaming mode)."""
    if isinstance(item, TranscriptionCommit):
        if item.id <= 0:
            raise ValueError("a commit's id is a positive number")
        return pb.TranscribeIn(commit=pb.Commit(id=item.id))
    return pb.TranscribeIn(clear=pb.Clear())


def transcription_input_from_pb(message: pb.TranscribeIn) -> AudioChunk | TranscriptionInput | None:
    """One message after the config: audio, a commit or a clear; ``None`` at End.

    Raises InvalidArgument for anything else (a second config, an empty message).
    """
    kind = message.WhichOneof("item")
    if kind == "audio":
        return audio_chunk_from_pb(message.audio)
    if kind == "commit":
        if message.commit.id == 0:
            raise InvalidArgument("a Commit needs an id (not 0)")
        return TranscriptionCommit(message.commit.id)
    if kind == "clear":
        return TranscriptionClear()
    if kind == "end":
        return None
    raise InvalidArgument(f"unexpected {kind or 'empty'} message after config")


END_OF_TRANSCRIPTION_INPUT = pb.TranscribeIn(end=pb.EndOfInput())


def segment_to_pb(segment: TranscriptSegment) -> pb.TranscriptSegment:
    return pb.TranscriptSegment(
        id=segment.id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        text=segment.text,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        temperature=segment.temperature,
        tokens=list(segment.tokens),
        words=[
            pb.TranscriptWord(
                start_s=w.start_s, end_s=w.end_s, word=w.word, probability=w.probability
            )
            for w in segment.words
        ],
        seek=segment.seek,
    )


def segment_from_pb(segment: pb.TranscriptSegment) -> TranscriptSegment:
    return TranscriptSegment(
        id=segment.id,
        start_s=segment.start_s,
        end_s=segment.end_s,
        text=segment.text,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        temperature=segment.temperature,
        tokens=tuple(segment.tokens),
        words=tuple(Word(w.start_s, w.end_s, w.word, w.probability) for w in segment.words),
        seek=segment.seek,
    )


def transcript_event_to_pb(event: TranscriptEvent) -> pb.TranscribeOut:
    if isinstance(event, TranscriptSegment):
        return pb.TranscribeOut(segment=segment_to_pb(event))
    if isinstance(event, SpeechEvent):
        return pb.TranscribeOut(
            speech=pb.SpeechEvent(kind=_SPEECH_KIND_PB[event.kind], time_s=event.time_s)
        )
    if isinstance(event, TranscriptUpdate):
        return pb.TranscribeOut(
            transcript=pb.TranscriptUpdate(
                utterance_index=event.utterance_index,
                final=event.final,
                text=event.text,
                start_s=event.start_s,
                end_s=event.end_s,
                segments=[segment_to_pb(s) for s in event.segments],
                commit_id=event.commit_id,
            )
        )
    return pb.TranscribeOut(
        info=pb.TranscriptionInfo(
            language=event.language,
            language_probability=event.language_probability,
            duration_s=event.duration_s,
            duration_after_vad_s=event.duration_after_vad_s,
        )
    )


def transcript_event_from_pb(out: pb.TranscribeOut) -> TranscriptEvent:
    kind = out.WhichOneof("item")
    if kind == "segment":
        return segment_from_pb(out.segment)
    if kind == "speech":
        return SpeechEvent(_SPEECH_KIND[out.speech.kind], out.speech.time_s)
    if kind == "transcript":
        update = out.transcript
        return TranscriptUpdate(
            utterance_index=update.utterance_index,
            final=update.final,
            text=update.text,
            start_s=update.start_s,
            end_s=update.end_s,
            segments=tuple(segment_from_pb(s) for s in update.segments),
            commit_id=update.commit_id,
        )
    info = out.info
    return TranscriptionInfo(
        info.language, info.language_probability, info.duration_s, info.duration_after_vad_s
    )


# --- registry records ----------------------------------------------------------------


def description_to_json(description: WorkerDescription) -> dict[str, Any]:
    """A Describe answer as protobuf's JSON mapping: readable in Redis, versioned with the
    contract (fields named as in worker.proto)."""
    return dict(
        json_format.MessageToDict(description_to_pb(description), preserving_proto_field_name=True)
    )


def description_from_json(data: Any) -> WorkerDescription:
    """The inverse of :func:`description_to_json`; fields a newer worker added are
    ignored. Raises ValueError for anything else than a WorkerInfo in JSON."""
    if not isinstance(data, dict):
        raise ValueError("the description is not a JSON object")
    try:
        info = json_format.ParseDict(data, pb.WorkerInfo(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise ValueError(f"the description is not a WorkerInfo: {exc}") from None
    return description_from_pb(info)
