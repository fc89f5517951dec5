"""One real gateway (real Piper worker in its own environment) for the integration suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openai import AsyncOpenAI

from support.servers import Gateway, run_gateway

#: The Piper worker's environment pins numpy 1 while the gateway runs numpy 2:
#: every integration test then also exercises environment isolation.
ISOLATED_PIPER_CONFIG = {
    "engines": {"piper": {"requirements": ["numpy<2"], "preload": ["en_US-joe-medium"]}},
    "max_input_chars": 4096,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("gateway")
    async with run_gateway(ISOLATED_PIPER_CONFIG, workdir=workdir) as running:
        yield running


@pytest.fixture(scope="session")
async def openai_client(gateway: Gateway) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0) as client:
        yield client
