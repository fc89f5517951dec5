"""The container images and the compose file, checked without a Docker engine: hadolint
on the Dockerfiles, and every setting and flag they use is one Polyvox has."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from .conftest import ROOT, is_setting, tool, unknown_flags

DOCKERFILES = ["Dockerfile", "Dockerfile.cuda"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_finds_nothing(name: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "info", "--no-color", str(ROOT / name)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_images_are_multi_stage_non_root_with_environments_built_in(name: str) -> None:
    text = (ROOT / name).read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 3  # uv, build, runtime
    assert "uv sync --frozen" in text
    assert "polyvox environments" in text  # engine environments built at build time
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r'^HEALTHCHECK .*CMD \["polyvox", "probe"\]$', text, re.M)
    if name == "Dockerfile.cuda":
        assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+-runtime-", text, re.M)


def test_compose_runs_redis_a_gateway_and_two_workers() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert services["redis"]["healthcheck"]["test"][-1] == "ping"
    workers = [s for s in services.values() if s.get("command") == ["polyvox", "worker"]]
    assert len(workers) == 2
    assert {w["environment"]["POLYVOX_WORKER_ADVERTISE"] for w in workers} == {
        "tcp://piper-1:50051",
        "tcp://piper-2:50051",
    }
    for service in services.values():
        environment = service.get("environment", {})
        assert [name for name in environment if not is_setting(name)] == []
        if service.get("command", [""])[0] == "polyvox":
            assert unknown_flags(service["command"]) == []
    # The link is secured: workers listen on every interface of the compose network.
    for worker in workers:
        assert "POLYVOX_WORKER_LINK_TOKEN" in worker["environment"]
    assert "POLYVOX_LINK_TOKEN" in services["gateway"]["environment"]
