"""Which registry a gateway gets is decided by its settings, in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from polyvox.config import Settings
from polyvox.gateway.registry.combined import CombinedRegistry
from polyvox.gateway.registry.factory import build_registry
from polyvox.gateway.registry.local import LocalRegistry
from polyvox.gateway.registry.redis import RedisRegistry
from polyvox.supervisor.supervisor import Supervisor


def _ended(engine: str) -> None:
    pass


@pytest.mark.parametrize(
    ("registry", "local", "kind"),
    [
        (None, True, LocalRegistry),
        ("redis://r:6379/0", False, RedisRegistry),
        ("rediss://r:6380/1", False, RedisRegistry),
        ("redis://r:6379/0", True, CombinedRegistry),
    ],
)
async def test_the_registry_follows_the_settings(
    tmp_path: Path, registry: str | None, local: bool, kind: type
) -> None:
    settings = Settings(home=tmp_path, registry=registry, advertise_host="10.0.0.1")
    supervisor = Supervisor(settings) if local else None
    built = build_registry(settings, supervisor=supervisor, on_stream_end=_ended)
    assert isinstance(built, kind)
    assert (built.discovery() is None) is (registry is None)
    await built.stop()


def test_an_unknown_registry_or_none_at_all_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported registry"):
        build_registry(
            Settings(home=tmp_path, registry="etcd://e:2379"), supervisor=None, on_stream_end=_ended
        )
    with pytest.raises(ValueError, match="needs a registry"):
        build_registry(Settings(home=tmp_path), supervisor=None, on_stream_end=_ended)


def test_registry_and_link_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POLYVOX_REGISTRY", "redis://r:6379/2")
    monkeypatch.setenv("POLYVOX_LINK_TOKEN", "s3cret")
    monkeypatch.setenv("POLYVOX_TLS_CA_FILE", "/ca.pem")
    monkeypatch.setenv("POLYVOX_REGISTRY_POLL_INTERVAL_S", "0.25")
    settings = Settings(home=tmp_path)
    assert settings.registry == "redis://r:6379/2"
    assert settings.link_token is not None
    assert settings.link_token.get_secret_value() == "s3cret"
    assert settings.tls_ca_file == Path("/ca.pem")
    assert settings.registry_poll_interval_s == 0.25
