"""Gateway settings: defaults < config file (YAML) < ``POLYVOX_*`` env vars < CLI flags.

Built once in the CLI and handed down; nothing reads the environment at import time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from polyvox.text.segment import SegmentationSettings
from polyvox.worker.settings import LinkSettings, Provisioning, RegistrySettings, WorkerTuning

DEFAULT_MODEL = "piper/en_US-joe-medium"
#: OpenAI's ``tts-1-hd`` maps here when the kokoro engine is configured.
HD_MODEL = "kokoro/kokoro-82m-int8"

#: OpenAI's voice names (every one its speech and Realtime APIs take); each maps to a
#: native voice of the requested model, so any of them works with every model.
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage",
    "shimmer", "verse",
)  # fmt: skip


class LineSettings(BaseModel):
    """The line in front of an engine (see gateway/waiting_line.py): past its workers'
    capacity, requests wait in arrival order instead of getting 429."""

    model_config = {"extra": "forbid"}

    #: Requests that may wait at once; one more is refused (429). 0: no line (a request
    #: finding every worker full is refused at once).
    max_waiting: int = Field(default=256, ge=0)
    #: Longest a request may wait, in seconds; one whose estimated wait is longer is
    #: refused at once, with that estimate as its Retry-After.
    max_wait_s: float = Field(default=120.0, gt=0)


class WyomingSettings(BaseModel):
    """Home Assistant's voice protocol, served by the gateway (gateway/wyoming/)."""

    model_config = {"extra": "forbid"}

    #: Where to listen: ``tcp://0.0.0.0:10200`` or ``unix:///path``; None: off.
    uri: str | None = None
    #: Advertise a tcp:// service on the local network as ``_wyoming._tcp`` (mDNS).
    zeroconf: bool = True
    #: The service's name in that advertisement; default: the host's.
    zeroconf_name: str | None = None
    #: Speech-to-text model for a ``transcribe`` that names none.
    asr_model: str = "whisper-1"
    #: Longest audio one transcription may carry, in seconds.
    max_audio_s: float = Field(default=120.0, gt=0)


class EngineSettings(WorkerTuning, Provisioning):
    """How one engine's workers run: their tuning (fields of :class:`WorkerTuning`, handed
    to each worker as they are) and how the supervisor provisions them (``env``,
    ``requirements``, ``python``: :class:`Provisioning`, shared with ``polyvox worker``)."""

    #: Worker processes for this engine; the gateway routes each request to the
    #: replica with the model resident and the fewest segments in flight.
    replicas: int = Field(default=1, ge=1)
    #: Extra environment variables for the worker (e.g. CUDA_VISIBLE_DEVICES).
    environment: dict[str, str] = Field(default_factory=dict)
    #: This engine's line; default: the top-level ``queue``.
    queue: LineSettings | None = None


def _default_engines() -> dict[str, EngineSettings]:
    # Piper comes first: its environment is built and its worker serves (and /readyz
    # turns 200) while the heavier environments after it are still being built.
    # Kokoro (tts-1-hd) is preloaded too: its cold load takes seconds, longer than some
    # clients wait for a first byte (the LiveKit plugin's read timeout is 5 s).
    return {
        "piper": EngineSettings(preload=["en_US-joe-medium"]),
        "kokoro": EngineSettings(preload=["kokoro-82m-int8"]),
        "espeak": EngineSettings(),
        "whisper": EngineSettings(),
    }


class RealtimeLlmSettings(BaseModel):
    """The user's OpenAI-compatible chat-completions endpoint (Ollama, vLLM, llama.cpp's
    server, OpenAI...): what answers in a ``/v1/realtime`` conversation."""

    model_config = {"extra": "forbid"}

    #: Up to, not including, ``/chat/completions`` (e.g. ``http://localhost:11434/v1``);
    #: unset: conversations get a failed response saying so (transcription still works).
    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0)
    #: Longest wait for the next token, the first one included.
    read_timeout_s: float = Field(default=60.0, gt=0)


class RealtimeSettings(BaseModel):
    """``/v1/realtime``: the language model, the speech models and a session's bounds."""

    model_config = {"extra": "forbid"}

    llm: RealtimeLlmSettings = Field(default_factory=RealtimeLlmSettings)
    #: Speaks the replies (an alias or a native id).
    tts_model: str = "tts-1"
    #: Transcribes the user when the session names no transcription model.
    stt_model: str = "whisper-1"
    #: Largest client message, in bytes (OpenAI's: 15 MiB of base64 audio per append).
    max_message_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    #: Most input audio held uncommitted (client-committed turns), in seconds.
    max_input_buffer_s: float = Field(default=120.0, gt=0)
    #: Conversation bounds: items, and characters of text in them (oldest dropped past them).
    max_conversation_items: int = Field(default=500, ge=1)
    max_conversation_chars: int = Field(default=200_000, ge=1)
    #: Most function tools a session or response may declare.
    max_tools: int = Field(default=128, ge=0)
    #: Most reply text waiting to be spoken, in characters (the language model is
    #: read no faster than that is spoken, past it).
    max_unspoken_chars: int = Field(default=4096, ge=1)
    #: Decode the user's turn from the moment silence begins in it, so its transcript
    #: is ready when server VAD ends the turn (bench/voice_agents.py measures both).
    speculative_transcription: bool = True


class Settings(BaseSettings, LinkSettings, RegistrySettings):
    """The gateway's settings (``polyvox serve`` and ``polyvox gateway``). With ``registry``
    set, the gateway also routes to the workers registered there, and ``serve``'s own
    workers listen on TCP (``worker_host``, ports from ``worker_port``) and register
    themselves under ``advertise_host`` for other gateways."""

    model_config = SettingsConfigDict(
        env_prefix="POLYVOX_", env_nested_delimiter="__", extra="forbid"
    )

    #: YAML file with any of these settings (flag ``--config``, env ``POLYVOX_CONFIG``).
    config: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    #: Engine environments, worker sockets and caches live here.
    home: Path = Field(default_factory=lambda: Path.home() / ".cache" / "polyvox")
    log_level: str = "info"
    #: ``text`` for people, ``json`` for log pipelines (one object per line).
    log_format: Literal["text", "json"] = "text"
    #: Keys accepted as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; empty:
    #: no authentication. In the environment: comma-separated (``POLYVOX_API_KEYS=k1,k2``).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    #: Browser origins allowed by CORS (``*``: any); empty: no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Longest a speech request may take, in seconds, from arrival to its last byte.
    request_timeout_s: float | None = Field(default=300.0, gt=0)

    engines: dict[str, EngineSettings] = Field(default_factory=_default_engines)
    #: Native id (``engine/model``) served when a request names no known alias.
    default_model: str = DEFAULT_MODEL
    model_aliases: dict[str, str] = Field(
        default_factory=lambda: {"tts-1": DEFAULT_MODEL, "tts-1-hd": HD_MODEL}
    )
    #: OpenAI voice name -> native voice id, used when the model has that voice;
    #: otherwise an OpenAI voice name falls back to the model's default voice.
    voice_aliases: dict[str, str] = Field(
        default_factory=lambda: {"onyx": "jm_kumo", "echo": "jm_kumo", "ash": "jm_kumo"}
    )

    #: The line in front of each engine, unless the engine sets its own.
    queue: LineSettings = Field(default_factory=LineSettings)

    #: The Wyoming protocol (Home Assistant), off unless ``wyoming.uri`` is set
    #: (``POLYVOX_WYOMING__URI=tcp://0.0.0.0:10200``).
    wyoming: WyomingSettings = Field(default_factory=WyomingSettings)

    #: Segment sizes: shorter starts faster and blocks other streams for less time
    #: (an inference cannot be pre-empted); longer keeps more natural prosody.
    segmentation: SegmentationSettings = Field(default_factory=SegmentationSettings)

    max_input_chars: int = Field(default=4096, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    #: Largest audio upload to /v1/audio/transcriptions (OpenAI's limit: 25 MB); more: 413.
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    #: Longest audio one transcription request may carry, in seconds; more: 400.
    max_audio_duration_s: float = Field(default=3600.0, gt=0)
    worker_start_timeout_s: float = Field(default=600.0, gt=0)
    restart_backoff_initial_s: float = Field(default=0.5, gt=0)
    restart_backoff_max_s: float = Field(default=30.0, gt=0)
    worker_stop_timeout_s: float = Field(default=15.0, gt=0)
    #: Seconds between Describe polls of each worker (resident models for routing).
    describe_interval_s: float = Field(default=1.0, gt=0)
    #: ``/v1/realtime`` (voice agents): the language model and session bounds.
    realtime: RealtimeSettings = Field(default_factory=RealtimeSettings)
    #: With a registry, where ``serve``'s own workers listen (``0.0.0.0``: every
    #: interface), from ``worker_port`` up, one port per worker.
    worker_host: str = "0.0.0.0"
    worker_port: int = Field(default=50051, ge=1, le=65535)
    #: With a registry, the host other gateways reach ``serve``'s own workers at.
    advertise_host: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file(init_settings)
        if config_file is not None:
            if not config_file.is_file():
                raise FileNotFoundError(f"config file not found: {config_file}")
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """Accept a list (YAML), or a comma-separated or JSON list string (env)."""
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else text.split(",")
            return [item.strip() for item in items if item.strip()]
        return value

    @model_validator(mode="after")
    def _hd_falls_back_without_kokoro(self) -> Settings:
        """The default ``tts-1-hd`` alias needs the kokoro engine; without it, the default
        model answers, as ``tts-1`` does (an alias the user configured is left alone)."""
        engine = HD_MODEL.partition("/")[0]
        if "model_aliases" not in self.model_fields_set and engine not in self.engines:
            self.model_aliases["tts-1-hd"] = self.default_model
        return self

    def sockets_dir(self) -> Path:
        return self.home / "run"


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    explicit: Any = None
    if isinstance(init_settings, InitSettingsSource):
        explicit = init_settings.init_kwargs.get("config")
    explicit = explicit or os.environ.get("POLYVOX_CONFIG")
    return Path(explicit).expanduser() if explicit else None
