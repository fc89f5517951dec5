"""``session.update``'s session: the realtime and transcription session models.

Field for field these follow ``RealtimeSessionCreateRequestParam`` and
``RealtimeTranscriptionSessionCreateRequestParam`` of the OpenAI SDK. A field
left out of an update is left as it was (pydantic's ``model_fields_set`` tells
absent from ``null``); ``null`` turns ``turn_detection`` and ``transcription`` off.
A ``turn_detection`` object is a whole setting: its missing fields take OpenAI's
defaults, not the previous values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, JsonValue, Tag

from polyvox.gateway.realtime.wire import Ignored, WireModel, type_tag

_NOT_HONOURED = "Polyvox has no such feature"


class PcmFormat(WireModel):
    """16-bit little-endian mono PCM at 24 kHz."""

    type: Literal["audio/pcm"] = "audio/pcm"
    rate: Literal[24000] = 24000


class PcmuFormat(WireModel):
    """G.711 µ-law at 8 kHz."""

    type: Literal["audio/pcmu"]


class PcmaFormat(WireModel):
    """G.711 A-law at 8 kHz."""

    type: Literal["audio/pcma"]


AudioFormat = Annotated[
    Annotated[PcmFormat, Tag("@audio/pcm")]
    | Annotated[PcmuFormat, Tag("@audio/pcmu")]
    | Annotated[PcmaFormat, Tag("@audio/pcma")],
    # The SDK makes ``type`` optional; the only format with other fields is PCM.
    Discriminator(type_tag(default="audio/pcm")),
]


class ServerVad(WireModel):
    """Silero VAD turn detection; missing fields take OpenAI's defaults."""

    type: Literal["server_vad"]
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    prefix_padding_ms: int = Field(default=300, ge=0)
    silence_duration_ms: int = Field(default=500, ge=0)
    create_response: bool = True
    interrupt_response: bool = True
    #: A response is asked for when the user stays silent this long (``None``: never).
    idle_timeout_ms: int | None = Field(default=None, ge=0)


class SemanticVad(WireModel):
    """Accepted so OpenAI clients keep working; it runs as ``server_vad`` with its defaults."""

    type: Annotated[
        Literal["semantic_vad"],
        Ignored("no semantic turn model: runs as server_vad with its default settings"),
    ]
    eagerness: Annotated[JsonValue, Ignored("no semantic turn model")] = None
    create_response: bool = True
    interrupt_response: bool = True

    def as_server_vad(self) -> ServerVad:
        """The ``server_vad`` setting this one runs as."""
        return ServerVad(
            type="server_vad",
            create_response=self.create_response,
            interrupt_response=self.interrupt_response,
        )


TurnDetection = Annotated[
    Annotated[ServerVad, Tag("@server_vad")] | Annotated[SemanticVad, Tag("@semantic_vad")],
    Discriminator(type_tag()),
]


class InputTranscription(WireModel):
    """How the user's speech is transcribed; the model name maps to a Polyvox STT model."""

    model: str | None = None
    #: ISO-639-1 code; ``None``: detected (or the model's only language).
    language: str | None = None
    prompt: str | None = None
    delay: Annotated[JsonValue, Ignored("Whisper transcribes each turn once it ends")] = None
    keywords: Annotated[JsonValue, Ignored(_NOT_HONOURED)] = None
    languages: Annotated[JsonValue, Ignored("give one language in 'language'")] = None


class AudioInput(WireModel):
    format: AudioFormat | None = None
    noise_reduction: Annotated[JsonValue, Ignored("input audio is not filtered")] = None
    transcription: InputTranscription | None = None
    turn_detection: TurnDetection | None = None


class VoiceId(WireModel):
    """A voice by id: Polyvox takes it as the name of one of the model's own voices."""

    id: str


def _voice_tag(value: Any) -> str:
    return "@name" if isinstance(value, str) else "@id"


Voice = Annotated[
    Annotated[str, Tag("@name")] | Annotated[VoiceId, Tag("@id")], Discriminator(_voice_tag)
]


class AudioOutput(WireModel):
    format: AudioFormat | None = None
    voice: Voice | None = None
    #: Speech rate multiple; OpenAI's documented range.
    speed: float | None = Field(default=None, ge=0.25, le=1.5)


class RealtimeAudio(WireModel):
    input: AudioInput | None = None
    output: AudioOutput | None = None


class TranscriptionAudio(WireModel):
    input: AudioInput | None = None


class FunctionTool(WireModel):
    """A function the language model may call; the client runs it."""

    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    #: JSON Schema of the arguments, passed to the language model as it is.
    parameters: dict[str, JsonValue] | None = None


Tool = Annotated[
    Annotated[FunctionTool, Tag("@function")], Discriminator(type_tag(default="function"))
]


class ToolChoiceFunction(WireModel):
    type: Literal["function"]
    name: str


ToolChoice = Annotated[
    Annotated[Literal["none", "auto", "required"], Tag("@mode")]
    | Annotated[ToolChoiceFunction, Tag("@function")],
    Discriminator(type_tag(text="mode")),
]


def _inf_to_none(value: Any) -> Any:
    return None if value == "inf" else value


#: ``"inf"`` on the wire is ``None`` here: no limit beyond the language model's own.
MaxOutputTokens = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_inf_to_none)]


def _one_modality(value: list[str]) -> list[str]:
    if len(set(value)) != 1:
        raise ValueError("give exactly one of 'audio' or 'text'")
    return value


Modalities = Annotated[list[Literal["text", "audio"]], AfterValidator(_one_modality)]


class RealtimeSessionParams(WireModel):
    """A conversation session: speech in, a language model's reply spoken back."""

    type: Literal["realtime"]
    model: str | None = None
    instructions: str | None = None
    output_modalities: Modalities | None = None
    audio: RealtimeAudio | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: MaxOutputTokens = None
    parallel_tool_calls: bool | None = None
    include: Annotated[JsonValue, Ignored("no transcription logprobs")] = None
    prompt: Annotated[JsonValue, Ignored("no stored prompts: use 'instructions'")] = None
    reasoning: Annotated[JsonValue, Ignored(_NOT_HONOURED)] = None
    tracing: Annotated[JsonValue, Ignored(_NOT_HONOURED)] = None
    truncation: Annotated[
        JsonValue, Ignored("the conversation has Polyvox's own bounds on items and characters")
    ] = None


class TranscriptionSessionParams(WireModel):
    """A transcription-only session: speech in, transcripts out."""

    type: Literal["transcription"]
    audio: TranscriptionAudio | None = None
    include: Annotated[JsonValue, Ignored("no transcription logprobs")] = None


SessionParams = Annotated[
    Annotated[RealtimeSessionParams, Tag("@realtime")]
    | Annotated[TranscriptionSessionParams, Tag("@transcription")],
    Discriminator(type_tag()),
]
