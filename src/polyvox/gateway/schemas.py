"""Request bodies of the HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from polyvox.audio import OutputFormat


class SpeechRequest(BaseModel):
    """OpenAI's ``POST /v1/audio/speech`` body, plus ``sample_rate``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=256)
    input: str
    voice: str = Field(min_length=1, max_length=256)
    response_format: OutputFormat = OutputFormat.MP3
    speed: float = Field(default=1.0, ge=0.25, le=4.0, allow_inf_nan=False)
    #: Output rate in Hz (extension); OpenAI's rate, 24 kHz, when omitted.
    sample_rate: int | None = None
    #: Accepted for SDK compatibility; engines here take no style prompt.
    instructions: str | None = Field(default=None, max_length=4096)
    #: ``audio``: the encoded bytes, chunked; ``sse``: OpenAI's speech.audio.* events.
    stream_format: Literal["audio", "sse"] = "audio"
    #: The language of the input (BCP 47, extension): picks the front end among those
    #: the voice reads (Kokoro: "ja" or "en"); by default found from the text.
    language: str | None = Field(default=None, min_length=1, max_length=35)
    #: With ``stream_format: "sse"`` (extension): ``speech.word`` events with each
    #: word's start and end, where the engine knows them (Piper, espeak-ng).
    timestamps: bool = False
