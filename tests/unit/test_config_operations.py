"""Operational settings: API keys, CORS origins, log format, request timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from polyvox.config import Settings


def test_defaults_leave_auth_and_cors_off() -> None:
    settings = Settings()
    assert settings.api_keys == []
    assert settings.cors_origins == []
    assert settings.log_format == "text"
    assert settings.request_timeout_s == 300.0


@pytest.mark.parametrize(
    "value", ["alpha,beta", " alpha , beta ,", '["alpha", "beta"]'], ids=["csv", "spaces", "json"]
)
def test_api_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("POLYVOX_API_KEYS", value)
    monkeypatch.setenv("POLYVOX_CORS_ORIGINS", "https://a.example,https://b.example")
    settings = Settings()
    assert [key.get_secret_value() for key in settings.api_keys] == ["alpha", "beta"]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_empty_environment_value_means_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_API_KEYS", "")
    assert Settings().api_keys == []


def test_settings_from_yaml_and_keys_stay_secret(tmp_path: Path) -> None:
    config = tmp_path / "polyvox.yaml"
    config.write_text(
        "api_keys: [first-secret, second-secret]\n"
        "cors_origins: ['*']\n"
        "log_format: json\n"
        "request_timeout_s: 12.5\n"
    )
    settings = Settings(config=config)
    assert [key.get_secret_value() for key in settings.api_keys] == [
        "first-secret",
        "second-secret",
    ]
    assert (settings.cors_origins, settings.log_format) == (["*"], "json")
    assert settings.request_timeout_s == 12.5
    assert "secret" not in repr(settings)
    assert "secret" not in settings.model_dump_json()


@pytest.mark.parametrize(
    ("field", "value"), [("log_format", "xml"), ("request_timeout_s", 0), ("request_timeout_s", -1)]
)
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})
