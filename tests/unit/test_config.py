from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from polyvox.addresses import grpc_target
from polyvox.config import DEFAULT_MODEL, HD_MODEL, EngineSettings, Settings


def test_defaults_serve_piper_joe() -> None:
    settings = Settings(config=None)
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.default_model == DEFAULT_MODEL
    assert settings.model_aliases["tts-1"] == DEFAULT_MODEL
    assert settings.engines["piper"].env == "isolated"
    assert settings.engines["piper"].preload == ["en_US-joe-medium"]
    assert list(settings.engines) == ["piper", "kokoro", "espeak", "whisper"]
    assert settings.model_aliases["tts-1-hd"] == HD_MODEL


def test_hd_alias_falls_back_to_the_default_model_without_kokoro() -> None:
    piper_only = Settings(config=None, engines={"piper": EngineSettings()})
    assert piper_only.model_aliases["tts-1-hd"] == DEFAULT_MODEL
    chosen = Settings(
        config=None, engines={"piper": EngineSettings()}, model_aliases={"tts-1-hd": "x/y"}
    )
    assert chosen.model_aliases == {"tts-1-hd": "x/y"}


def test_file_then_env_then_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "polyvox.yaml"
    config.write_text(yaml.safe_dump({"port": 9000, "host": "0.0.0.0", "max_input_chars": 100,
                                      "engines": {"piper": {"env": "shared"}}}))  # fmt: skip
    monkeypatch.setenv("POLYVOX_PORT", "9100")
    monkeypatch.setenv("POLYVOX_CONFIG", str(config))
    from_env = Settings()
    assert from_env.host == "0.0.0.0"  # file
    assert from_env.port == 9100  # env beats file
    assert from_env.engines["piper"].env == "shared"
    assert Settings(port=9200).port == 9200  # flag beats env


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config file not found"):
        Settings(config=tmp_path / "absent.yaml")


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "polyvox.yaml"
    config.write_text(yaml.safe_dump({"engines": {"piper": {"evn": "shared"}}}))
    with pytest.raises(ValidationError, match="evn"):
        Settings(config=config)


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("unix:///run/polyvox/piper.sock", "unix:///run/polyvox/piper.sock"),
        ("tcp://10.0.0.5:7000", "10.0.0.5:7000"),
        ("tcp://[::1]:7000", "[::1]:7000"),
    ],
)
def test_worker_addresses(uri: str, target: str) -> None:
    assert grpc_target(uri) == target


@pytest.mark.parametrize("uri", ["http://x:1", "tcp://host", "unix://", "piper.sock"])
def test_bad_worker_addresses(uri: str) -> None:
    with pytest.raises(ValueError, match="address"):
        grpc_target(uri)
