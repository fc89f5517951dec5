"""The session's effective configuration: ``session.update`` applied, and its wire form.

:class:`SessionConfig` starts from Polyvox's defaults (OpenAI's where OpenAI has
one), takes each ``session.update`` with :meth:`SessionConfig.apply` (fields the
update leaves out stay as they were) and gives the whole configuration for
``session.created`` / ``session.updated`` with :meth:`SessionConfig.to_wire`.

Unlike OpenAI's models, Polyvox's language model reads text, so a realtime
session always transcribes the user: ``transcription: null`` only stops the
transcription events, and the configuration keeps saying which model transcribes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from polyvox.gateway.realtime.session_params import (
    AudioInput,
    AudioOutput,
    FunctionTool,
    InputTranscription,
    PcmaFormat,
    PcmFormat,
    PcmuFormat,
    RealtimeSessionParams,
    SemanticVad,
    ServerVad,
    ToolChoiceFunction,
    TranscriptionSessionParams,
    VoiceId,
)

AudioFormat = PcmFormat | PcmuFormat | PcmaFormat
SessionType = Literal["realtime", "transcription"]


@dataclass(frozen=True)
class SessionConfig:
    """Everything a session does, as the client last set it."""

    type: SessionType
    id: str
    voice: str | VoiceId
    #: The Realtime model name the client asked for (echoed; the LLM is Polyvox's config).
    model: str | None = None
    instructions: str = ""
    output_modalities: tuple[Literal["text", "audio"], ...] = ("audio",)
    input_format: AudioFormat = field(default_factory=PcmFormat)
    output_format: AudioFormat = field(default_factory=PcmFormat)
    speed: float = 1.0
    #: ``None``: no transcription events (a realtime session still transcribes).
    transcription: InputTranscription | None = field(
        default_factory=lambda: InputTranscription(model="whisper-1")
    )
    #: ``None``: the client commits the input buffer itself.
    turn_detection: ServerVad | None = field(default_factory=lambda: ServerVad(type="server_vad"))
    tools: tuple[FunctionTool, ...] = ()
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction = "auto"
    #: ``None``: no limit beyond the language model's own (``"inf"`` on the wire).
    max_output_tokens: int | None = None
    parallel_tool_calls: bool | None = None

    def apply(self, params: RealtimeSessionParams | TranscriptionSessionParams) -> SessionConfig:
        """This configuration with the fields ``params`` carries replaced.

        Raises ``ValueError`` when the update names the other session type: a
        session's type is set when it opens (``?intent=``) and does not change.
        """
        if params.type != self.type:
            raise ValueError(f"this is a {self.type} session; session.type cannot change")
        changes: dict[str, Any] = {}
        if params.audio is not None and params.audio.input is not None:
            changes.update(_input_changes(params.audio.input))
        if isinstance(params, RealtimeSessionParams):
            changes.update(_realtime_changes(params))
        return replace(self, **changes)

    def to_wire(self) -> dict[str, Any]:
        """The GA session object of ``session.created`` / ``session.updated``."""
        audio_in = {
            "format": self.input_format.model_dump(),
            "transcription": _dump(self.transcription),
            "noise_reduction": None,
            "turn_detection": _dump(self.turn_detection),
        }
        if self.type == "transcription":
            obj = "realtime.transcription_session"
            return {
                "type": "transcription",
                "id": self.id,
                "object": obj,
                "audio": {"input": audio_in},
            }
        tool_choice = self.tool_choice
        return {
            "type": "realtime",
            "id": self.id,
            "object": "realtime.session",
            "model": self.model,
            "instructions": self.instructions,
            "output_modalities": list(self.output_modalities),
            "audio": {
                "input": audio_in,
                "output": {
                    "format": self.output_format.model_dump(),
                    # A voice given as {"id": ...} is echoed as its name: the SDK's
                    # session models disagree on the object form, all take a string.
                    "voice": self.voice if isinstance(self.voice, str) else self.voice.id,
                    "speed": self.speed,
                },
            },
            "tools": [tool.model_dump(exclude_none=True) for tool in self.tools],
            "tool_choice": tool_choice
            if isinstance(tool_choice, str)
            else tool_choice.model_dump(),
            "max_output_tokens": "inf"
            if self.max_output_tokens is None
            else self.max_output_tokens,
            "tracing": None,
        }


def _dump(model: InputTranscription | ServerVad | None) -> dict[str, Any] | None:
    return None if model is None else model.model_dump(exclude_none=True)


def _input_changes(audio_in: AudioInput) -> dict[str, Any]:
    given = audio_in.model_fields_set
    changes: dict[str, Any] = {}
    if "format" in given and audio_in.format is not None:
        changes["input_format"] = audio_in.format
    if "transcription" in given:
        changes["transcription"] = audio_in.transcription
    if "turn_detection" in given:
        detection = audio_in.turn_detection
        changes["turn_detection"] = (
            detection.as_server_vad() if isinstance(detection, SemanticVad) else detection
        )
    return changes


def _output_changes(audio_out: AudioOutput) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if audio_out.format is not None:
        changes["output_format"] = audio_out.format
    if audio_out.voice is not None:
        changes["voice"] = audio_out.voice
    if audio_out.speed is not None:
        changes["speed"] = audio_out.speed
    return changes


def _realtime_changes(params: RealtimeSessionParams) -> dict[str, Any]:
    given = params.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("model", "instructions", "tool_choice", "parallel_tool_calls"):
        if name in given and getattr(params, name) is not None:
            changes[name] = getattr(params, name)
    if "max_output_tokens" in given:
        changes["max_output_tokens"] = params.max_output_tokens
    if params.output_modalities is not None:
        changes["output_modalities"] = tuple(params.output_modalities)
    if params.tools is not None:
        changes["tools"] = tuple(params.tools)
    if params.audio is not None and params.audio.output is not None:
        changes.update(_output_changes(params.audio.output))
    return changes
