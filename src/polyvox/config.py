"""Gateway settings: defaults < config file (YAML) < ``POLYVOX_*`` env vars < CLI flags.

Built once in the CLI and handed down; nothing reads the environment at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_MODEL = "piper/en_US-joe-medium"

#: OpenAI's voice names; each maps to a native voice of the requested model.
OPENAI_VOICES = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse",
)  # fmt: skip


class EngineSettings(BaseModel):
    """How one engine's workers run."""

    model_config = {"extra": "forbid"}

    #: ``isolated``: its own uv environment; ``shared``: the gateway's environment.
    env: Literal["isolated", "shared"] = "isolated"
    #: Extra PEP 508 requirements for its environment (e.g. ``numpy<2``).
    requirements: list[str] = Field(default_factory=list)
    #: Python version of its environment; default: the gateway's.
    python: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    preload: list[str] = Field(default_factory=list)
    device: str = "cpu"
    #: Extra environment variables for the worker (e.g. CUDA_VISIBLE_DEVICES).
    environment: dict[str, str] = Field(default_factory=dict)
    capacity: int = Field(default=16, ge=1)
    #: Inferences a worker runs at once (see WorkerSettings.inference_threads).
    inference_threads: int = Field(default=1, ge=1)


def _default_engines() -> dict[str, EngineSettings]:
    return {"piper": EngineSettings(preload=["en_US-joe-medium"])}


class Settings(BaseSettings):
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

    engines: dict[str, EngineSettings] = Field(default_factory=_default_engines)
    #: Native id (``engine/model``) served when a request names no known alias.
    default_model: str = DEFAULT_MODEL
    model_aliases: dict[str, str] = Field(
        default_factory=lambda: {"tts-1": DEFAULT_MODEL, "tts-1-hd": DEFAULT_MODEL}
    )
    #: OpenAI voice name -> native voice id, used when the model has that voice;
    #: otherwise an OpenAI voice name falls back to the model's default voice.
    voice_aliases: dict[str, str] = Field(default_factory=dict)

    max_input_chars: int = Field(default=4096, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    worker_start_timeout_s: float = Field(default=600.0, gt=0)
    restart_backoff_initial_s: float = Field(default=0.5, gt=0)
    restart_backoff_max_s: float = Field(default=30.0, gt=0)
    worker_stop_timeout_s: float = Field(default=15.0, gt=0)

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

    def sockets_dir(self) -> Path:
        return self.home / "run"


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    explicit: Any = None
    if isinstance(init_settings, InitSettingsSource):
        explicit = init_settings.init_kwargs.get("config")
    explicit = explicit or os.environ.get("POLYVOX_CONFIG")
    return Path(explicit).expanduser() if explicit else None
